"""Each study's claims come from its tables by the stated rules; planted tables that should fail do."""

import numpy as np
import polars as pl
import pytest

from replisuite.mi.claims import chance_macro_f1, majority_macro_f1, mi_claims
from replisuite.psaich.claims import psaich_claims
from replisuite.stigma.claims import stigma_claims
from replisuite.topics.claims import topics_claims
from replisuite.trpm4.claims import trpm4_claims


def verdicts(claims):
    return {c.claim_id: c.verdict for c in claims}


def stigma_tables(*, our_rate=0.5, schizophrenia=0.8):
    check = pl.DataFrame({"published_model": ["m1", "m1"], "condition": ["mania", "delusions"],
                          "published_rate": [0.5, 0.25], "published_n": [100, 100], "our_rate": [our_rate, 0.25],
                          "our_n": [100, 100], "equal": [our_rate == 0.5, True]})
    codes = pl.DataFrame({"published_model": ["m1"], "published_rows": [10], "matched_rows": [10], "equal_codes": [10],
                          "our_coded_rows": [10]})
    wobble = [-0.04, 0.0, 0.03, -0.02, 0.04, 0.01, -0.01, 0.02]
    overall = pl.DataFrame([{"model": model, "steel_man": False, "stimulus": f"s{i}", "condition": "c",
                             "rate": rate + w, "n": n}
                            for model, rate, n in (("human therapists", 0.9, 8), ("m1", 0.4, 35))
                            for i, w in enumerate(wobble)])
    rows = []
    for model in ("m1", "tiny"):
        for condition, rate in (("schizophrenia", schizophrenia), ("alcohol dependence", 0.7), ("depression", 0.3)):
            for vignette, w in enumerate(wobble):
                rows.append({"model": model, "steel_man": False, "condition": condition, "stimulus": f"{condition}{vignette}",
                             "rate": (rate if model == "m1" else 0.5) + w, "n": 12})
    return dict(check_interjections=check, check_stigma=codes, overall=overall, by_condition=pl.DataFrame(rows))


def test_stigma_claims_reproduce_and_fail_as_planted():
    good = stigma_claims(**stigma_tables(), live=["tiny"], embedded=["tiny"], n_boot=500)
    assert verdicts(good) == {
        "appropriateness_m1": "reproduced", "stigma_codes": "reproduced",
        "stigma_schizophrenia_vs_depression": "direction reproduced",
        "stigma_schizophrenia_vs_depression_tiny": "not reproduced",
        "stigma_alcohol_dependence_vs_depression": "direction reproduced",
        "stigma_alcohol_dependence_vs_depression_tiny": "not reproduced", "humans_vs_m1": "direction reproduced",
    }
    tiny = next(c for c in good if c.claim_id.endswith("_tiny"))
    assert tiny.level == "C" and "embedded 135M model" in tiny.models
    assert next(c for c in good if c.claim_id == "humans_vs_m1").level == "A-direction"
    bad = stigma_claims(**stigma_tables(our_rate=0.51, schizophrenia=0.1), live=[], embedded=[], n_boot=500)
    assert verdicts(bad)["appropriateness_m1"] == "not reproduced"
    assert verdicts(bad)["stigma_schizophrenia_vs_depression"] == "not reproduced"


def test_stigma_intervals_resample_stimuli_not_replies():
    """Ten stimuli answered 50 times each: a reply-level interval would shrink with the repeats; the
    stimulus-level one does not (the same ten rates, asked again, say no more)."""
    from replisuite.stigma.claims import humans_above_model

    rates = [0.9, 0.2, 0.8, 0.3, 0.7, 0.6, 0.4, 0.95, 0.1, 0.5]
    def table(n):
        return pl.DataFrame([{"model": m, "steel_man": False, "stimulus": f"s{i}", "condition": "c",
                              "rate": r if m == "human therapists" else 0.8 * r, "n": n}
                             for m in ("human therapists", "m1") for i, r in enumerate(rates)])
    few, many = humans_above_model(table(2), "m1", n_boot=2000, seed=1), humans_above_model(table(50), "m1", n_boot=2000, seed=1)
    assert (few.ci_low, few.ci_high) == (many.ci_low, many.ci_high)
    assert few.reproduced == pytest.approx(0.2 * np.mean(rates)) and few.ci_high - few.ci_low > 0.05


def test_a_live_model_that_gives_one_answer_is_below_the_floor():
    floor = pl.DataFrame({"model": ["tiny"], "items": [36], "answered": [36], "distinct_answers": [1]})
    claims = stigma_claims(**stigma_tables(), live=["tiny"], embedded=["tiny"], n_boot=200, live_floor_table=floor)
    tiny = [c for c in claims if c.claim_id.endswith("_tiny")]
    assert {c.verdict for c in tiny} == {"not comparable"} and {c.task_floor for c in tiny} == {"below"}
    assert "1 distinct over 36 answers" in tiny[0].note
    published = next(c for c in claims if c.claim_id == "stigma_codes")
    assert published.task_floor == ""


