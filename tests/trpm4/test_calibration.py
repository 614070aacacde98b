"""Calibration scenarios: the published checks on data where the answer is known, nulls included."""

import numpy as np
import polars as pl
import pytest

from replisuite.trpm4.calibration import (
    PATIENT_SCHEMA,
    SCENARIOS,
    calibrate,
    calibration_table,
    run_shard,
    simulate_scores,
)
from replisuite.singlecell.cep import mean_crossing
from replisuite.trpm4.claims import calibration_claims

STUDY = {"gam": {"k_min": 3, "k_max": 8, "lam_log10_low": -3, "lam_log10_high": 3, "lam_num": 7},
         "ip": {"grid_points": 500, "level": 0.95, "grid_quantiles": [0.0, 1.0], "detected_only": True, "smooth_alpha": 0.05},
         "transition": {"alpha": 0.05, "test_boot": 39, "interval_boot": 39, "level": 0.95, "spline_df": 6, "grid_points": 200,
                        "grid_quantiles": [0.02, 0.98], "min_cells": 50, "seed": 3},
         "cv": {"repeats": 20, "train_fraction": 0.7, "classifier": {"c": 1.0, "components": 10}}}


def test_mean_crossing_of_a_known_curve():
    x = np.concatenate([np.zeros(20), np.linspace(0.5, 3.0, 200)])
    assert mean_crossing(x, x, 1.25) == pytest.approx(1.25, abs=0.01)
    assert np.isnan(mean_crossing(x, np.full(x.size, 2.0), 1.0))


def test_scenarios_plant_what_they_say():
    planted = simulate_scores("planted", n_cells=600, seed=1)
    shifted = simulate_scores("planted_shifted", n_cells=600, seed=1)
    flat = simulate_scores("no_relation", n_cells=600, seed=1)
    smooth = simulate_scores("no_subpopulation", n_cells=600, seed=1)
    assert np.quantile(planted["x"], 0.35) <= planted["planted_ip"] <= np.quantile(planted["x"], 0.65)
    crossing = mean_crossing(shifted["x"], shifted["curve"], float(shifted["curve"].mean()))
    assert abs(shifted["planted_ip"] - crossing) > 0.3  # the two explanations are far apart
    assert np.isnan(flat["planted_ip"]) and np.isnan(smooth["planted_ip"])
    assert abs(np.corrcoef(flat["x"], flat["y"])[0, 1]) < 0.1 < np.corrcoef(smooth["x"], smooth["y"])[0, 1]
    with pytest.raises(ValueError, match="unknown calibration scenario 'none'"):
        simulate_scores("none", n_cells=10, seed=1)


@pytest.fixture(scope="module")
def rows():
    return pl.concat([calibrate(s, 0, patients=["A", "B", "C", "D"], n_cells=600, seed=7, study=STUDY)
                      for s in SCENARIOS])


def test_the_published_checks_under_the_nulls_behave_as_measured(rows):
    """Without a subpopulation the published CV is still 'significant' and an IP is still found
    (at the fit's mean crossing); without a relation the method degenerates (almost no TREP cell)."""
    smooth = rows.filter(pl.col("scenario") == "no_subpopulation")
    assert smooth["cv_significant"].mean() >= 0.75 and smooth["ip"].is_not_nan().all()
    assert (smooth["ip"] - smooth["mean_crossing"]).abs().max() < 0.15
    flat = rows.filter(pl.col("scenario") == "no_relation")
    assert flat["deviance_explained"].max() < 0.03 and flat["n_trep"].max() < 0.03 * 600
    assert (flat["reason"] != "").any()  # a patient the method cannot handle is a row with its reason


def test_the_corrected_cv_is_silent_under_the_nulls_and_finds_the_planted_cells(rows):
    """The classifier never sees a held-out cell's score: it separates TREP from the rest only
    where expression marks a subpopulation that the score follows (the nulls mark a random one)."""
    table = {r["scenario"]: r for r in calibration_table(rows).iter_rows(named=True)}
    assert table["no_subpopulation"]["cv_corrected_significant_rate"] <= 0.25
    assert table["no_relation"]["cv_corrected_significant_rate"] <= 0.25
    assert table["planted"]["cv_corrected_significant_rate"] >= 0.75
    assert table["no_subpopulation"]["cv_significant_rate"] >= 0.75  # the published CV, on the same cells


def test_planted_shifted_reports_the_ip_against_both_explanations(rows):
    shifted = rows.filter(pl.col("scenario") == "planted_shifted")
    assert shifted["planted_ip"].is_not_nan().all() and shifted["mean_crossing"].is_not_nan().all()
    table = calibration_table(rows).filter(pl.col("scenario") == "planted_shifted").row(0, named=True)
    for column in ("median_ip_minus_mean_crossing", "median_ip_minus_planted", "median_abs_trivial_error",
                   "interval_coverage"):
        assert table[column] is not None and np.isfinite(table[column]), column
    nulls = calibration_table(rows).filter(pl.col("scenario") == "no_relation").row(0, named=True)
    assert nulls["median_ip_minus_planted"] is None  # nothing was planted


def test_sharding_the_replicates_over_jobs_never_changes_a_row(tmp_path):
    study = {**STUDY, "cv": {**STUDY["cv"], "repeats": 5},
             "calibration": {"replicates": 3, "shards": 1, "patients": 1, "cells": 200, "seed": 7}}
    run_shard({**study, "calibration": {**study["calibration"], "shards": 1}}, "no_relation", 0, out=str(tmp_path / "one.parquet"))
    for shard in (0, 1):
        run_shard({**study, "calibration": {**study["calibration"], "shards": 2}}, "no_relation", shard,
                  out=str(tmp_path / f"two_{shard}.parquet"))
    one = pl.read_parquet(tmp_path / "one.parquet")
    two = pl.concat([pl.read_parquet(tmp_path / f"two_{shard}.parquet") for shard in (0, 1)])
    assert one.height == 3 and sorted(pl.read_parquet(tmp_path / "two_1.parquet")["replicate"]) == [1]
    assert two.sort("replicate").equals(one.sort("replicate"))


