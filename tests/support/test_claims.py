"""The support claims come from the tables by their rules, and fail where the tables say so."""

import polars as pl

from replisuite.support.claims import support_claims

TRUTH = {"simulated": True, "planted_att": {"phq9": -1.5}, "sample_att": {"phq9": -1.4},
         "planted_skills": {"phq9": {"empathy": -6.0, "persuading": 10.0}}}
SIGNS = {"empathy": -1, "persuading": 1}


def tables(*, matched=(-1.3, -1.8, -0.9), empathy=(-5.0, -7.0, -3.0), null_rate=0.05, coverage=0.95):
    att = pl.DataFrame({"outcome": "phq9", "method": ["naive", "matching_replace"], "estimate": [-2.8, matched[0]],
                        "ci_low": [-3.1, matched[1]], "ci_high": [-2.5, matched[2]], "treated_used": 100,
                        "controls_used": 80})
    effects = pl.DataFrame({"outcome": "phq9", "skills_from": "annotated", "term": ["empathy", "persuading"],
                            "coef": [empathy[0], 9.0], "ci_low": [empathy[1], 7.0], "ci_high": [empathy[2], 11.0],
                            "p_bh": [0.001, 0.001], "n": 100})
    att_recovery = pl.DataFrame({"scenario": ["planted", "planted", "null", "null"], "outcome": "phq9",
                                 "method": ["matching_replace", "naive"] * 2, "replicates": 20,
                                 "coverage": [coverage, 0.0, 0.9, 0.0], "rejection_rate": [1.0, 1.0, null_rate, 1.0]})
    skill_recovery = pl.DataFrame({"scenario": "null", "outcome": "phq9", "skills_from": "annotated",
                                   "term": ["empathy", "log_supporter_experience"], "replicates": 20,
                                   "rejection_rate": [0.0, 0.5]})
    return dict(att=att, effects=effects, att_recovery=att_recovery, skill_recovery=skill_recovery)


def verdicts(**kwargs):
    return {c.claim_id: c.verdict for c in support_claims(**tables(**kwargs), truth=TRUTH, primary="matching_replace",
                                                           signs=SIGNS)}


def test_planted_effects_found_are_recovered_and_nulls_pass():
    assert verdicts() == {
        "chat_improves_phq9": "planted recovered", "att_recovered_phq9": "planted recovered",
        "skill_empathy_phq9_annotated": "planted recovered", "skill_persuading_phq9_annotated": "planted recovered",
        "att_interval_coverage": "planted recovered", "att_null_false_positives": "null passed",
        "skill_null_false_positives": "null passed",  # the experience term is not a skill
    }


def test_claims_fail_when_the_estimates_miss():
    bad = verdicts(matched=(-0.3, -0.6, 0.1), empathy=(1.0, 0.5, 1.5), null_rate=0.3, coverage=0.6)
    assert bad["chat_improves_phq9"] == "not reproduced"  # the sign agrees, the interval reaches 0
    assert bad["att_recovered_phq9"] == "not reproduced"  # and misses the sample ATT
    assert bad["skill_empathy_phq9_annotated"] == "not reproduced"
    assert bad["att_interval_coverage"] == "not reproduced" and bad["att_null_false_positives"] == "not reproduced"
