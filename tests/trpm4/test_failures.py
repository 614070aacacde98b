"""One bad patient gives rows with a reason; it does not stop the cohort."""

import json

import numpy as np
import polars as pl

from replisuite.trpm4 import summary
from replisuite.trpm4.fits import cell_power, fit_gam

STUDY = {"gam": {"k_min": 3, "k_max": 6, "lam_log10_low": -2, "lam_log10_high": 2, "lam_num": 5},
         "ip": {"grid_points": 200, "level": 0.95, "grid_quantiles": [0.0, 1.0], "detected_only": True, "smooth_alpha": 0.05},
         "transition": {"alpha": 0.05, "test_boot": 39, "interval_boot": 39, "level": 0.95, "spline_df": 6, "grid_points": 200,
                        "grid_quantiles": [0.02, 0.98], "min_cells": 50, "seed": 3},
         "cv": {"repeats": 3, "train_fraction": 0.7, "seed": 1, "normality_alpha": 0.05, "selections": ["patient"],
                "classifier": {"c": 1.0, "components": 10}}}


def scores(tmp_path):
    rng = np.random.default_rng(0)
    good = rng.uniform(0, 3, 300)
    frame = pl.DataFrame({
        "cell": [f"c{i}" for i in range(600)], "group": "PCa", "patient": ["GOOD"] * 300 + ["FLAT"] * 300,
        "anchor": np.concatenate([good, np.repeat([0.0, 1.0, 2.0], 100)]),  # FLAT: three anchor values only
        "Ribo": np.concatenate([np.sin(good) + rng.normal(0, 0.1, 300), rng.normal(0, 0.1, 300)]),
    })
    path = tmp_path / "scores.parquet"
    frame.write_parquet(path)
    pl.DataFrame({"cell": frame["cell"], **{f"pc{i}": rng.normal(size=600) for i in (1, 2)}}).write_parquet(
        tmp_path / "features.parquet")
    return str(path)


def run_patient(tmp_path, path, patient):
    out = {name: str(tmp_path / f"{patient}.{name}") for name in ("fit.json", "fitted.parquet", "cells.parquet",
                                                                  "summary.json", "cv.parquet")}
    fit_gam(STUDY, "PCa", patient, "Ribo", scores=path, fit_out=out["fit.json"], fitted_out=out["fitted.parquet"])
    cell_power(STUDY, "PCa", patient, fit=out["fit.json"], fitted=out["fitted.parquet"],
               features=str(tmp_path / "features.parquet"), cells_out=out["cells.parquet"],
               summary_out=out["summary.json"], cv_out=out["cv.parquet"])
    return out


def test_a_patient_without_a_fit_is_a_row_with_its_reason(tmp_path, caplog):
    path = scores(tmp_path)
    good = run_patient(tmp_path, path, "GOOD")
    with caplog.at_level("WARNING", logger="replisuite.trpm4"):
        flat = run_patient(tmp_path, path, "FLAT")
    assert "FLAT" in caplog.text and "distinct values" in caplog.text
    record = json.loads(open(flat["fit.json"]).read())
    assert "distinct values" in record["reason"] and np.isnan(record["deviance_explained"])
    assert pl.read_parquet(flat["cells.parquet"]).is_empty() and pl.read_parquet(flat["cv.parquet"]).is_empty()
    fits = summary.gam_table(summary.read_records([good["fit.json"], flat["fit.json"]]))
    assert fits.filter(pl.col("patient") == "GOOD")["reason"][0] == ""
    cep = summary.cep_table(summary.read_records([good["summary.json"], flat["summary.json"]]))
    assert cep.filter(pl.col("patient") == "FLAT")["reason"][0].startswith("the anchor takes 3 distinct values")
    assert not np.isnan(cep.filter(pl.col("patient") == "GOOD")["ip"][0])


def test_a_comparison_not_made_is_counted_with_its_reason():
    from replisuite.trpm4.cells import DEGS_SCHEMA, _skipped_rows

    made = pl.DataFrame({"gene": ["A", "B"], "log2fc": [1.0, -2.0], "score": [3.0, -3.0], "p_value": [0.01, 0.2],
                         "p_adj": [0.02, 0.3], "comparison": "all", "reason": [None, None]},
                        schema={k: v for k, v in DEGS_SCHEMA.items() if k not in ("group", "patient")})
    skipped = _skipped_rows(pl.DataFrame({"comparison": ["post_ip"], "reason": ["1 post_trep and 40 post_non_trep cells"]}))
    degs = pl.concat([made, skipped]).with_columns(pl.lit("PCa").alias("group"), pl.lit("P1").alias("patient"))
    counts = summary.deg_counts(degs, min_abs_log2fc=0.1, max_p=0.05)
    rows = {row["comparison"]: row for row in counts.iter_rows(named=True)}
    assert rows["all"]["up_raw"] == 1 and rows["all"]["reason"] == ""
    assert rows["post_ip"]["up_raw"] == 0 and rows["post_ip"]["reason"].startswith("1 post_trep")
