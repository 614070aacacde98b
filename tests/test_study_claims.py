"""Each study's claims come from its tables by the stated rules; planted tables that should fail do."""

import polars as pl
import pytest

from replisuite.mi.claims import majority_macro_f1, mi_claims
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
    overall = pl.DataFrame({"model": ["human therapists", "m1", "m1"], "steel_man": [False, False, True],
                            "contextualize": [False, False, False], "rate": [0.9, 0.4, 0.6], "n": [80, 350, 350]})
    rows = []
    for model in ("m1", "tiny"):
        for condition, rate in (("schizophrenia", schizophrenia), ("alcohol dependence", 0.7), ("depression", 0.3)):
            rows.append({"model": model, "steel_man": False, "condition": condition,
                         "rate": rate if model == "m1" else 0.5, "n": 100})
    return dict(check_interjections=check, check_stigma=codes, overall=overall, by_condition=pl.DataFrame(rows))


def test_stigma_claims_reproduce_and_fail_as_planted():
    good = stigma_claims(**stigma_tables(), live=["tiny"], embedded=["tiny"])
    assert verdicts(good) == {
        "appropriateness_m1": "reproduced", "stigma_codes": "reproduced",
        "stigma_schizophrenia_vs_depression": "reproduced", "stigma_schizophrenia_vs_depression_tiny": "not reproduced",
        "stigma_alcohol_dependence_vs_depression": "reproduced",
        "stigma_alcohol_dependence_vs_depression_tiny": "not reproduced", "humans_vs_m1": "reproduced",
    }
    tiny = next(c for c in good if c.claim_id.endswith("_tiny"))
    assert tiny.level == "C" and "embedded 135M model" in tiny.models
    bad = stigma_claims(**stigma_tables(our_rate=0.51, schizophrenia=0.1), live=[], embedded=[])
    assert verdicts(bad)["appropriateness_m1"] == "not reproduced"
    assert verdicts(bad)["stigma_schizophrenia_vs_depression"] == "not reproduced"


def test_psaich_claims_only_for_symptom_instruments():
    differences = pl.DataFrame({
        "model": ["tiny"] * 4, "instrument": ["phq9", "gad7", "mini_ipip", "phq9"],
        "mode": ["therapy_item", "therapy_item", "therapy_item", "stateless_item"],
        "reference": ["whole"] * 4, "mean_difference": [3.0, -2.0, 4.0, 1.0], "ci_low": [1.0, -4.0, 2.0, 0.0],
        "ci_high": [5.0, -1.0, 6.0, 2.0], "seeds": [3] * 4, "seeds_missing": [0] * 4,
    })
    assert verdicts(psaich_claims(differences, embedded=["tiny"])) == {
        "item_above_whole_phq9_tiny": "reproduced", "item_above_whole_gad7_tiny": "not reproduced"}


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
        "classifier_t": "not reproduced"}


def test_topics_coherence_claim_follows_the_baseline():
    coherence = pl.DataFrame({"model": ["bertopic"] * 20 + ["tfidf+nmf"] * 20,
                              "npmi": [0.2 + 0.01 * (i % 3) for i in range(20)] + [0.05 + 0.01 * (i % 3) for i in range(20)]})
    assert verdicts(topics_claims(coherence=coherence, seed=1, n_boot=200)) == {"coherence_vs_nmf": "reproduced"}
    swapped = coherence.with_columns(pl.col("model").reverse())
    assert verdicts(topics_claims(coherence=swapped, seed=1, n_boot=200))["coherence_vs_nmf"] == "not reproduced"


def trpm4_tables(ip_error):
    patients = [f"P{i}" for i in range(6)]
    fits = pl.DataFrame([{"group": "g", "patient": p, "gene_set": s, "deviance_explained": de}
                         for p in patients for s, de in (("Ribo", 0.5), ("AR", 0.01), ("WNT", 0.02))])
    recovery = pl.DataFrame({"group": ["g"] * 6, "patient": patients, "ip_error": ip_error,
                             "planted_in_interval": [abs(e) < 0.05 for e in ip_error], "n_planted": [400] * 6,
                             "n_trep": [400] * 6, "jaccard_trep_planted": [0.6, 0.55, 0.5, 0.62, 0.58, 0.6]})
    cep = pl.DataFrame({"group": ["g"] * 6, "patient": patients, "n_cells": [1000] * 6})
    return dict(gam_fits=fits, recovery=recovery, cep=cep)


def test_trpm4_claims_planted_and_failed():
    good = trpm4_claims(**trpm4_tables([0.02, -0.01, 0.0, 0.01, -0.02, 0.01]), focus="Ribo", simulated=True, seed=1)
    assert verdicts(good) == {"ribo_above_other_sets_g": "planted recovered", "ip_recovery_g": "planted recovered",
                              "trep_recovery_g": "planted recovered"}
    biased = trpm4_claims(**trpm4_tables([-0.2, -0.1, -0.3, -0.15, -0.2, -0.25]), focus="Ribo", simulated=True, seed=1)
    assert verdicts(biased)["ip_recovery_g"] == "not reproduced"
    real = trpm4_claims(**trpm4_tables([0.0] * 6), focus="Ribo", simulated=False, seed=1)
    assert [c.level for c in real] == ["C"] and real[0].verdict == "reproduced"


def test_stigma_claims_without_data_for_a_condition_are_not_comparable():
    tables = stigma_tables()
    tables["by_condition"] = tables["by_condition"].filter(pl.col("condition") != "schizophrenia")
    claims = verdicts(stigma_claims(**tables, live=[], embedded=[]))
    assert claims["stigma_schizophrenia_vs_depression"] == "not comparable"
    assert claims["stigma_alcohol_dependence_vs_depression"] == "reproduced"