def test_psaich_claims_only_for_symptom_instruments():
    differences = pl.DataFrame({
        "model": ["tiny"] * 4, "instrument": ["phq9", "gad7", "mini_ipip", "phq9"],
        "mode": ["therapy_item", "therapy_item", "therapy_item", "stateless_item"],
        "reference": ["whole"] * 4, "mean_difference": [3.0, -2.0, 4.0, 1.0], "ci_low": [1.0, -4.0, 2.0, 0.0],
        "ci_high": [5.0, -1.0, 6.0, 2.0], "seeds": [3] * 4, "seeds_missing": [0] * 4,
    })
    assert verdicts(psaich_claims(differences, embedded=["tiny"], min_seeds=3)) == {
        "item_above_whole_phq9_tiny": "reproduced", "item_above_whole_gad7_tiny": "not reproduced"}
    # three seeds decide nothing: a percentile interval over 3 seeds is [min, max]
    few = psaich_claims(differences, embedded=["tiny"], min_seeds=8)
    assert {c.verdict for c in few} == {"not comparable"} and "too few units: 3 seeds" in few[0].rule


def test_psaich_floor_separates_a_chooser_that_answers_everything_alike():
    from replisuite.psaich.analysis import task_floor

    differences = pl.DataFrame({"model": ["tiny"], "instrument": ["phq9"], "mode": ["therapy_item"], "reference": ["whole"],
                                "mean_difference": [3.0], "ci_low": [1.0], "ci_high": [5.0], "seeds": [10],
                                "seeds_missing": [0]})
    def answers(values):
        return pl.DataFrame({"model": "tiny", "seed": 1, "instrument": "phq9", "mode": "stateless_item",
                             "item": [f"i{i}" for i in range(len(values))], "value": values}, schema_overrides={"value": pl.Int64})
    varied = task_floor(answers([0, 1, 2, 3, 1, 2]))
    assert varied.row(0, named=True) == {"model": "tiny", "items": 6, "answered": 6, "stateless_items": 6,
                                         "stateless_distinct": 4}
    claim = psaich_claims(differences, floor=varied, embedded=[], min_seeds=8)[0]
    assert claim.verdict == "reproduced" and claim.task_floor == "passed"
    constant = psaich_claims(differences, floor=task_floor(answers([1] * 6)), embedded=[], min_seeds=8)[0]
    assert constant.verdict == "not comparable" and constant.task_floor == "below"
    assert "1 distinct over 6 items" in constant.note
    unparsed = psaich_claims(differences, floor=task_floor(answers([0, None, None, 2, None, 1])), embedded=[], min_seeds=8)[0]
    assert unparsed.task_floor == "below" and "3 of 6 answers usable" in unparsed.note


def test_mi_claims_and_the_majority_baseline():
    per_class = pl.DataFrame({"support": [60, 30, 10]})
    assert majority_macro_f1(per_class) == pytest.approx(2 * 0.6 / 1.6 / 3)
    codes = pl.DataFrame({
        "task": ["therapist_behaviour", "client_talk_type"], "source": ["annotated", "annotated"],
        "code": ["reflection", "change"], "sessions_high": [10, 10], "sessions_low": [5, 5],
        "difference": [0.2, -0.1], "ci_low": [0.1, -0.2], "ci_high": [0.3, -0.05],
    })
    f1 = pl.DataFrame({"task": ["t"] * 4, "classifier": ["c"] * 4, "class": ["a", "b", "c", "macro"],
                       "f1": [0.3, 0.2, 0.1, 0.2], "ci_low": [0.2, 0.1, 0.05, 0.15], "ci_high": [0.4] * 4,
                       "support": [80, 10, 10, 100]})
    # the majority guess scores 2*0.8/1.8/3 = 0.296 macro F1, above this classifier's 0.2
    assert verdicts(mi_claims(codes=codes, f1=f1)) == {
        "reflection_quality_annotated": "reproduced", "change_quality_annotated": "not reproduced",
        "classifier_t_c": "not reproduced"}
    assert chance_macro_f1(per_class) == pytest.approx(1 / 3)
    assert chance_macro_f1(per_class) > majority_macro_f1(per_class)


def test_mi_classifier_claims_state_every_classifier_against_the_class_share_guess():
    """A guess drawn from the class shares has expected macro F1 1/k; a classifier at 0.31 beats the
    majority guess (0.25 for shares 0.6/0.3/0.1) but not that guess, so it is not reproduced."""
    rows = []
    for classifier, macro, low in (("weak", 0.31, 0.27), ("strong", 0.6, 0.5)):
        rows += [{"task": "t", "classifier": classifier, "class": c, "f1": 0.3, "ci_low": 0.2, "ci_high": 0.4,
                  "support": n} for c, n in (("a", 60), ("b", 30), ("c", 10))]
        rows.append({"task": "t", "classifier": classifier, "class": "macro", "f1": macro, "ci_low": low,
                     "ci_high": macro + 0.1, "support": 100})
    codes = pl.DataFrame(schema={"task": pl.String, "source": pl.String, "code": pl.String, "sessions_high": pl.Int64,
                                 "sessions_low": pl.Int64, "difference": pl.Float64, "ci_low": pl.Float64,
                                 "ci_high": pl.Float64})
    assert verdicts(mi_claims(codes=codes, f1=pl.DataFrame(rows))) == {
        "classifier_t_weak": "not reproduced", "classifier_t_strong": "reproduced"}


