"""The trpm4 study's per-patient model steps (tables in, tables out): one GAM per group x patient x
gene set, and explanatory power, TREP cells, CV and the inflection point per group x patient.

Kept free of AnnData and scanpy: these are the many small jobs, and their start-up time counts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from replisuite.atomic import atomic_open
from replisuite.singlecell import cep
from replisuite.singlecell.gam import TooFewAnchorValuesError, fit_anchor_gam
from replisuite.singlecell.transition import TRANSITION_FIELDS, calibrated_transition
from replisuite.stats import name_seed
from replisuite.tables import write_table

log = logging.getLogger("replisuite.trpm4")

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
    """The smoothing-penalty grid of the config (log-spaced)."""
    gam = study["gam"]
    return np.logspace(gam["lam_log10_low"], gam["lam_log10_high"], gam["lam_num"])


FITTED_SCHEMA = {"cell": pl.String, "anchor": pl.Float64, "score": pl.Float64, "fitted": pl.Float64}
NO_FIT = {"n_cells": 0, "unique_anchor": 0, "k": None, "lam": float("nan"), "edf": float("nan"),
          "deviance_explained": float("nan"), "rss": float("nan"), "penalised_rss": float("nan"), "gcv": float("nan")}


def fit_gam(study: Mapping[str, Any], group: str, patient: str, gene_set: str, *, scores: str, fit_out: str,
            fitted_out: str) -> None:
    """``score ~ s(anchor)`` for one group, patient and gene set: the fit record and per-cell fitted values.

    A patient whose anchor takes too few values gets a record with NaN and its ``reason`` (and no
    fitted values), so one bad patient does not stop the cohort.
    """
    frame = _patient_scores(scores, group, patient)
    x, y = frame["anchor"].to_numpy(), frame[gene_set].to_numpy()
    key = {"group": group, "patient": patient, "gene_set": gene_set}
    try:
        gam, fit = fit_anchor_gam(x, y, k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    except TooFewAnchorValuesError as error:
        log.warning("%s %s %s: no fit (%s)", group, patient, gene_set, error)
        write_table(pl.DataFrame(schema=FITTED_SCHEMA), fitted_out, schema=FITTED_SCHEMA)
        _write_json({**key, **NO_FIT, "n_cells": int(x.size), "unique_anchor": int(np.unique(x).size), "reason": str(error)},
                    fit_out)
        return
    fitted = frame.select("cell", "anchor", pl.col(gene_set).alias("score")).with_columns(
        pl.Series("fitted", gam.predict(x[:, None])))
    write_table(fitted, fitted_out, schema=FITTED_SCHEMA)
    _write_json({**key, **fit.as_dict(), "reason": ""}, fit_out)


def _no_power(group: str, patient: str, record: Mapping[str, Any], reason: str, *, cells_out: str, summary_out: str,
              cv_out: str) -> None:
    """The outputs of a patient the method cannot analyse: empty tables and a summary with its reason."""
    log.warning("%s %s: no CEP/IP (%s)", group, patient, reason)
    write_table(pl.DataFrame(schema=CELL_SCHEMA), cells_out, schema=CELL_SCHEMA)
    cv_schema = {**cep.CV_SCHEMA, "group": pl.String, "patient": pl.String}
    write_table(pl.DataFrame(schema=cv_schema), cv_out, schema=cv_schema)
    nan = float("nan")
    _write_json({"group": group, "patient": patient, "n_cells": record.get("n_cells", 0),
                 "deviance_explained": record.get("deviance_explained", nan), "k": record.get("k"),
                 "lam": record.get("lam", nan), "n_trep": 0, "ip": nan, "ip_low": nan, "ip_high": nan, "crossings": 0,
                 "residual_p": nan, "ip_gated": nan, "pre_post": {}, "above_below": {},
                 "quadrants": {q: 0 for q in ("pre_trep", "pre_non_trep", "post_trep", "post_non_trep")}, "reason": reason,
                 **{name: nan for name in TRANSITION_FIELDS}, "ip_calibrated_minus_trivial_guess": nan,
                 "ip_calibrated_minus_mean_crossing": nan, "transition_reason": reason},
                summary_out)


def locate_ip(x: np.ndarray, residual: np.ndarray, trep: np.ndarray,
              study: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The IP of one patient's TREP residuals with the study's ``ip`` and ``gam`` settings, and
    beside it ``ip_gated``: the IP only when the residual smooth is significant at
    ``ip.smooth_alpha`` (the corrected variant). ``(None, reason)`` when it cannot be fitted.
    """
    if trep.sum() < study["gam"]["k_min"] + 1:
        return None, f"{int(trep.sum())} TREP cells: too few for the residual GAM"
    settings = study["ip"]
    try:
        ip = cep.inflection_point(x[trep], residual[trep], grid_points=settings["grid_points"], level=settings["level"],
                                  grid_quantiles=tuple(settings["grid_quantiles"]), detected_only=settings["detected_only"],
                                  k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    except TooFewAnchorValuesError as error:
        return None, f"TREP cells: {error}"
    ip["ip_gated"] = ip["ip"] if ip["residual_p"] < settings["smooth_alpha"] else float("nan")
    return ip, ""


def locate_transition(x: np.ndarray, y: np.ndarray, *, k: int, lam: float, settings: Mapping[str, Any],
                      seed: int) -> dict[str, Any]:
    """The calibrated IP of one patient's cells (`calibrated_transition`) with the study's
    ``transition`` settings, and its distance to the trivial guess (the median detected anchor).
    """
    found = calibrated_transition(x, y, k=k, lam=lam, seed=seed, alpha=settings["alpha"], test_boot=settings["test_boot"],
                                  interval_boot=settings["interval_boot"], level=settings["level"],
                                  spline_df=settings["spline_df"], grid_points=settings["grid_points"],
                                  grid_quantiles=tuple(settings["grid_quantiles"]), min_cells=settings["min_cells"])
    return found | {"ip_calibrated_minus_trivial_guess": found["ip_calibrated"] - cep.median_detected(x)}


def patient_features(features: str, cells: pl.Series) -> np.ndarray | None:
    """The rows of the features table for ``cells``, in their order (cells x components); None when
    the table has none of them (a patient too small for its own components: no corrected CV).
    """
    table = pl.DataFrame({"cell": cells}).join(pl.read_parquet(features), on="cell", how="left", maintain_order="left")
    missing = table.filter(pl.any_horizontal(pl.exclude("cell").is_null()))["cell"]
    if missing.len() == table.height:
        log.warning("%s: no expression features for these cells; the corrected CV is not run", features)
        return None
    if missing.len():
        raise ValueError(f"{features}: no expression features for {missing.len()} cell(s), e.g. {missing[0]!r}")
    return table.drop("cell").to_numpy()


def cell_power(study: Mapping[str, Any], group: str, patient: str, *, fit: str, fitted: str, features: str,
               cells_out: str, summary_out: str, cv_out: str) -> None:
    """EP, TREP cells, Monte Carlo CV with controls (published and corrected, see `cep.cross_validate`),
    the inflection point, pre/post and quadrant tests.
    """
    record = json.loads(Path(fit).read_text())
    outputs = {"cells_out": cells_out, "summary_out": summary_out, "cv_out": cv_out}
    if record.get("reason") or not np.isfinite(record["deviance_explained"]):
        _no_power(group, patient, record, record.get("reason") or "deviance explained is not a number", **outputs)
        return
    frame = pl.read_parquet(fitted)
    x, y, yhat = (frame[c].to_numpy() for c in ("anchor", "score", "fitted"))
    residual = y - yhat
    ep, trep = cep.trep_cells(y, yhat, record["deviance_explained"])
    ip, reason = locate_ip(x, residual, trep, study)
    if ip is None:
        _no_power(group, patient, record, reason, **outputs)
        return
    found = not np.isnan(ip["ip"])
    post = x > ip["ip"] if found else np.zeros(x.size, dtype=bool)
    summary = {"group": group, "patient": patient, "n_cells": int(x.size), "deviance_explained": record["deviance_explained"],
               "k": record["k"], "lam": record["lam"], "n_trep": int(trep.sum()), **ip, "reason": ""}
    transition = locate_transition(x, y, k=record["k"], lam=record["lam"], settings=study["transition"],
                                   seed=name_seed(study["transition"]["seed"], group, patient))
    summary |= transition | {"ip_calibrated_minus_mean_crossing":
                             transition["ip_calibrated"] - cep.mean_crossing(x, yhat, float(y.mean()))}
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
                            k_max=study["gam"]["k_max"], lam_grid=lam_grid(study),
                            features=patient_features(features, frame["cell"]), classifier_c=study["cv"]["classifier"]["c"])
    write_table(cells, cells_out, schema=CELL_SCHEMA)
    write_table(cv.with_columns(pl.lit(group).alias("group"), pl.lit(patient).alias("patient")), cv_out,
                schema={**cep.CV_SCHEMA, "group": pl.String, "patient": pl.String})
    _write_json(summary, summary_out)