def test_seeds_come_from_names_not_positions():
    one = calibrate("planted", 3, patients=["A", "B"], n_cells=300, seed=7, study=STUDY)
    other = calibrate("planted", 3, patients=["B"], n_cells=300, seed=7, study=STUDY)
    assert one.filter(pl.col("patient") == "B").equals(other)
    assert one.schema == pl.Schema(PATIENT_SCHEMA)


def test_calibration_claims_fail_when_the_null_is_called_significant(rows):
    claims = {c.claim_id: c for c in calibration_claims(rows)}
    assert claims["cv_null_no_subpopulation"].verdict == "not reproduced"
    # the published CV's power is no finding while it is just as 'significant' under the null
    if "cv_power_planted" in claims:
        assert claims["cv_power_planted"].verdict == "not reproduced"
    assert claims["cv_null_no_subpopulation"].reproduced >= 0.75
    silent = rows.with_columns(pl.when(pl.col("scenario") == "no_subpopulation").then(False)
                               .otherwise(pl.col("cv_significant")).alias("cv_significant"))
    assert {c.claim_id: c for c in calibration_claims(silent)}["cv_null_no_subpopulation"].verdict == "null passed"


def test_calibration_figure_draws_a_missing_rate_as_missing_not_zero():
    from replisuite.trpm4.figures import CALIBRATION_RATES, calibration

    # a Wilson bound a rounding error on the wrong side of a rate of 0 (as wilson_interval(0, 100) gives)
    rates = {f"{column}{suffix}": [value, None] for column in CALIBRATION_RATES
             for suffix, value in (("", 0.0), ("_low", 3.5e-18), ("_high", 0.04))}
    table = pl.DataFrame({"scenario": ["planted", "no_subpopulation"], "truth": ["planted", "no_subpopulation"], **rates},
                         schema_overrides=dict.fromkeys(rates, pl.Float64))
    rows = pl.DataFrame({"scenario": ["planted"], "truth": ["planted"], "ip": [0.5], "ip_calibrated": [0.47],
                         "planted_ip": [0.45], "mean_crossing": [0.5]})
    figure = calibration(rows, table)
    axis = figure.axes[0]
    heights = [patch.get_height() for patch in axis.patches]
    assert sum(np.isnan(heights)) == len(CALIBRATION_RATES) and sum(h == 0.0 for h in heights) == len(CALIBRATION_RATES)
    assert sum(text.get_text() == "n/a" for text in axis.texts) == len(CALIBRATION_RATES)


def test_the_calibrated_ip_is_silent_under_the_nulls_and_located_where_planted(rows):
    from replisuite.trpm4.claims import calibrated_ip_claims

    table = {(r["scenario"], r["truth"]): r for r in calibration_table(rows).iter_rows(named=True)}
    assert table[("no_subpopulation", "no_subpopulation")]["ip_calibrated_reported_rate"] <= 0.25
    assert table[("no_subpopulation", "no_subpopulation")]["ip_reported_rate"] >= 0.75  # the published IP, same patients
    shifted = table[("planted_shifted", "planted_shifted")]
    assert shifted["ip_calibrated_reported_rate"] >= 0.75
    assert shifted["median_abs_ip_calibrated_error"] < 0.5 * shifted["median_abs_trivial_error"]
    low, high = shifted["ip_calibrated_reported_rate_low"], shifted["ip_calibrated_reported_rate_high"]
    assert low <= shifted["ip_calibrated_reported_rate"] <= high
    claims = {c.claim_id: c for c in calibrated_ip_claims(rows, seed=1)}
    assert claims["ip_calibrated_null"].verdict == "null passed"
    assert claims["ip_calibrated_beats_trivial_guess"].baseline == pytest.approx(0.5 * shifted["median_abs_trivial_error"])
    # reported everywhere (as the published IP is), the null claim fails and so does power
    loud = rows.with_columns(pl.col("ip_calibrated").fill_nan(None).fill_null(pl.col("trivial_guess")))
    loud_claims = {c.claim_id: c for c in calibrated_ip_claims(loud, seed=1)}
    assert loud_claims["ip_calibrated_null"].verdict == "not reproduced"
    assert loud_claims["ip_calibrated_power"].verdict == "not reproduced"
    # the trivial guess as the location fails the location claim
    trivial = rows.with_columns(pl.col("trivial_guess").alias("ip_calibrated"))
    assert {c.claim_id: c for c in calibrated_ip_claims(trivial, seed=1)}[
        "ip_calibrated_beats_trivial_guess"].verdict == "not reproduced"


def test_a_mixed_cohort_has_both_kinds_and_measures_pooled_components(rows):
    mixed = rows.filter(pl.col("scenario") == "mixed")
    assert set(mixed["truth"]) <= {"planted", "no_subpopulation"}
    assert mixed["cv_corrected_pooled_p"].is_not_null().all()
    assert rows.filter(pl.col("scenario") != "mixed")["cv_corrected_pooled_p"].is_null().all()
    kinds = {p: calibrate("mixed", 5, patients=[p], n_cells=300, seed=7, study=STUDY)["truth"][0] for p in ("A", "B")}
    assert kinds == {p: mixed.filter(pl.col("patient") == p)["truth"][0] for p in ("A", "B")}  # by name, every replicate
