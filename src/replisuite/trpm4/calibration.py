"""How CEP-IP behaves when there is nothing to find: the method on simulated scenarios with a known answer.

Each scenario simulates, per patient, an anchor (log2 of log-normalised UMI expression + 1, with
undetected cells at 0, as the cohort simulator draws it) and a focus score:

* ``planted``: the cohort simulator's model: a smooth curve ``m(a)``; a planted fraction of cells
  follows it closely plus ``delta * tanh((a - ip) / width)`` (a sign change at the planted IP),
  the other cells scatter widely;
* ``planted_shifted``: the same with the planted IP moved far from the anchor value where the
  curve crosses the mean score (the "mean crossing"), so an IP near the mean crossing and an
  IP near the planted one can be told apart;
* ``no_subpopulation``: ``m(a)`` plus homoscedastic noise: no subpopulation, no sign change;
* ``no_relation``: the score does not depend on the anchor.

Every scenario also draws a small gene panel outside the score set: programme genes up-regulated
(by the cohort simulator's fold) in a ``planted_fraction`` of cells, one programme before and one
after the split, and background genes. Under ``planted`` and ``planted_shifted`` those cells are
the planted ones and the split is the planted IP; under the nulls they are a random subpopulation
split at the median detected anchor, so expression has structure that has nothing to do with the
score (a gene-level null for the corrected CV).

`calibrate_patient` runs the study's own steps on one patient (GAM, EP, TREP, the IP with its
interval, Monte Carlo CV as published and corrected) and records what a reader needs to judge them: whether
CV calls the TREP cells "significant", whether an IP is reported (as published, and only when
the residual smooth is significant), its distance to the mean crossing and to the planted IP,
interval coverage, and the trivial guess (the median detected anchor) beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.singlecell import cep
from replisuite.singlecell.gam import TooFewAnchorValuesError, fit_anchor_gam
from replisuite.singlecell.simulate import CohortSpec, _curve, _nb
from replisuite.stats import name_seed
from replisuite.tables import write_table
from replisuite.trpm4.fits import lam_grid, locate_ip

COHORT = CohortSpec()  # the cohort simulator's defaults
SCENARIOS = ("planted", "planted_shifted", "no_subpopulation", "no_relation")
PATIENT_SCHEMA = {
    "scenario": pl.String, "replicate": pl.Int64, "patient": pl.String, "n_cells": pl.Int64,
    "deviance_explained": pl.Float64, "n_trep": pl.Int64, "planted_ip": pl.Float64, "mean_crossing": pl.Float64,
    "trivial_guess": pl.Float64, "ip": pl.Float64, "ip_low": pl.Float64, "ip_high": pl.Float64,
    "residual_p": pl.Float64, "ip_gated": pl.Float64, "ip_covers_planted": pl.Boolean,
    "cv_effect": pl.Float64, "cv_p": pl.Float64, "cv_significant": pl.Boolean,
    "cv_corrected_effect": pl.Float64, "cv_corrected_p": pl.Float64, "cv_corrected_significant": pl.Boolean,
    "reason": pl.String,
}
# genes of the expression panel: a programme up before the split, one after it, and background
PANEL = {"pre": 20, "post": 20, "background": 40}
PANEL_PER_10K = 2.0


def simulate_scores(scenario: str, *, n_cells: int, seed: int, null_noise: float = 0.05,
                    spec: CohortSpec = COHORT) -> dict[str, Any]:
    """One patient's anchor ``x`` and score ``y`` under ``scenario``, with the planted IP (NaN
    under the nulls) and the noiseless curve. Library sizes, anchor depth (the first condition's),
    planted fraction, offset and noise are the cohort simulator's (``spec``); ``null_noise`` is
    the homoscedastic noise of ``no_subpopulation`` and ``no_relation``. ``features`` is the
    log-normalised gene panel (cells x `PANEL` genes; see the module docstring).
    """
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown calibration scenario {scenario!r}; expected one of {list(SCENARIOS)}")
    rng = np.random.default_rng(seed)
    library = np.exp(rng.normal(spec.library_log_mean, spec.library_log_sd, n_cells))
    depth = next(iter(spec.anchor_per_10k.values()))
    counts = _nb(rng, np.exp(rng.normal(np.log(depth), 1.0, n_cells)) * library / 1e4, spec.dispersion)
    x = np.log2(np.log1p(1e4 * counts / library) + 1)
    base, amplitude = rng.uniform(2.2, 2.3), rng.uniform(0.35, 0.45)
    scale = rng.uniform(0.8, 1.2) * float(np.quantile(x, 0.9))
    curve = _curve(x, base=base, amplitude=amplitude, scale=scale)
    detected = x[x > 0]
    planted_ip = float("nan")
    if scenario == "no_relation":
        y = base + rng.normal(0, null_noise, n_cells)
    elif scenario == "no_subpopulation":
        y = curve + rng.normal(0, null_noise, n_cells)
    else:
        crossing = mean_crossing(x, curve, float(curve.mean()))
        if scenario == "planted":
            planted_ip = float(rng.uniform(*np.quantile(x, spec.ip_quantiles)))
        else:  # as far from the mean crossing as the detected anchor's 15-85% range allows
            low, high = np.quantile(detected, (0.15, 0.85))
            planted_ip = float(high if abs(high - crossing) >= abs(low - crossing) else low)
        width = max(float(np.std(x)) / 2, 1e-3)
        chosen = rng.random(n_cells) < spec.planted_fraction
        offset = np.where(chosen, spec.planted_delta * np.tanh((x - planted_ip) / width), 0.0)
        noise = np.where(chosen, rng.normal(0, spec.planted_noise, n_cells), rng.normal(0, spec.background_noise, n_cells))
        y = curve + offset + noise
    if np.isnan(planted_ip):  # drawn after the score so the nulls' anchor and score do not depend on the panel
        chosen, split = rng.random(n_cells) < spec.planted_fraction, cep.median_detected(x)
    else:
        split = planted_ip
    features = gene_panel(rng, library, chosen, x > split, fold=spec.programme_fold, dispersion=spec.dispersion)
    return {"x": x, "y": y, "planted_ip": planted_ip, "curve": curve, "features": features}


def gene_panel(rng, library: np.ndarray, marked: np.ndarray, post: np.ndarray, *, fold: float,
               dispersion: float) -> np.ndarray:
    """Log-normalised counts of `PANEL`'s genes: the "pre" programme ``fold`` up in marked cells at
    or before the split, the "post" programme in marked cells after it, background genes flat.
    """
    proportion = np.exp(rng.normal(np.log(PANEL_PER_10K / 1e4), 0.5, sum(PANEL.values())))
    up = np.ones((library.size, proportion.size))
    up[np.ix_(marked & ~post, np.arange(PANEL["pre"]))] = fold
    up[np.ix_(marked & post, PANEL["pre"] + np.arange(PANEL["post"]))] = fold
    counts = _nb(rng, np.outer(library, proportion) * up, dispersion)
    return np.log1p(1e4 * counts / library[:, None])


def mean_crossing(x: np.ndarray, fitted: np.ndarray, mean: float, *, grid_points: int = 2000) -> float:
    """The detected anchor value where the fitted curve first crosses the mean score (NaN if never).

    Interpolated on a grid over the detected cells, from the fit's values at the cells (sorted by anchor).
    """
    support = x > 0 if (x > 0).sum() >= 2 else np.ones(x.size, dtype=bool)
    order = np.argsort(x[support], kind="stable")
    xs, fs = x[support][order], fitted[support][order]
    grid = np.linspace(xs[0], xs[-1], grid_points)
    curve = np.interp(grid, *_unique_mean(xs, fs)) - mean
    sign_change = np.flatnonzero(np.sign(curve[:-1]) * np.sign(curve[1:]) < 0)
    if not sign_change.size:
        return float("nan")
    at = sign_change[0]
    return float(grid[at] + (grid[at + 1] - grid[at]) * (-curve[at] / (curve[at + 1] - curve[at])))


def _unique_mean(xs: np.ndarray, fs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, inverse = np.unique(xs, return_inverse=True)
    return unique, np.bincount(inverse, weights=fs) / np.bincount(inverse)


def calibrate_patient(x: np.ndarray, y: np.ndarray, *, planted_ip: float, study: Mapping[str, Any],
                      seed: int, features: np.ndarray | None = None) -> dict[str, Any]:
    """The study's steps on one patient and what they report (see the module docstring).

    ``study`` holds the method's settings as the study config names them: ``gam``, ``ip``
    (``smooth_alpha`` included) and ``cv`` (``repeats``, ``train_fraction``, ``classifier.c``).
    With ``features`` the corrected CV (`cep.classifier_ranking`) runs beside the published one.
    A patient the method cannot handle (too few anchor values, too few TREP cells) gets a row
    with its ``reason``.
    """
    row: dict[str, Any] = {"n_cells": int(x.size), "planted_ip": planted_ip, "trivial_guess": cep.median_detected(x),
                           "reason": ""}
    try:
        gam, fit = fit_anchor_gam(x, y, k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    except TooFewAnchorValuesError as error:
        return {**row, "reason": str(error)}
    fitted = gam.predict(x[:, None])
    _, trep = cep.trep_cells(y, fitted, fit.deviance_explained)
    row.update(deviance_explained=fit.deviance_explained, n_trep=int(trep.sum()),
               mean_crossing=mean_crossing(x, fitted, float(y.mean())))
    cv = cep.cross_validate(x, y, k=fit.k, lam=fit.lam, repeats=study["cv"]["repeats"],
                            train_fraction=study["cv"]["train_fraction"], seed=seed, selections=("patient",),
                            features=features, classifier_c=study["cv"]["classifier"]["c"] if features is not None else 1.0)
    for method, prefix in (("explanatory_power", "cv"), ("classifier", "cv_corrected")):
        if method in set(cv["method"]):
            row.update({f"{prefix}_{key}": value for key, value in _versus_random(cv, method).items()})
    ip, reason = locate_ip(x, y - fitted, trep, study)
    if ip is None:
        return {**row, "reason": reason}
    covers = bool(ip["ip_low"] <= planted_ip <= ip["ip_high"]) if not np.isnan(planted_ip) and not np.isnan(ip["ip"]) else None
    row.update({key: ip[key] for key in ("ip", "ip_low", "ip_high", "residual_p", "ip_gated")}, ip_covers_planted=covers)
    return row


def _versus_random(cv: pl.DataFrame, method: str) -> dict[str, Any]:
    """Whether ``method``'s RMSE(non-TREP) - RMSE(TREP) is above the random control's, repeat by repeat."""
    gain = (cv.filter(pl.col("method") == method)["difference"].to_numpy()
            - cv.filter(pl.col("method") == "random")["difference"].to_numpy())
    test = cep.one_sample_test(gain)
    return {"effect": test["mean"], "p": test["p_value"], "significant": bool(test["p_value"] < 0.05 and test["mean"] > 0)}


def calibrate(scenario: str, replicate: int, *, patients: Sequence[str], n_cells: int, seed: int,
              study: Mapping[str, Any]) -> pl.DataFrame:
    """Every patient of one scenario replicate; seeds derive from (seed, scenario, replicate, patient)."""
    rows = []
    for patient in patients:
        patient_seed = name_seed(seed, scenario, str(replicate), patient)
        data = simulate_scores(scenario, n_cells=n_cells, seed=patient_seed)
        row = calibrate_patient(data["x"], data["y"], planted_ip=data["planted_ip"], study=study, seed=patient_seed,
                                features=data["features"])
        rows.append({"scenario": scenario, "replicate": replicate, "patient": patient, **row})
    return pl.DataFrame(rows, schema=PATIENT_SCHEMA, strict=False)


def calibration_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Per scenario: how often CV is "significant" and an IP is reported (published and gated),
    where the IP lies relative to the mean crossing and the planted IP, interval coverage, and
    the trivial guess's error beside the IP's.
    """
    usable = pl.col("reason") == ""
    return (
        rows.group_by("scenario", maintain_order=True)
        .agg(
            pl.len().alias("patients"),
            usable.sum().alias("usable"),
            pl.col("deviance_explained").mean().alias("mean_deviance_explained"),
            pl.col("n_trep").mean().alias("mean_n_trep"),
            pl.col("cv_significant").mean().alias("cv_significant_rate"),
            pl.col("cv_corrected_significant").mean().alias("cv_corrected_significant_rate"),
            pl.col("ip").is_not_nan().filter(usable).mean().alias("ip_reported_rate"),
            pl.col("ip_gated").is_not_nan().filter(usable).mean().alias("ip_reported_rate_gated"),
            (pl.col("ip") - pl.col("mean_crossing")).filter(pl.col("ip").is_not_nan()).median().alias("median_ip_minus_mean_crossing"),
            (pl.col("ip") - pl.col("planted_ip")).filter(pl.col("ip").is_not_nan()).median().alias("median_ip_minus_planted"),
            (pl.col("ip") - pl.col("planted_ip")).abs().filter(pl.col("ip").is_not_nan()).median().alias("median_abs_ip_error"),
            (pl.col("trivial_guess") - pl.col("planted_ip")).abs().median().alias("median_abs_trivial_error"),
            (pl.col("mean_crossing") - pl.col("planted_ip")).abs().median().alias("median_abs_mean_crossing_error"),
            pl.col("ip_covers_planted").mean().alias("interval_coverage"),
        )
        .with_columns(pl.col(pl.Float64).fill_nan(None))
    )


def run_replicate(study: Mapping[str, Any], scenario: str, replicate: int, *, out: str) -> None:
    """One scenario replicate (the workflow's job): a row per simulated patient."""
    settings = study["calibration"]
    patients = [f"S{i + 1}" for i in range(settings["patients"])]
    rows = calibrate(scenario, replicate, patients=patients, n_cells=settings["cells"], seed=settings["seed"], study=study)
    write_table(rows, out, schema=PATIENT_SCHEMA)
