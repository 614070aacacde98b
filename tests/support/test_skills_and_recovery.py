"""Skill rates per session, the measurement checks, regression calibration, and replicate summaries."""

import numpy as np
import polars as pl
import pytest

from replisuite.coding.annomi import THERAPIST_CODE
from replisuite.support.effects import skill_effects
from replisuite.support.recovery import att_recovery, calibrated_coefficients, skill_recovery
from replisuite.support.skills import measurement_quality, session_skills, skills_wide


def coded(labels, predicted):
    n = len(labels)
    return (pl.DataFrame({"transcript_id": [1] * (n // 2) + [2] * (n - n // 2), "utterance_id": list(range(n)),
                          "mi_quality": "high", THERAPIST_CODE: labels}),
            pl.DataFrame({"transcript_id": [1] * (n // 2) + [2] * (n - n // 2), "utterance_id": list(range(n)),
                          "predicted": predicted}))


def test_session_skill_rates_count_each_skills_codes():
    codes, predictions = coded(["reflection:complex", "other", "therapist_input:advice", "therapist_input:options",
                                "reflection:complex", "question:open"],
                               ["reflection:complex", "reflection:complex", "other", "therapist_input:options",
                                "other", "question:open"])
    rates = session_skills(codes, predictions, skills={"empathy": ["reflection:complex"],
                                                       "autonomy": ["therapist_input:options"]})
    wide = skills_wide(rates).sort("transcript_id")
    assert wide["empathy"].to_list() == pytest.approx([1 / 3, 1 / 3])
    assert wide["empathy_measured"].to_list() == pytest.approx([2 / 3, 0.0])
    assert wide["autonomy"].to_list() == pytest.approx([0.0, 1 / 3])
    with pytest.raises(ValueError, match="have no prediction"):
        session_skills(codes, predictions.head(3), skills={"empathy": ["reflection:complex"]})


def sessions_with_measurement(kind, n=200, seed=0):
    """``perfect``: measured = annotated; ``noisy``: plus independent error; ``random``: unrelated."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n):
        for skill in ("a", "b"):
            true = rng.random() * 0.3
            measured = {"perfect": true, "noisy": true + rng.uniform(-0.15, 0.15), "random": rng.random() * 0.3}[kind]
            rows.append({"transcript_id": t, "mi_quality": "high", "therapist_utterances": 20, "skill": skill,
                         "annotated": true, "measured": measured})
    return pl.DataFrame(rows)


def test_measurement_quality_separates_a_good_classifier_from_noise():
    perfect = measurement_quality(sessions_with_measurement("perfect"), n_boot=100, seed=1)
    assert perfect["pearson_r"].to_list() == pytest.approx([1.0, 1.0])
    assert perfect["calibration_slope"].to_list() == pytest.approx([1.0, 1.0])
    noisy = measurement_quality(sessions_with_measurement("noisy"), n_boot=100, seed=1)
    assert (noisy["ci_low"] > noisy["null_r_95"]).all() and noisy["calibration_slope"].is_between(0.3, 0.8).all()
    unrelated = measurement_quality(sessions_with_measurement("random", n=400), n_boot=100, seed=1)
    assert (unrelated["ci_low"] < unrelated["null_r_95"]).all() and (unrelated["pearson_r"].abs() < 0.15).all()


def test_calibrated_coefficients_predict_the_regression_on_measured_rates():
    """Regression calibration predicts what OLS on measured rates converges to: an independent check
    (linear algebra over sessions vs a regression over simulated users)."""
    sessions = skills_wide(sessions_with_measurement("noisy", n=300))
    planted = {"a": -6.0, "b": 4.0}
    predicted = calibrated_coefficients(sessions, planted, ["a", "b"])
    assert 0 < predicted["a"] / planted["a"] < 1  # attenuated
    rng = np.random.default_rng(2)
    given = rng.integers(0, sessions.height, 40000)
    users = sessions[given]
    change = -6.0 * users["a"] + 4.0 * users["b"] + rng.normal(0, 1.0, users.height)
    fit = skill_effects(users.with_columns(change=change, pre=pl.lit(0.0) + rng.random(users.height)), outcome="y",
                        change="change", skill_columns={"a": "a_measured", "b": "b_measured"}, adjust=["pre"],
                        experience=None, skills_from="classifier")
    coefs = dict(zip(fit["term"], fit["coef"], strict=True))
    assert coefs["a"] == pytest.approx(predicted["a"], abs=0.25) and coefs["b"] == pytest.approx(predicted["b"], abs=0.25)
    assert calibrated_coefficients(sessions.with_columns(a_measured=pl.col("a"), b_measured=pl.col("b")), planted,
                                   ["a", "b"]) == pytest.approx(planted)


def test_att_recovery_counts_coverage_bias_and_rejections():
    rows = pl.DataFrame({
        "scenario": ["planted"] * 4, "outcome": "phq9", "method": "ipw", "estimate": [-1.0, -2.0, -1.5, 0.5],
        "ci_low": [-1.5, -2.5, -1.8, -0.2], "ci_high": [-0.5, -1.6, -1.2, 1.2], "truth": [-1.2, -1.4, -1.5, -1.0],
    })
    summary = att_recovery(rows).row(0, named=True)
    assert summary["replicates"] == 4 and summary["coverage"] == 0.5  # rows 1 and 3 cover their truth
    assert summary["rejection_rate"] == 0.75 and summary["bias"] == pytest.approx(np.mean([0.2, -0.6, 0.0, 1.5]))


def test_skill_recovery_uses_bh_for_skills_and_the_plain_p_for_experience():
    rows = pl.DataFrame({
        "scenario": "null", "outcome": "phq9", "skills_from": "annotated",
        "term": ["empathy", "empathy", "log_supporter_experience", "log_supporter_experience"],
        "coef": [0.5, -0.2, 0.1, 0.0], "ci_low": [-1.0, -1.0, 0.05, -0.1], "ci_high": [2.0, 1.0, 0.2, 0.1],
        "p_value": [0.01, 0.5, 0.01, 0.9], "p_bh": [0.2, 0.6, None, None], "planted": 0.0,
    })
    summary = {r["term"]: r for r in skill_recovery(rows).iter_rows(named=True)}
    assert summary["empathy"]["rejection_rate"] == 0.0 and summary["log_supporter_experience"]["rejection_rate"] == 0.5
    assert summary["log_supporter_experience"]["coverage"] == 0.5 and summary["empathy"]["expected"] == 0.0


def test_skill_coverage_is_also_measured_against_the_regression_calibrated_value():
    """With measured rates the estimate is attenuated: its intervals cover the calibrated value, not
    the planted one, and the table reports both."""
    rows = pl.DataFrame({"scenario": "planted", "outcome": "phq9", "skills_from": "classifier", "term": "empathy",
                         "replicate": range(4), "planted": -1.0, "coef": [-0.52, -0.48, -0.5, -0.55],
                         "ci_low": [-0.7, -0.66, -0.68, -0.72], "ci_high": [-0.35, -0.3, -0.32, -0.38],
                         "p_value": 0.01, "p_bh": 0.01})
    expected = pl.DataFrame({"scenario": ["planted"], "outcome": ["phq9"], "skills_from": ["classifier"],
                             "term": ["empathy"], "expected": [-0.5]})
    summary = skill_recovery(rows, expected=expected).row(0, named=True)
    assert summary["coverage"] == 0.0 and summary["coverage_expected"] == 1.0 and summary["expected"] == -0.5
