"""Planted vs estimated over replicate cohorts: bias, RMSE, coverage, and rejections under the null."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

ATT_RECOVERY_SCHEMA = {
    "scenario": pl.String, "outcome": pl.String, "method": pl.String, "replicates": pl.Int64, "mean_truth": pl.Float64,
    "mean_estimate": pl.Float64, "bias": pl.Float64, "rmse": pl.Float64, "coverage": pl.Float64, "rejection_rate": pl.Float64,
}
SKILL_RECOVERY_SCHEMA = {
    "scenario": pl.String, "outcome": pl.String, "skills_from": pl.String, "term": pl.String, "replicates": pl.Int64,
    "planted": pl.Float64, "expected": pl.Float64, "mean_estimate": pl.Float64, "bias": pl.Float64,
    "coverage": pl.Float64, "coverage_expected": pl.Float64, "rejection_rate": pl.Float64,
}


def att_recovery(rows: pl.DataFrame) -> pl.DataFrame:
    """Per scenario, outcome and method: how the ATT estimates and their intervals behaved against
    each replicate's sample ATT (``truth``). ``rejection_rate`` is the share of intervals excluding
    0: power where an effect was planted, the false-positive rate under the null.
    """
    covered = (pl.col("ci_low") <= pl.col("truth")) & (pl.col("truth") <= pl.col("ci_high"))
    rejected = (pl.col("ci_low") > 0) | (pl.col("ci_high") < 0)
    return rows.group_by("scenario", "outcome", "method", maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("replicates"), pl.col("truth").mean().alias("mean_truth"),
        pl.col("estimate").mean().alias("mean_estimate"), (pl.col("estimate") - pl.col("truth")).mean().alias("bias"),
        ((pl.col("estimate") - pl.col("truth")) ** 2).mean().sqrt().alias("rmse"),
        covered.cast(pl.Float64).mean().alias("coverage"), rejected.cast(pl.Float64).mean().alias("rejection_rate"),
    ).sort("scenario", "outcome", "method").select(list(ATT_RECOVERY_SCHEMA))


def skill_recovery(rows: pl.DataFrame, *, expected: pl.DataFrame | None = None, alpha: float = 0.05) -> pl.DataFrame:
    """Per scenario, outcome, rate source and term: estimates against the planted coefficient.

    ``expected`` (scenario, outcome, skills_from, term, expected) is what a regression on the rates
    should converge to (the planted value for annotated rates, the attenuated value for measured
    ones); without it, the planted value. ``coverage`` is how often the interval covers the planted
    value, ``coverage_expected`` the expected one: with classifier-measured rates the estimate is
    attenuated, so only the latter should reach the nominal 95%. A skill counts as rejected when its
    BH-adjusted p is below ``alpha``; the experience term, outside the BH family, by its own p.
    """
    keys = ["scenario", "outcome", "skills_from", "term"]
    if expected is not None:
        rows = rows.join(expected, on=keys, how="left")
    else:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Float64).alias("expected"))
    rows = rows.with_columns(pl.coalesce("expected", "planted").alias("expected"))
    covered = (pl.col("ci_low") <= pl.col("planted")) & (pl.col("planted") <= pl.col("ci_high"))
    covers_expected = (pl.col("ci_low") <= pl.col("expected")) & (pl.col("expected") <= pl.col("ci_high"))
    p = pl.coalesce("p_bh", "p_value")
    summary = rows.group_by(*keys, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("replicates"), pl.col("planted").first(), pl.col("expected").first(),
        pl.col("coef").mean().alias("mean_estimate"), (pl.col("coef") - pl.col("planted")).mean().alias("bias"),
        covered.cast(pl.Float64).mean().alias("coverage"), covers_expected.cast(pl.Float64).mean().alias("coverage_expected"),
        (p < alpha).cast(pl.Float64).mean().alias("rejection_rate"),
    )
    return summary.sort(keys).select(list(SKILL_RECOVERY_SCHEMA))


def calibrated_coefficients(sessions: pl.DataFrame, planted: Mapping[str, float], skills: Sequence[str]) -> dict[str, float]:
    """What a regression on measured rates converges to when the outcome follows the annotated
    rates with coefficients ``planted``: ``Var(W)^-1 Cov(W, X) beta`` over the sessions users are
    given (W measured, X annotated; regression calibration, Carroll et al. 2006, ch. 4).
    """
    x = sessions.select(list(skills)).to_numpy()
    w = sessions.select([f"{s}_measured" for s in skills]).to_numpy()
    beta = np.array([planted.get(s, 0.0) for s in skills])
    centred_w, centred_x = w - w.mean(axis=0), x - x.mean(axis=0)
    cov_ww = centred_w.T @ centred_w
    cov_wx = centred_w.T @ centred_x
    return dict(zip(skills, np.linalg.solve(cov_ww, cov_wx @ beta).tolist(), strict=True))
