"""Average effect on the treated (ATT) of a chat: propensity scores, matching, IPW, doubly robust.

Documented choices (the estimators are written here, in numpy, and tested against statsmodels):

* Propensity: logistic regression (maximum likelihood by Newton's method, unpenalised) of chat
  uptake on the standardised covariates.
* Matching: 1:1 nearest neighbour on the logit of the propensity score with a caliper of
  ``caliper_sd`` times the pooled standard deviation of that logit, sqrt((s_t^2 + s_c^2) / 2)
  (Rosenbaum & Rubin 1985; Austin 2011 recommends 0.2; not the whole sample's SD), with or without
  replacement; without replacement, treated users are matched greedily from the highest propensity
  down (MatchIt's ``m.order = "largest"``). Treated users with no control inside the caliper are
  dropped, and the table says how many were kept.
* IPW: ATT weights (1 for the treated, e/(1-e) for controls), normalised within each group (Hajek).
* Doubly robust: the augmented IPW estimator of the ATT: an outcome model fitted by OLS on the
  controls, and the odds-weighted mean of the controls' residuals subtracted from the treated's
  (consistent when either the propensity or the outcome model is right).
* Intervals: percentile bootstrap over users, stratified by treatment, refitting the propensity in
  every draw. For matching with replacement the bootstrap is known to be inexact (Abadie & Imbens
  2008); the replicate cohorts measure the coverage it actually has.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

METHODS = ("naive", "matching_replace", "matching_no_replace", "ipw", "doubly_robust")
ATT_SCHEMA = {
    "outcome": pl.String, "method": pl.String, "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
    "se_boot": pl.Float64, "treated_used": pl.Int64, "controls_used": pl.Int64, "caliper": pl.String,
}
BALANCE_SCHEMA = {
    "covariate": pl.String, "sample": pl.String, "mean_treated": pl.Float64, "mean_control": pl.Float64,
    "smd": pl.Float64,
}


class CausalInputError(ValueError):
    """An array given to the ATT estimators has the wrong type, length or an empty group."""


def check_treated(treated, *, n: int | None = None, name: str = "treated") -> np.ndarray:
    """``treated`` as a boolean mask, checked: boolean dtype (``~`` on a 0/1 integer array gives
    -1/-2, which silently selects the wrong rows), the expected length, and both groups present.
    """
    mask = np.asarray(treated)
    if mask.dtype != bool:
        raise CausalInputError(f"{name} must be a boolean array (True = had a chat), got dtype {mask.dtype}; "
                               "convert a 0/1 column with `== 1`")
    if mask.ndim != 1 or (n is not None and mask.size != n):
        raise CausalInputError(f"{name} must be a 1-D array of {n} values, got shape {mask.shape}")
    if mask.all() or not mask.any():
        raise CausalInputError(f"{name} has no {'control' if mask.all() else 'treated'} unit: both groups are needed")
    return mask


def pooled_sd(score: np.ndarray, treated: np.ndarray) -> float:
    """sqrt((s_t^2 + s_c^2) / 2): the pooled SD of a score across the two groups (the caliper's unit)."""
    return float(np.sqrt((score[treated].var(ddof=1) + score[~treated].var(ddof=1)) / 2))


def logistic_fit(design: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10) -> np.ndarray:
    """Maximum-likelihood logistic regression coefficients (``design`` holds the intercept column)."""
    beta = np.zeros(design.shape[1])
    for _ in range(max_iter):
        p = 1 / (1 + np.exp(-design @ beta))
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        step = np.linalg.solve(hessian, design.T @ (y - p))
        beta += step
        if np.max(np.abs(step)) < tol:
            return beta
    raise RuntimeError(f"logistic regression did not converge in {max_iter} Newton steps (separation?)")


def propensity_scores(covariates: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """P(treated | covariates) from a logistic regression on the standardised covariates."""
    covariates = np.asarray(covariates, dtype=float)
    treated = check_treated(treated, n=covariates.shape[0])
    sd = covariates.std(axis=0)
    scaled = (covariates - covariates.mean(axis=0)) / np.where(sd > 0, sd, 1)
    design = np.column_stack([np.ones(len(treated)), scaled])
    return 1 / (1 + np.exp(-design @ logistic_fit(design, treated.astype(float))))


def match_pairs(score: np.ndarray, treated: np.ndarray, *, caliper: float, replace: bool) -> tuple[np.ndarray, np.ndarray]:
    """1:1 nearest-neighbour pairs on ``score`` within ``caliper`` (same units as the score).

    Returns the indices of the matched treated units and of their controls (a control appears once
    per treated unit it serves when ``replace``). Ties go to the control of lower score.
    """
    score = np.asarray(score, dtype=float)
    treated = check_treated(treated, n=score.size)
    treated_index = np.flatnonzero(treated)
    controls = np.flatnonzero(~treated)
    controls = controls[np.argsort(score[controls], kind="stable")]
    control_scores = score[controls]
    if replace:
        position = np.searchsorted(control_scores, score[treated_index])
        below = np.clip(position - 1, 0, controls.size - 1)
        above = np.clip(position, 0, controls.size - 1)
        take_above = np.abs(control_scores[above] - score[treated_index]) < np.abs(control_scores[below] - score[treated_index])
        chosen = np.where(take_above, above, below)
        keep = np.abs(control_scores[chosen] - score[treated_index]) <= caliper
        return treated_index[keep], controls[chosen[keep]]
    available_scores, available = list(control_scores), list(controls)
    pairs_t, pairs_c = [], []
    for unit in treated_index[np.argsort(-score[treated_index], kind="stable")]:
        if not available:
            break
        position = bisect.bisect_left(available_scores, score[unit])
        candidates = [i for i in (position - 1, position) if 0 <= i < len(available)]
        best = min(candidates, key=lambda i: (abs(available_scores[i] - score[unit]), i))
        if abs(available_scores[best] - score[unit]) <= caliper:
            pairs_t.append(unit)
            pairs_c.append(available.pop(best))
            available_scores.pop(best)
    return np.array(pairs_t, dtype=np.int64), np.array(pairs_c, dtype=np.int64)


def standardised_differences(covariates: np.ndarray, treated_rows: np.ndarray, control_rows: np.ndarray,
                             *, treated_sd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Means of the treated and control rows (repeats count) and their difference in treated SDs."""
    mean_t, mean_c = covariates[treated_rows].mean(axis=0), covariates[control_rows].mean(axis=0)
    return mean_t, mean_c, (mean_t - mean_c) / np.where(treated_sd > 0, treated_sd, 1)


def balance_table(covariates: np.ndarray, names: Sequence[str], treated: np.ndarray, *, caliper_sd: float) -> pl.DataFrame:
    """Standardised mean differences before matching and after each kind of matching.

    The SD is the treated group's before matching (the ATT convention of MatchIt and cobalt), so
    every sample is measured on one scale.
    """
    covariates = np.asarray(covariates, dtype=float)
    treated = check_treated(treated, n=covariates.shape[0])
    score = _logit(propensity_scores(covariates, treated))
    treated_sd = covariates[treated].std(axis=0, ddof=1)
    samples = {"before matching": (np.flatnonzero(treated), np.flatnonzero(~treated))}
    for replace in (True, False):
        samples[f"matched ({'with' if replace else 'without'} replacement)"] = match_pairs(
            score, treated, caliper=caliper_sd * pooled_sd(score, treated), replace=replace)
    ps = _logit_to_p(score)
    weights = np.where(treated, 1.0, ps / (1 - ps))
    rows = []
    for sample, (t_rows, c_rows) in samples.items():
        mean_t, mean_c, smd = standardised_differences(covariates, t_rows, c_rows, treated_sd=treated_sd)
        rows += [{"covariate": n, "sample": sample, "mean_treated": float(a), "mean_control": float(b), "smd": float(d)}
                 for n, a, b, d in zip(names, mean_t, mean_c, smd, strict=True)]
    control = ~treated
    weighted_c = (covariates[control] * weights[control, None]).sum(axis=0) / weights[control].sum()
    mean_t = covariates[treated].mean(axis=0)
    rows += [{"covariate": n, "sample": "IPW (ATT weights)", "mean_treated": float(a), "mean_control": float(b),
              "smd": float((a - b) / (s if s > 0 else 1))} for n, a, b, s in zip(names, mean_t, weighted_c, treated_sd, strict=True)]
    return pl.DataFrame(rows, schema=BALANCE_SCHEMA)


def att_ipw(y: np.ndarray, treated: np.ndarray, propensity: np.ndarray) -> float:
    """ATT by inverse-probability weighting: treated mean minus the odds-weighted control mean."""
    odds = propensity[~treated] / (1 - propensity[~treated])
    return float(y[treated].mean() - np.sum(odds * y[~treated]) / odds.sum())


def att_doubly_robust(y: np.ndarray, treated: np.ndarray, propensity: np.ndarray, covariates: np.ndarray) -> float:
    """Augmented IPW estimate of the ATT with an OLS outcome model fitted on the controls."""
    design = np.column_stack([np.ones(len(y)), covariates])
    coef = np.linalg.lstsq(design[~treated], y[~treated], rcond=None)[0]
    residual = y - design @ coef
    odds = propensity[~treated] / (1 - propensity[~treated])
    return float(residual[treated].mean() - np.sum(odds * residual[~treated]) / odds.sum())


def att_estimates(outcomes: Mapping[str, np.ndarray], treated: np.ndarray, covariates: np.ndarray, *,
                  caliper_sd: float) -> tuple[dict[tuple[str, str], float], dict[str, tuple[int, int]]]:
    """Every method's ATT for every outcome on one sample, and the units each method used."""
    propensity = propensity_scores(covariates, treated)
    score = _logit(propensity)
    pairs = {replace: match_pairs(score, treated, caliper=caliper_sd * pooled_sd(score, treated), replace=replace)
             for replace in (True, False)}
    estimates = {}
    for name, y in outcomes.items():
        estimates[name, "naive"] = float(y[treated].mean() - y[~treated].mean())
        for replace, (t_rows, c_rows) in pairs.items():
            method = "matching_replace" if replace else "matching_no_replace"
            estimates[name, method] = float(np.mean(y[t_rows] - y[c_rows])) if t_rows.size else float("nan")
        estimates[name, "ipw"] = att_ipw(y, treated, propensity)
        estimates[name, "doubly_robust"] = att_doubly_robust(y, treated, propensity, covariates)
    n_t, n_c = int(treated.sum()), int((~treated).sum())
    used = {"naive": (n_t, n_c), "ipw": (n_t, n_c), "doubly_robust": (n_t, n_c)}
    for replace, (t_rows, c_rows) in pairs.items():
        used["matching_replace" if replace else "matching_no_replace"] = (t_rows.size, np.unique(c_rows).size)
    return estimates, used


def att_table(outcomes: Mapping[str, np.ndarray], treated: np.ndarray, covariates: np.ndarray, *,
              caliper_sd: float, n_boot: int, seed: int, level: float = 0.95) -> pl.DataFrame:
    """ATT of every method on every outcome with percentile bootstrap intervals.

    Parameters
    ----------
    outcomes
        Outcome name -> per-user change (follow-up minus baseline).
    treated
        Boolean: the user had a chat.
    covariates
        Users x confounders (the propensity and outcome models use them all).
    caliper_sd
        Matching caliper in pooled SDs of the logit propensity (sqrt((s_t^2 + s_c^2) / 2)).
    n_boot, seed
        Bootstrap draws (users resampled within each treatment group) and their seed.
    """
    covariates = np.asarray(covariates, dtype=float)
    treated = check_treated(treated, n=covariates.shape[0])
    for name, y in outcomes.items():
        if np.asarray(y).shape != (covariates.shape[0],):
            raise CausalInputError(f"outcome {name!r} has shape {np.asarray(y).shape}; expected ({covariates.shape[0]},)")
    point, used = att_estimates(outcomes, treated, covariates, caliper_sd=caliper_sd)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(treated), np.flatnonzero(~treated)]
    draws = {key: [] for key in point}
    for _ in range(n_boot):
        rows = np.concatenate([rng.choice(g, g.size) for g in groups])
        sample, _ = att_estimates({k: v[rows] for k, v in outcomes.items()}, treated[rows], covariates[rows],
                                  caliper_sd=caliper_sd)
        for key, value in sample.items():
            draws[key].append(value)
    tail = (1 - level) / 2
    score = _logit(propensity_scores(covariates, treated))
    caliper = (f"{caliper_sd:g} x pooled SD of the logit propensity, sqrt((s_t^2 + s_c^2)/2) = "
               f"{caliper_sd * pooled_sd(score, treated):.3f}")
    records = []
    for (outcome, method), estimate in point.items():
        values = np.array(draws[outcome, method])
        records.append({
            "outcome": outcome, "method": method, "estimate": estimate,
            "ci_low": float(np.nanquantile(values, tail)) if n_boot else float("nan"),
            "ci_high": float(np.nanquantile(values, 1 - tail)) if n_boot else float("nan"),
            "se_boot": float(np.nanstd(values, ddof=1)) if n_boot > 1 else float("nan"),
            "treated_used": used[method][0], "controls_used": used[method][1],
            "caliper": caliper if method.startswith("matching") else "",
        })
    return pl.DataFrame(records, schema=ATT_SCHEMA)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def _logit_to_p(score: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-score))
