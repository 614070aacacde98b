"""The trpm4 study's per-patient model steps (tables in, tables out): one GAM per group x patient x
gene set, and explanatory power, TREP cells, CV and the inflection point per group x patient.

Kept free of AnnData and scanpy: these are the many small jobs, and their start-up time counts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from replisuite.atomic import atomic_open
from replisuite.singlecell import cep
from replisuite.singlecell.gam import fit_anchor_gam
from replisuite.stats import name_seed
from replisuite.tables import write_table

CELL_SCHEMA = {"cell": pl.String, "group": pl.String, "patient": pl.String, "anchor": pl.Float64, "score": pl.Float64,
               "fitted": pl.Float64, "residual": pl.Float64, "explanatory_power": pl.Float64, "trep": pl.Boolean,
               "post_ip": pl.Boolean, "quadrant": pl.String}


def _write_json(payload: Mapping[str, Any], path: str) -> None:
    with atomic_open(path) as handle:
        json.dump(payload, handle, indent=2, default=float)


def _patient_scores(scores: str, group: str, patient: str) -> pl.DataFrame:
    frame = pl.read_parquet(scores).filter((pl.col("group") == group) & (pl.col("patient") == patient))
    if frame.is_empty():
        raise ValueError(f"{scores}: no cells for group {group!r}, patient {patient!r}")
    return frame


def lam_grid(study: Mapping[str, Any]) -> np.ndarray:
    gam = study["gam"]
    return np.logspace(gam["lam_log10_low"], gam["lam_log10_high"], gam["lam_num"])


def fit_gam(study: Mapping[str, Any], group: str, patient: str, gene_set: str, *, scores: str, fit_out: str,
            fitted_out: str) -> None:
    """``score ~ s(anchor)`` for one group, patient and gene set: the fit record and per-cell fitted values."""
    frame = _patient_scores(scores, group, patient)
    x, y = frame["anchor"].to_numpy(), frame[gene_set].to_numpy()
    gam, fit = fit_anchor_gam(x, y, k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    fitted = frame.select("cell", "anchor", pl.col(gene_set).alias("score")).with_columns(
        pl.Series("fitted", gam.predict(x[:, None])))
    write_table(fitted, fitted_out, schema={"cell": pl.String, "anchor": pl.Float64, "score": pl.Float64, "fitted": pl.Float64})
    _write_json({"group": group, "patient": patient, "gene_set": gene_set, **fit.as_dict()}, fit_out)


def cell_power(study: Mapping[str, Any], group: str, patient: str, *, fit: str, fitted: str, cells_out: str,
               summary_out: str, cv_out: str) -> None:
    """EP, TREP cells, Monte Carlo CV with controls, the inflection point, pre/post and quadrant tests."""
    record = json.loads(Path(fit).read_text())
    frame = pl.read_parquet(fitted)
    x, y, yhat = (frame[c].to_numpy() for c in ("anchor", "score", "fitted"))
    residual = y - yhat
    ep, trep = cep.trep_cells(y, yhat, record["deviance_explained"])
    settings = study["ip"]
    ip = cep.inflection_point(x[trep], residual[trep], grid_points=settings["grid_points"], level=settings["level"],
                              grid_quantiles=tuple(settings["grid_quantiles"]), detected_only=settings["detected_only"],
                              k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    # corrected variant beside the published IP: reported only when the residual smooth is significant
    ip["ip_gated"] = ip["ip"] if ip["residual_p"] < settings["smooth_alpha"] else float("nan")
    found = not np.isnan(ip["ip"])
    post = x > ip["ip"] if found else np.zeros(x.size, dtype=bool)
    summary = {"group": group, "patient": patient, "n_cells": int(x.size), "deviance_explained": record["deviance_explained"],
               "k": record["k"], "lam": record["lam"], "n_trep": int(trep.sum()), **ip}
    alpha = study["cv"]["normality_alpha"]
    if found:
        summary["pre_post"] = cep.compare_pre_post(residual[trep & ~post], residual[trep & post], alpha=alpha)
        summary["above_below"] = dict(cep.above_below_test(x[trep], residual[trep], ip["ip"]))
        quadrant = cep.quadrants(x, trep, ip["ip"])
    else:
        summary["pre_post"], summary["above_below"] = {}, {}
        quadrant = np.full(x.size, "no_ip")
    summary["quadrants"] = {q: int((quadrant == q).sum()) for q in ("pre_trep", "pre_non_trep", "post_trep", "post_non_trep")}
    cells = pl.DataFrame({"cell": frame["cell"], "group": group, "patient": patient, "anchor": x, "score": y, "fitted": yhat,
                          "residual": residual, "explanatory_power": ep, "trep": trep,
                          "post_ip": pl.Series(post if found else [None] * x.size, dtype=pl.Boolean), "quadrant": quadrant})
    cv = cep.cross_validate(x, y, k=record["k"], lam=record["lam"], repeats=study["cv"]["repeats"],
                            train_fraction=study["cv"]["train_fraction"], seed=name_seed(study["cv"]["seed"], group, patient),
                            selections=tuple(study["cv"]["selections"]), k_min=study["gam"]["k_min"],
                            k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    write_table(cells, cells_out, schema=CELL_SCHEMA)
    write_table(cv.with_columns(pl.lit(group).alias("group"), pl.lit(patient).alias("patient")), cv_out,
                schema={**cep.CV_SCHEMA, "group": pl.String, "patient": pl.String})
    _write_json(summary, summary_out)
