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
from replisuite.stats import name_seed, wilson_interval
from replisuite.tables import write_table
from replisuite.singlecell.features import pca_scores
from replisuite.trpm4.fits import lam_grid, locate_ip, locate_transition

COHORT = CohortSpec()  # the cohort simulator's defaults
SCENARIOS = ("planted", "planted_shifted", "no_subpopulation", "no_relation", "mixed")
# in a "mixed" cohort each patient is planted or has no subpopulation, decided by its name
MIXED_KINDS = ("planted", "no_subpopulation")
PATIENT_SCHEMA = {
    "scenario": pl.String, "replicate": pl.Int64, "patient": pl.String, "truth": pl.String, "n_cells": pl.Int64,
    "deviance_explained": pl.Float64, "n_trep": pl.Int64, "planted_ip": pl.Float64, "mean_crossing": pl.Float64,
    "trivial_guess": pl.Float64, "ip": pl.Float64, "ip_low": pl.Float64, "ip_high": pl.Float64,
    "residual_p": pl.Float64, "ip_gated": pl.Float64, "ip_covers_planted": pl.Boolean,
    "cv_effect": pl.Float64, "cv_p": pl.Float64, "cv_significant": pl.Boolean,
    "cv_corrected_effect": pl.Float64, "cv_corrected_p": pl.Float64, "cv_corrected_significant": pl.Boolean,
    "cv_corrected_plain_p": pl.Float64, "cv_corrected_plain_significant": pl.Boolean,
    "cv_corrected_pooled_p": pl.Float64, "cv_corrected_pooled_significant": pl.Boolean,
    "ip_calibrated": pl.Float64, "ip_calibrated_low": pl.Float64, "ip_calibrated_high": pl.Float64,
    "ip_location": pl.Float64, "transition_p": pl.Float64, "ip_calibrated_covers_planted": pl.Boolean,
    "transition_reason": pl.String, "reason": pl.String,
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
        crossing = cep.mean_crossing(x, curve, float(curve.mean()))
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


def calibrate_patient(x: np.ndarray, y: np.ndarray, *, planted_ip: float, study: Mapping[str, Any],
                      seed: int, features: np.ndarray | None = None,
                      pooled_features: np.ndarray | None = None) -> dict[str, Any]:
    """The study's steps on one patient and what they report (see the module docstring).

    ``study`` holds the method's settings as the study config names them: ``gam``, ``ip``
    (``smooth_alpha`` included), ``transition`` and ``cv`` (``repeats``, ``train_fraction``,
    ``classifier.c``). With ``features`` (the patient's own expression components) the corrected
    CV (`cep.classifier_ranking`) runs beside the published one; with ``pooled_features``
    (components computed over the whole cohort, as the study did before) it runs once more on
    those, to measure how much other patients move this patient's verdict. A patient the method
    cannot handle (too few anchor values, too few TREP cells) gets a row with its ``reason``.
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
               mean_crossing=cep.mean_crossing(x, fitted, float(y.mean())))
    cv_settings = study["cv"]

    def validate(with_features):
        return cep.cross_validate(x, y, k=fit.k, lam=fit.lam, repeats=cv_settings["repeats"],
                                  train_fraction=cv_settings["train_fraction"], seed=seed, selections=("patient",),
                                  features=with_features, classifier_c=cv_settings["classifier"]["c"])

    cv = validate(features)
    row.update({f"cv_{key}": value for key, value in _versus_random(cv, "explanatory_power").items()})
    if features is not None:
        row.update({f"cv_corrected_{key}": value
                    for key, value in _versus_random(cv, "classifier", train_fraction=cv_settings["train_fraction"]).items()})
        row.update({f"cv_corrected_plain_{key}": value for key, value in _versus_random(cv, "classifier").items()
                    if key != "effect"})
    if pooled_features is not None:
        pooled = _versus_random(validate(pooled_features), "classifier", train_fraction=cv_settings["train_fraction"])
        row.update(cv_corrected_pooled_p=pooled["p"], cv_corrected_pooled_significant=pooled["significant"])
    transition = locate_transition(x, y, k=fit.k, lam=fit.lam, settings=study["transition"], seed=seed)
    row.update({key: transition[key] for key in ("ip_calibrated", "ip_calibrated_low", "ip_calibrated_high",
                                                 "ip_location", "transition_p", "transition_reason")})
    if not np.isnan(planted_ip) and not np.isnan(transition["ip_calibrated"]):
        row["ip_calibrated_covers_planted"] = bool(transition["ip_calibrated_low"] <= planted_ip
                                                   <= transition["ip_calibrated_high"])
    ip, reason = locate_ip(x, y - fitted, trep, study)
    if ip is None:
        return {**row, "reason": reason}
    covers = bool(ip["ip_low"] <= planted_ip <= ip["ip_high"]) if not np.isnan(planted_ip) and not np.isnan(ip["ip"]) else None
    row.update({key: ip[key] for key in ("ip", "ip_low", "ip_high", "residual_p", "ip_gated")}, ip_covers_planted=covers)
    return row


def _versus_random(cv: pl.DataFrame, method: str, *, train_fraction: float | None = None) -> dict[str, Any]:
    """Whether ``method``'s RMSE(non-TREP) - RMSE(TREP) is above the random control's, repeat by
    repeat, one-sided: the published test (`cep.one_sample_test`), or with ``train_fraction`` the
    corrected resampled t-test (`cep.corrected_cv_test`).
    """
    gain = (cv.filter(pl.col("method") == method)["difference"].to_numpy()
            - cv.filter(pl.col("method") == "random")["difference"].to_numpy())
    test = cep.one_sample_test(gain) if train_fraction is None else cep.corrected_cv_test(gain, train_fraction=train_fraction)
    return {"effect": test["mean"], "p": test["p_value"], "significant": bool(test["p_value"] < 0.05)}


def patient_kind(scenario: str, patient: str, *, seed: int) -> str:
    """What a patient of ``scenario`` is simulated as: the scenario itself, or in a ``mixed``
    cohort planted or without a subpopulation, decided by the patient's name (not its position).
    """
    return MIXED_KINDS[name_seed(seed, "mixed", patient) % 2] if scenario == "mixed" else scenario


def calibrate(scenario: str, replicate: int, *, patients: Sequence[str], n_cells: int, seed: int,
              study: Mapping[str, Any]) -> pl.DataFrame:
    """Every patient of one scenario replicate; seeds derive from (seed, scenario, replicate, patient).

    Each patient's classifier features are the principal components of its own gene panel (as the
    study computes them, within a patient); in a ``mixed`` cohort the corrected CV also runs on
    components computed over every patient of the replicate (``cv_corrected_pooled_*``).
    """
    components = study["cv"]["classifier"]["components"]
    simulated = {}
    for patient in patients:
        patient_seed = name_seed(seed, scenario, str(replicate), patient)
        kind = patient_kind(scenario, patient, seed=seed)
        simulated[patient] = (patient_seed, kind, simulate_scores(kind, n_cells=n_cells, seed=patient_seed))
    pooled = {}
    if scenario == "mixed":
        panels = [data["features"] for _, _, data in simulated.values()]
        scores = pca_scores(np.vstack(panels), n_components=components)
        pooled = dict(zip(simulated, np.split(scores, np.cumsum([len(p) for p in panels])[:-1]), strict=True))
    rows = []
    for patient, (patient_seed, kind, data) in simulated.items():
        row = calibrate_patient(data["x"], data["y"], planted_ip=data["planted_ip"], study=study, seed=patient_seed,
                                features=pca_scores(data["features"], n_components=components),
                                pooled_features=pooled.get(patient))
        rows.append({"scenario": scenario, "replicate": replicate, "patient": patient, "truth": kind, **row})
    return pl.DataFrame(rows, schema=PATIENT_SCHEMA, strict=False)


# rates shown with their Wilson interval: column -> the flag it counts over every simulated patient
RATE_FLAGS = {
    "cv_significant_rate": pl.col("cv_significant").fill_null(False),
    "cv_corrected_plain_significant_rate": pl.col("cv_corrected_plain_significant").fill_null(False),
    "cv_corrected_significant_rate": pl.col("cv_corrected_significant").fill_null(False),
    "ip_reported_rate": pl.col("ip").fill_nan(None).is_not_null(),
    "ip_reported_rate_gated": pl.col("ip_gated").fill_nan(None).is_not_null(),
    "ip_calibrated_reported_rate": pl.col("ip_calibrated").fill_nan(None).is_not_null(),
}


def calibration_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Per scenario and simulated truth (a ``mixed`` cohort has both): how often CV is "significant"
    (published; corrected before and after the resampled-t correction; corrected with cohort-wide
    components) and an IP is reported (published, gated, calibrated), each rate over every simulated
    patient with its Wilson interval (a failed fit counts as not reported); where the IPs lie
    relative to the mean crossing and the planted IP, interval coverage, and the trivial guess's
    error beside them. A calibrated IP missing where one was planted counts as an infinite error
    in its median, so misses cannot flatter it.
    """
    usable = pl.col("reason") == ""
    calibrated = pl.col("ip_calibrated").fill_nan(None)
    table = (
        rows.group_by("scenario", "truth", maintain_order=True)
        .agg(
            pl.len().alias("patients"),
            usable.sum().alias("usable"),
            pl.col("deviance_explained").mean().alias("mean_deviance_explained"),
            pl.col("n_trep").mean().alias("mean_n_trep"),
            *(flag.sum().alias(f"{name}_count") for name, flag in RATE_FLAGS.items()),
            pl.col("cv_corrected_pooled_significant").mean().alias("cv_corrected_pooled_significant_rate"),
            (pl.col("cv_corrected_pooled_significant") != pl.col("cv_corrected_significant")).mean()
            .alias("cv_corrected_verdicts_moved_by_pooling"),
            (pl.col("ip") - pl.col("mean_crossing")).filter(pl.col("ip").is_not_nan()).median().alias("median_ip_minus_mean_crossing"),
            (pl.col("ip") - pl.col("planted_ip")).filter(pl.col("ip").is_not_nan()).median().alias("median_ip_minus_planted"),
            (pl.col("ip") - pl.col("planted_ip")).abs().filter(pl.col("ip").is_not_nan()).median().alias("median_abs_ip_error"),
            (calibrated - pl.col("planted_ip")).abs().fill_null(float("inf")).median().alias("median_abs_ip_calibrated_error"),
            (calibrated - pl.col("mean_crossing")).median().alias("median_ip_calibrated_minus_mean_crossing"),
            (pl.col("trivial_guess") - pl.col("planted_ip")).abs().median().alias("median_abs_trivial_error"),
            (pl.col("mean_crossing") - pl.col("planted_ip")).abs().median().alias("median_abs_mean_crossing_error"),
            pl.col("ip_covers_planted").mean().alias("interval_coverage"),
            pl.col("ip_calibrated_covers_planted").fill_null(False).filter(pl.col("planted_ip").is_not_nan())
            .mean().alias("ip_calibrated_interval_coverage"),
        )
    )
    for name in RATE_FLAGS:
        counts = table[f"{name}_count"].to_list()
        intervals = [wilson_interval(int(k), int(n)) for k, n in zip(counts, table["patients"].to_list(), strict=True)]
        table = table.with_columns(*(pl.Series(f"{name}{suffix}", [interval[i] for interval in intervals], dtype=pl.Float64)
                                     for i, suffix in enumerate(("", "_low", "_high"))))
    planted_rows = pl.col("truth").is_in(["planted", "planted_shifted"])
    return (table.drop(f"{name}_count" for name in RATE_FLAGS)
            .with_columns(pl.when(planted_rows).then(pl.col("median_abs_ip_calibrated_error")).otherwise(None),
                          pl.when(planted_rows).then(pl.col("ip_calibrated_interval_coverage")).otherwise(None))
            .with_columns(pl.col(pl.Float64).fill_nan(None)))


def run_shard(study: Mapping[str, Any], scenario: str, shard: int, *, out: str) -> None:
    """One shard of a scenario's replicates (the workflow's job): replicates ``shard``,
    ``shard + shards``, ...; a row per simulated patient. Seeds derive from the scenario, replicate
    and patient, so the rows do not depend on the sharding.
    """
    settings = study["calibration"]
    patients = [f"S{i + 1}" for i in range(settings["patients"])]
    replicates = range(settings["replicates"])[shard::settings["shards"]]
    rows = [calibrate(scenario, replicate, patients=patients, n_cells=settings["cells"], seed=settings["seed"], study=study)
            for replicate in replicates]
    write_table(pl.concat(rows) if rows else pl.DataFrame(schema=PATIENT_SCHEMA), out, schema=PATIENT_SCHEMA)
