"""The claims contract's fixtures: per study, the tables its ``claims_from_files`` reads, once with
the effect present (``positive``) and once without it (``null``: shuffled labels, a judge or coder
that answers at random, equal conditions, flat planted arcs, a method that recovers nothing).

Each fixture is simulated at the level of the unit the study samples (session, question, case,
patient, profile, seed) and summarised with the statistic the study uses, so a claim rule that
passes on noise shows up here. A builder returns ``(tables, options)``: ``tables`` maps the
input names the study registers in ``STUDY_CLAIMS`` to a polars frame (written as CSV) or a dict
(written as JSON); ``options`` are the keyword options of ``claims_from_files``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from replisuite.judge.reliability import auc_ci
from replisuite.stats import bootstrap_mean_ci, cohen_kappa, name_seed

MODEL = "model-x"


def _rng(*names: str) -> np.random.Generator:
    return np.random.default_rng(name_seed(0, "contract", *names))


def _mean_ci(values, *names: str) -> tuple[float, float, float]:
    return bootstrap_mean_ci(np.asarray(values, dtype=float), n_boot=1000, seed=name_seed(0, *names))


def _kappa_ci(a: np.ndarray, b: np.ndarray, *names: str) -> tuple[float, float, float]:
    rng = _rng("kappa", *names)
    draws = [cohen_kappa(a[i], b[i]) for i in (rng.integers(0, a.size, a.size) for _ in range(300))]
    low, high = np.nanquantile(draws, [0.025, 0.975])
    return cohen_kappa(a, b), float(low), float(high)


def _difference_ci(x: np.ndarray, y: np.ndarray, *names: str) -> tuple[float, float, float]:
    rng = _rng("difference", *names)
    draws = [rng.choice(x, x.size).mean() - rng.choice(y, y.size).mean() for _ in range(1000)]
    low, high = np.quantile(draws, [0.025, 0.975])
    return float(x.mean() - y.mean()), float(low), float(high)


# --- care: a model coder against human coders (kappa over excerpt x code cells) ---------------

def care(kind: str):
    rng = _rng("care", kind)
    human_a = rng.random(240) < 0.3
    human_b = np.where(rng.random(240) < 0.9, human_a, ~human_a)
    model = np.where(rng.random(240) < 0.9, human_a, ~human_a) if kind == "positive" else rng.random(240) < 0.3
    value, low, high = _kappa_ci(human_a, human_b, "care humans")
    agreement = pl.DataFrame({"among": ["human coders"], "code": ["overall"], "statistic": ["cohen_kappa"],
                              "value": [value], "ci_low": [low], "ci_high": [high]})
    value, low, high = _kappa_ci(human_a, model, "care model", kind)
    model_agreement = pl.DataFrame({"code": ["overall"], "statistic": ["cohen_kappa"], "model": [MODEL],
                                    "reference": ["a"], "value": [value], "ci_low": [low], "ci_high": [high],
                                    "data": ["illustrative"], "units": [240], "unparsed": [1], "span_not_found": [3],
                                    "excerpts": [40]})
    return {"agreement": agreement, "model_agreement": model_agreement}, {"embedded": [], "min_usable": 0.8}


# --- judge: AUC of a judge's rubric total for the expert label, beside session length ------------

def judge(kind: str):
    rng = _rng("judge", kind)
    labels = np.repeat([True, False], 40)
    total = labels * 2.0 + rng.normal(0, 1, 80) if kind == "positive" else rng.normal(0, 1, 80)
    words = rng.normal(300, 80, 80)
    rows = []
    value, low, high = auc_ci(total, labels, n_boot=500, seed=1)
    rows.append(("annomi_mi_quality", MODEL, "psyllm", "auc", value, low, high, 80, ""))
    value, low, high = auc_ci(words, labels, n_boot=500, seed=2)
    rows.append(("annomi_mi_quality", "baseline: counsellor words", MODEL, "auc", value, low, high, 80, ""))
    rows.append(("annomi_mi_quality", "chance", MODEL, "auc", 0.5, None, None, 80, ""))
    validation = pl.DataFrame(rows, orient="row", schema={
        "set": pl.String, "judge": pl.String, "rubric": pl.String, "measure": pl.String, "value": pl.Float64,
        "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "note": pl.String})
    original = rng.normal(30, 3, 6)
    floor = pl.DataFrame({"judge": MODEL, "rubric": "psyllm", "unit": [f"s{i}" for i in range(6)], "original": original,
                          "degraded": original - 10, "distinct_totals": 25})
    return {"validation": validation, "floor": floor}, {"embedded": [], "min_contrast": 0.75}


# --- mi: code rates by session quality; an utterance classifier against trivial guesses -----------

def mi(kind: str):
    rng = _rng("mi", kind)
    quality = np.repeat([True, False], 60)
    if kind == "null":
        quality = rng.permutation(quality)  # shuffled labels
    rows = []
    for task, code in (("therapist_behaviour", "reflection"), ("client_talk_type", "change")):
        rate = rng.beta(2, 6, 120) + (0.15 * np.repeat([True, False], 60) if kind == "positive" else 0)
        difference, low, high = _difference_ci(rate[quality], rate[~quality], "mi", task, kind)
        rows.append({"task": task, "code": code, "source": "annotated", "sessions_high": 60, "sessions_low": 60,
                     "difference": difference, "ci_low": low, "ci_high": high})
    shares = np.array([0.6, 0.3, 0.1])
    truth = rng.choice(3, 600, p=shares)
    guess = np.where(rng.random(600) < 0.8, truth, rng.choice(3, 600)) if kind == "positive" else rng.choice(3, 600, p=shares)
    f1 = []
    for c in range(3):
        precision = (guess[truth == c] == c).sum() / max((guess == c).sum(), 1)
        recall = (guess[truth == c] == c).mean()
        f1.append(0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall))
    macro = float(np.mean(f1))
    f1_rows = [{"task": "therapist_behaviour", "classifier": "tfidf", "class": str(c), "f1": f1[c], "ci_low": None,
                "ci_high": None, "support": int((truth == c).sum())} for c in range(3)]
    f1_rows.append({"task": "therapist_behaviour", "classifier": "tfidf", "class": "macro", "f1": macro,
                    "ci_low": macro - 0.03, "ci_high": macro + 0.03, "support": 600})
    return {"quality": pl.DataFrame(rows), "f1": pl.DataFrame(f1_rows)}, {}


# --- networks: process detection, multi-step vs direct networks, theme stability ---------------

def networks(kind: str):
    rng = _rng("networks", kind)
    positive = kind == "positive"
    detection = pl.DataFrame({"coder": ["baseline", "2 examples"], "shots": [None, 2],
                              "f1": [0.2, 0.55 if positive else 0.21], "f1_ci_low": [0.15, 0.45 if positive else 0.12],
                              "f1_ci_high": [0.25, 0.65 if positive else 0.3], "parsed_units": [40, 38], "units": [40, 40]})
    picks = rng.random(40) < (0.85 if positive else 0.5)  # a judge that picks at random
    rate, low, high = _mean_ci(picks, "networks judge", kind)
    first = rng.random(40) < 0.5
    comparison = pl.DataFrame({"measure": ["multi-step preferred", "first shown picked", "unparseable",
                                           "pairs without a direct network"],
                               "count": [int(picks.sum()), int(first.sum()), 0, 0], "n": [40, 40, 40, 40],
                               "rate": [rate, first.mean(), 0.0, 0.0], "ci_low": [low, None, None, None],
                               "ci_high": [high, None, None, None]})
    # null: clustering is just as stable on the real processes as on structureless embeddings
    stability = pl.DataFrame({"pairs": [10], "mean_ari": [0.9 if positive else 0.82], "min_ari": [0.8 if positive else 0.7],
                              "mean_null_ari": [0.3 if positive else 0.81], "max_null_ari": [0.45 if positive else 0.9],
                              "null": ["embeddings with every dimension permuted across processes"]})
    return ({"detection": detection, "comparison": comparison, "stability": stability},
            {"coders": [MODEL], "judge": "judge-y", "embedded": [], "min_usable": 0.8})


# --- preference: reward models, principle judge vs upvotes, DPO vs base -------------------------

def preference(kind: str):
    rng = _rng("preference", kind)
    positive = kind == "positive"
    questions = 40
    right = rng.random(questions) < (0.8 if positive else 0.5)
    accuracy, low, high = _mean_ci(right, "preference reward", kind)
    length = rng.random(questions) < 0.55
    length_accuracy, _, _ = _mean_ci(length, "preference length")
    reward = pl.DataFrame({"model": ["embedding+length", "length", "embedding", "tfidf"],
                           "accuracy": [accuracy, length_accuracy, 0.5, 0.5], "ci_low": [low, None, None, None],
                           "ci_high": [high, None, None, None], "pairs": [questions] * 4, "questions": [questions] * 4})
    agree = rng.random(questions) < (0.8 if positive else 0.5)
    total, t_low, t_high = _mean_ci(agree, "preference principles", kind)
    principles = pl.DataFrame({"judge": ["judge-y", "judge-y"], "principle": ["total", "longer reply (baseline)"],
                               "agreement": [total, 0.55], "ci_low": [t_low, None], "ci_high": [t_high, None],
                               "pairs": [questions] * 2, "agree": [int(agree.sum()), 22],
                               "disagree": [questions - int(agree.sum()), 18], "ties": [0, 0]})
    wins = rng.random(questions) < (0.8 if positive else 0.5)
    win, w_low, w_high = _mean_ci(wins, "preference dpo", kind)
    policy = pl.DataFrame({"measure": ["judge win rate of dpo over base"], "judge": ["judge-y"], "estimate": [win],
                           "ci_low": [w_low], "ci_high": [w_high], "questions": [questions], "judged": [questions],
                           "consistent": [36], "note": [""]})
    return ({"reward_accuracy": reward, "principle_agreement": principles, "policy_comparison": policy},
            {"embedded": [], "base": MODEL, "min_usable": 0.8})


# --- psaich: item-by-item minus whole-questionnaire totals, per seed -----------------------------

def psaich(kind: str):
    rng = _rng("psaich", kind)
    rows = []
    for instrument in ("phq9", "gad7"):
        differences = rng.normal(4.0 if kind == "positive" else 0.0, 2.0, 12)
        mean, low, high = _mean_ci(differences, "psaich", instrument, kind)
        rows.append({"model": MODEL, "instrument": instrument, "mode": "therapy_item", "reference": "whole",
                     "mean_difference": mean, "ci_low": low, "ci_high": high, "seeds": 12, "seeds_missing": 0})
    floor = pl.DataFrame({"model": [MODEL], "items": [300], "answered": [290], "stateless_items": [60],
                          "stateless_distinct": [4]})
    return {"differences": pl.DataFrame(rows), "floor": floor}, {"embedded": [], "min_seeds": 8, "min_usable": 0.8}


# --- reconstruct: the utterance classifier against the majority guess, held-out sessions ----------

def reconstruct(kind: str):
    rng = _rng("reconstruct", kind)
    sessions = 30
    majority = 0.4
    per_session = rng.binomial(20, 0.7 if kind == "positive" else majority, sessions) / 20
    accuracy, low, high = _mean_ci(per_session, "reconstruct", kind)
    validation = pl.DataFrame({"accuracy": [accuracy], "ci_low": [low], "ci_high": [high],
                               "majority_baseline": [majority], "macro_f1": [0.5], "utterances": [600],
                               "sessions": [sessions], "sessions_dropped": [0]})
    comparison = pl.DataFrame({"measure": ["question_rate"], "value": [0.2]})
    return {"validation": validation, "comparison": comparison}, {"embedded": []}


# --- roleplay: PsychEval Table 1 from case files; profile identifiability; questionnaire recovery --

def roleplay(kind: str):
    rng = _rng("roleplay", kind)
    positive = kind == "positive"
    table1 = pl.DataFrame({"therapy": ["integrative"], "cases": [28 if positive else 30],
                           "published_cases": [28], "avg_sessions": [6.0 if positive else 7.3],
                           "published_avg_sessions": [6.0], "avg_turns_per_session": [25.9 if positive else 30.2],
                           "avg_client_utterances_per_session": [25.4 if positive else 30.0],
                           "published_avg_turns": [25.9], "max_sessions": [10 if positive else 12],
                           "published_max_sessions": [10]})
    profiles = 20
    hits = rng.random(profiles) < (0.7 if positive else 1 / profiles)
    accuracy, low, high = _mean_ci(hits, "roleplay identifiability", kind)
    identifiability = pl.DataFrame({"protocol": ["sqpsych"], "models": [f"{MODEL}/{MODEL}"], "pairing": ["true"], "k": [1],
                                    "accuracy": [accuracy], "ci_low": [low], "ci_high": [high],
                                    "chance": [1 / profiles], "profiles": [profiles]})
    truth = rng.normal(20, 8, profiles)
    rated = truth + rng.normal(0, 3, profiles) if positive else rng.normal(20, 8, profiles)
    gain = np.abs(truth - truth.mean()) - np.abs(rated - truth)
    mae_gain, g_low, g_high = _mean_ci(gain, "roleplay recovery", kind)
    recovery = pl.DataFrame({"protocol": ["sqpsych"], "instrument": ["bdi2"], "rater": [MODEL], "pairing": ["true"],
                             "n": [profiles], "mae": [float(np.abs(rated - truth).mean())],
                             "mae_mean_guess": [float(np.abs(truth - truth.mean()).mean())], "mae_gain": [mae_gain],
                             "gain_low": [g_low], "gain_high": [g_high],
                             "pearson_r": [float(np.corrcoef(truth, rated)[0, 1])], "conversations": [profiles],
                             "distinct_totals": [profiles]})
    conversations = pl.DataFrame({"protocol": "sqpsych", "counsellor_model": MODEL, "client_model": MODEL,
                                  "turns": [30] * profiles, "fillers": [1] * profiles})
    return ({"table1": table1, "identifiability": identifiability, "recovery": recovery, "conversations": conversations},
            {"embedded": [], "min_profiles": 8, "min_usable": 0.8})


# --- stigma: published records recomputed; stigma by condition; humans vs models -----------------

def stigma(kind: str):
    rng = _rng("stigma", kind)
    positive = kind == "positive"
    check = pl.DataFrame({"published_model": ["gpt-4o", "gpt-4o"], "condition": ["mania", "delusions"],
                          "published_rate": [0.5, 0.25], "published_n": [100, 100],
                          "our_rate": [0.5 if positive else 0.47, 0.25 if positive else 0.31], "our_n": [100, 100],
                          "equal": [positive, positive]})
    codes = pl.DataFrame({"published_model": ["gpt-4o"], "published_rows": [100], "matched_rows": [100],
                          "equal_codes": [100 if positive else 91], "our_coded_rows": [100]})
    # per stimulus (vignette) rates: equal conditions in the null
    rows = []
    for model in ("gpt-4o", MODEL):
        for condition, effect in (("schizophrenia", 0.35), ("alcohol dependence", 0.3), ("depression", 0.0)):
            for vignette in range(12):
                rate = float(np.clip(0.3 + (effect if positive else 0.0) + rng.normal(0, 0.1), 0, 1))
                rows.append({"model": model, "steel_man": False, "condition": condition,
                             "stimulus": f"{condition}-{vignette}", "rate": rate, "n": 10})
    by_stimulus = pl.DataFrame(rows)
    human_rates = np.clip(0.9 - (0 if positive else 0.5) + rng.normal(0, 0.05, 10), 0, 1)
    model_rates = np.clip(0.4 + rng.normal(0, 0.05, 10), 0, 1)
    overall = pl.DataFrame(
        [{"model": "human therapists", "steel_man": False, "condition": "c", "stimulus": f"s{i}", "rate": r, "n": 8}
         for i, r in enumerate(human_rates)]
        + [{"model": "gpt-4o", "steel_man": False, "condition": "c", "stimulus": f"s{i}", "rate": r, "n": 35}
           for i, r in enumerate(model_rates)])
    floor = pl.DataFrame({"model": [MODEL], "items": [36], "answered": [36], "distinct_answers": [4]})
    return ({"check_interjections": check, "check_stigma": codes, "overall": overall, "by_condition": by_stimulus,
             "live_floor": floor}, {"live": [MODEL], "embedded": [], "n_boot": 500, "seed": 0, "min_usable": 0.8})


# --- support: a simulated cohort with planted effects -------------------------------------------

def support(kind: str):
    positive = kind == "positive"
    rng = _rng("support", kind)
    planted = -2.0
    # null: an analysis that recovers nothing (treatment labels shuffled): estimates scatter around 0
    estimate = planted + rng.normal(0, 0.3) if positive else rng.normal(0, 0.3)
    att = pl.DataFrame({"outcome": ["phq9", "phq9"], "method": ["matching", "naive"],
                        "estimate": [estimate, -3.5], "ci_low": [estimate - 0.8, -4.0], "ci_high": [estimate + 0.8, -3.0],
                        "treated_used": [200, 200], "controls_used": [200, 1800]})
    coef = -0.5 + rng.normal(0, 0.05) if positive else rng.normal(0, 0.05)
    effects = pl.DataFrame({"term": ["empathy"], "outcome": ["phq9"], "skills_from": ["annotated"], "coef": [coef],
                            "ci_low": [coef - 0.2], "ci_high": [coef + 0.2], "n": [200], "p_bh": [0.01 if positive else 0.7]})
    replicates = 40
    covered = rng.random(replicates) < (0.95 if positive else 0.3)
    rejected = rng.random(replicates) < (0.05 if positive else 0.5)
    att_recovery = pl.DataFrame({"scenario": ["planted", "null", "planted", "null"],
                                 "method": ["matching", "matching", "naive", "naive"],
                                 "coverage": [covered.mean(), None, 0.1, None],
                                 "rejection_rate": [None, rejected.mean(), None, 0.9],
                                 "replicates": [replicates] * 4})
    skill_covered = rng.random(replicates) < (0.95 if positive else 0.4)
    skill_recovery = pl.DataFrame({"scenario": ["null", "planted"], "term": ["empathy", "empathy"],
                                   "skills_from": ["annotated", "annotated"], "rejection_rate": [rejected.mean(), 0.9],
                                   "coverage": [None, skill_covered.mean()], "coverage_expected": [None, skill_covered.mean()],
                                   "replicates": [replicates, replicates]})
    truth = {"simulated": True, "planted_att": {"phq9": planted}, "sample_att": {"phq9": planted},
             "planted_skills": {"phq9": {"empathy": -0.5}}}
    return ({"att": att, "effects": effects, "att_recovery": att_recovery, "skill_recovery": skill_recovery,
             "truth": truth}, {"primary": "matching", "signs": {"empathy": -1}})


# --- topics: NPMI of BERTopic's topics against TF-IDF + NMF -------------------------------------

def topics(kind: str):
    rng = _rng("topics", kind)
    shift = 0.1 if kind == "positive" else 0.0  # null: random embeddings give topics no better than NMF's
    npmi = np.concatenate([rng.normal(0.05 + shift, 0.05, 20), rng.normal(0.05, 0.05, 20)])
    coherence = pl.DataFrame({"model": ["bertopic"] * 20 + ["tfidf+nmf"] * 20, "npmi": npmi})
    return {"coherence": coherence}, {"seed": 1}


# --- trauma: planted SUDS arcs recovered beside flat ones; the benchmark against the mean guess ----

def trauma(kind: str):
    rng = _rng("trauma", kind)
    positive = kind == "positive"
    cases, conversations = 12, 48
    within = rng.random(conversations) < (0.8 if positive else 0.1)
    value, low, high = _mean_ci(within, "trauma extraction", kind)
    extraction = pl.DataFrame({
        "measure": ["status: number", "status: unparseable", "within 5 of planted: extracted",
                    "within 5 of planted: shuffled planted (null)"],
        "value": [90.0, 6.0, value, 0.1], "ci_low": [None, None, low, None], "ci_high": [None, None, high, None],
        "points": [96] * 4, "conversations": [conversations] * 4, "note": [""] * 4})
    rmse = 12.0 if positive else 25.5
    # null: the model rater's ratings are noise, as far from the ratings as the mean guess
    rated = 14.0 if positive else 26.0
    benchmark = pl.DataFrame({"phase": ["all"] * 3, "metric": ["rmse"] * 3, "target": ["extracted"] * 3,
                              "predictor": ["MiniLM + ridge", "training mean (baseline)", f"rated by {MODEL}"],
                              "value": [rmse, 25.0, rated], "ci_low": [rmse - 3, 23.0, rated - 3],
                              "ci_high": [rmse + 3, 27.0, rated + 3], "points": [96, 96, 94], "cases": [cases] * 3})
    rows = []
    for scenario, slope in (("planted", -8.0), ("flat", 0.0)):
        # null: the conversations carry no arc, so the extracted slopes scatter around 0 in both scenarios
        slopes = rng.normal(slope if positive else 0.0, 3.0, cases)
        mean, low, high = _mean_ci(slopes, "trauma", scenario, kind)
        rows.append({"scenario": scenario, "source": "extracted", "cases": cases, "conversations": cases * 4,
                     "mean_slope": mean, "ci_low": low, "ci_high": high, "declining_share": float((slopes < 0).mean())})
        rows.append({"scenario": scenario, "source": "planted", "cases": cases, "conversations": cases * 4,
                     "mean_slope": slope, "ci_low": slope, "ci_high": slope, "declining_share": float(slope < 0)})
    return ({"extraction": extraction, "benchmark": benchmark, "arc": pl.DataFrame(rows)},
            {"embedded": [], "generator": [MODEL], "raters": [MODEL], "alpha": 0.01, "min_cases": 8, "min_usable": 0.8})


# --- trpm4: gene-set GAMs, planted IP and TREP cells, calibration scenarios ----------------------

def trpm4(kind: str):
    rng = _rng("trpm4", kind)
    positive = kind == "positive"
    patients = [f"P{i}" for i in range(8)]
    fits = pl.DataFrame([{"group": "tumour", "patient": p, "gene_set": s,
                          "deviance_explained": de + rng.normal(0, 0.02)}
                         for p in patients for s, de in (("Ribo", 0.5 if positive else 0.1), ("AR", 0.1), ("WNT", 0.1))])
    planted_ip = rng.uniform(0.3, 0.7, len(patients))
    ip = planted_ip + rng.normal(0, 0.02, len(patients)) if positive else rng.uniform(0, 1, len(patients))
    recovery = pl.DataFrame({"group": "tumour", "patient": patients, "planted_ip": planted_ip, "recovered_ip": ip,
                             "ip_error": ip - planted_ip, "trivial_guess_error": 0.5 - planted_ip,
                             "planted_in_interval": np.abs(ip - planted_ip) < (0.05 if positive else 0.0),
                             "n_planted": 300, "n_trep": 300,
                             "jaccard_trep_planted": rng.uniform(0.6, 0.8, len(patients)) if positive
                             else rng.uniform(0.1, 0.2, len(patients))})
    cep = pl.DataFrame({"group": "tumour", "patient": patients, "n_cells": 1000})
    rows = []
    for scenario in ("no_subpopulation", "no_relation", "planted", "planted_shifted"):
        for i in range(20):
            transition = scenario.startswith("planted")
            planted = 0.5 if transition else None
            found = (rng.random() < 0.9) if (transition and positive) else (rng.random() < (0.05 if positive else 0.9))
            location = (0.5 + rng.normal(0, 0.03)) if (positive and transition) else rng.uniform(0, 1)
            # the calibrated IP: in the null fixture reported anywhere, as often as the published one
            calibrated = location if found else float("nan")
            rows.append({"scenario": scenario, "truth": scenario, "patient": f"{scenario}-{i}", "planted_ip": planted,
                         "cv_significant": not positive or transition,
                         "cv_corrected_significant": transition if positive else not transition,
                         "ip": location if found else float("nan"), "ip_gated": location if found else float("nan"),
                         "ip_calibrated": calibrated,
                         "ip_calibrated_covers_planted": bool(transition and found and abs(location - 0.5) < 0.06),
                         "mean_crossing": 0.5, "trivial_guess": 0.3, "reason": "too few cells" if i == 19 else ""})
    calibration = pl.DataFrame(rows, schema_overrides={"planted_ip": pl.Float64})
    return ({"gam_fits": fits, "recovery": recovery, "cep": cep, "calibration": calibration},
            {"focus": "Ribo", "simulated": True, "seed": 1})


# --- synthesis: the filter on planted defects, reasoning vs topics, kept vs dropped ---------------

def synthesis(kind: str):
    from replisuite.stats import wilson_interval
    from replisuite.synthesis import analysis

    rng = _rng("synthesis", kind)
    positive = kind == "positive"
    posts = [f"p{i}" for i in range(40)]
    rows = []
    for post in posts:
        for version in ("original", "truncate_reasoning", "swap_reasoning", "strip_names", "shuffle_turns"):
            defective = version != "original"
            # positive: the filter drops defects and keeps originals; null: it keeps or drops at random
            p_drop = (0.95 if defective else 0.05) if positive else 0.5
            unit = post if not defective else f"{post}#{version}"
            for name, p in (("filter", p_drop), ("length rule", 0.5), ("keyword rule", 0.5)):
                rows.append({"unit": unit, "filter": name, "check": "any", "kind": "judge" if name == "filter" else "baseline",
                             "failed": bool(rng.random() < p), "status": "ok", "generator": MODEL, "source": post,
                             "version": version})
    checks = pl.DataFrame(rows)
    validation = analysis.filter_validation(checks, filter_name="filter", n_boot=500, seed=1)
    mapped, majority, keyword = len(posts), 8, 18
    hits = int(rng.binomial(mapped, 0.85 if positive else keyword / mapped))
    diagnosis = pl.DataFrame([{"generator": MODEL, "measure": measure, "posts": mapped, "hits": count,
                               **dict(zip(("rate", "ci_low", "ci_high"), wilson_interval(count, mapped), strict=True))}
                              for measure, count in (("reasoning names the topic's condition", hits),
                                                     ("majority condition guess", majority),
                                                     ("keyword match on the post", keyword))])
    judgements = []
    kept = {r["unit"]: not r["failed"] for r in checks.filter((pl.col("filter") == "filter") & (pl.col("version") == "original")).iter_rows(named=True)}
    for post in posts:
        shift = (1 if kept[post] else -1) if positive else 0
        for item, top in (("comprehensiveness", 2), ("professionalism", 3), ("authenticity", 3), ("safety", 1)):
            score = int(np.clip(round(top / 2 + shift * top / 3 + rng.normal(0, 0.4)), 0, top))
            judgements.append({"unit": post, "item": item, "repeat": 0, "score": score, "generator": MODEL,
                               "source": post, "version": "original"})
    benchmark = analysis.benchmark_scores(pl.DataFrame(judgements), checks, dimensions=["comprehensiveness",
                                          "professionalism", "authenticity", "safety"], n_boot=500, seed=1)
    pairs = pl.DataFrame([{"generator": MODEL, "degradation": kind_, "dimension": dim, "source": post,
                           "original": 2.0 if positive else float(rng.integers(0, 3)),
                           "degraded": 0.0 if positive else float(rng.integers(0, 3))}
                          for kind_, dim in (("generic", "comprehensiveness"), ("unsafe", "safety")) for post in posts[:6]])
    generation = pl.DataFrame([{"generator": MODEL, "dialogues": len(posts), "counsellor_turns": len(posts),
                                "closed": len(posts), "unclosed": 0, "missing": 0, "filler_turns": 0,
                                "plantable_dialogues": len(posts)}])
    return ({"generation": generation, "filter_validation": validation, "diagnosis": diagnosis, "benchmark": benchmark,
             "benchmark_floor": pairs}, {"judge": MODEL, "embedded": [], "min_units": 8})


FIXTURES = {"care": care, "judge": judge, "mi": mi, "networks": networks, "preference": preference,
            "psaich": psaich, "reconstruct": reconstruct, "roleplay": roleplay, "stigma": stigma, "support": support,
            "synthesis": synthesis, "topics": topics, "trauma": trauma, "trpm4": trpm4}