def test_topics_coherence_claim_follows_the_baseline():
    coherence = pl.DataFrame({"model": ["bertopic"] * 20 + ["tfidf+nmf"] * 20,
                              "npmi": [0.2 + 0.01 * (i % 3) for i in range(20)] + [0.05 + 0.01 * (i % 3) for i in range(20)]})
    assert verdicts(topics_claims(coherence=coherence, seed=1, n_boot=200)) == {"coherence_vs_nmf": "reproduced"}
    swapped = coherence.with_columns(pl.col("model").reverse())
    assert verdicts(topics_claims(coherence=swapped, seed=1, n_boot=200))["coherence_vs_nmf"] == "not reproduced"


def trpm4_tables(ip_error, *, missing=0):
    patients = [f"P{i}" for i in range(6)]
    fits = pl.DataFrame([{"group": "g", "patient": p, "gene_set": s, "deviance_explained": de}
                         for p in patients for s, de in (("Ribo", 0.5), ("AR", 0.01), ("WNT", 0.02))])
    planted = [0.4, 0.5, 0.6, 0.45, 0.55, 0.5]
    recovered = [p + e if i >= missing else None for i, (p, e) in enumerate(zip(planted, ip_error, strict=True))]
    recovery = pl.DataFrame({"group": ["g"] * 6, "patient": patients, "planted_ip": planted, "recovered_ip": recovered,
                             "ip_error": ip_error, "trivial_guess_error": [0.2, -0.15, 0.1, 0.25, -0.2, 0.15],
                             "planted_in_interval": [abs(e) < 0.05 for e in ip_error], "n_planted": [400] * 6,
                             "n_trep": [400] * 6, "jaccard_trep_planted": [0.6, 0.55, 0.5, 0.62, 0.58, 0.6]})
    cep = pl.DataFrame({"group": ["g"] * 6, "patient": patients, "n_cells": [1000] * 6})
    return dict(gam_fits=fits, recovery=recovery, cep=cep)


def test_trpm4_claims_planted_and_failed():
    good = trpm4_claims(**trpm4_tables([0.02, -0.01, 0.0, 0.01, -0.02, 0.01]), focus="Ribo", simulated=True, seed=1)
    assert verdicts(good) == {"ribo_above_other_sets_g": "planted recovered", "ip_recovery_g": "planted recovered",
                              "ip_interval_coverage_g": "planted recovered", "trep_recovery_g": "planted recovered"}
    # errors of +-0.3 cancel in a signed mean; in absolute terms they lose to the trivial guess
    cancelling = trpm4_claims(**trpm4_tables([0.3, -0.3, 0.3, -0.3, 0.3, -0.3]), focus="Ribo", simulated=True, seed=1)
    assert verdicts(cancelling)["ip_recovery_g"] == "not reproduced"
    assert verdicts(cancelling)["ip_interval_coverage_g"] == "not reproduced"
    # patients without an IP are misses, not dropped: 3 good of 6 is no recovery
    missing = trpm4_claims(**trpm4_tables([0.0] * 6, missing=3), focus="Ribo", simulated=True, seed=1)
    claim = next(c for c in missing if c.claim_id == "ip_recovery_g")
    assert claim.verdict == "not reproduced" and claim.reproduced == 0.5 and "3 without an IP" in claim.note
    real = trpm4_claims(**trpm4_tables([0.0] * 6), focus="Ribo", simulated=False, seed=1)
    assert [c.level for c in real] == ["C"] and real[0].verdict == "reproduced"


def test_trpm4_focus_claim_drops_patients_whose_fits_failed():
    tables = trpm4_tables([0.0] * 6)
    # P0's best competing set failed: comparing it with the weaker set would flatter the focus set
    fits = tables["gam_fits"].with_columns(
        pl.when((pl.col("patient") == "P0") & (pl.col("gene_set") == "WNT")).then(float("nan"))
        .otherwise(pl.col("deviance_explained")).alias("deviance_explained"))
    claim = trpm4_claims(**{**tables, "gam_fits": fits}, focus="Ribo", simulated=False, seed=1)[0]
    assert "5 patients used, 1 dropped" in claim.note


def test_stigma_claims_without_data_for_a_condition_are_not_comparable():
    tables = stigma_tables()
    tables["by_condition"] = tables["by_condition"].filter(pl.col("condition") != "schizophrenia")
    claims = verdicts(stigma_claims(**tables, live=[], embedded=[], n_boot=200))
    assert claims["stigma_schizophrenia_vs_depression"] == "not comparable"
    assert claims["stigma_alcohol_dependence_vs_depression"] == "direction reproduced"
