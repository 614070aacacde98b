"""Skill effects among chat users: OLS of symptom change on skill rates, HC3 errors, BH across skills."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy import stats

from replisuite.stats import bh_fdr

EFFECTS_SCHEMA = {
    "outcome": pl.String, "skills_from": pl.String, "term": pl.String, "coef": pl.Float64, "se": pl.Float64,
    "ci_low": pl.Float64, "ci_high": pl.Float64, "p_value": pl.Float64, "p_bh": pl.Float64, "n": pl.Int64,
}


def ols_hc3(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their HC3 (MacKinnon & White 1985) heteroskedasticity-robust SEs."""
    bread = np.linalg.inv(design.T @ design)
    coef = bread @ design.T @ y
    residual = y - design @ coef
    leverage = np.einsum("ij,jk,ik->i", design, bread, design)
    scaled = design * (residual / (1 - leverage))[:, None]
    covariance = bread @ (scaled.T @ scaled) @ bread
    return coef, np.sqrt(np.diag(covariance))


def skill_effects(frame: pl.DataFrame, *, outcome: str, change: str, skill_columns: Mapping[str, str],
                  adjust: Sequence[str], experience: str | None, skills_from: str, level: float = 0.95) -> pl.DataFrame:
    """Coefficients of each skill rate (and log supporter experience) on the change of ``outcome``.

    Parameters
    ----------
    frame
        Chat users only.
    change
        Column of the change (follow-up minus baseline; negative is improvement).
    skill_columns
        Skill name -> the column holding its rate (annotated or measured).
    adjust
        Further regressors (the baseline score and the confounders).
    experience
        Column of the supporter's prior chats (entered as log(1 + chats)), or None.
    skills_from
        Label of where the rates come from (``annotated``, ``classifier``, ``as supplied``).
    """
    terms = list(skill_columns)
    columns = [frame[c].cast(pl.Float64).to_numpy() for c in skill_columns.values()]
    if experience is not None:
        terms.append("log_supporter_experience")
        columns.append(np.log1p(frame[experience].cast(pl.Float64).to_numpy()))
    columns += [frame[c].cast(pl.Float64).to_numpy() for c in adjust]
    design = np.column_stack([np.ones(frame.height), *columns])
    coef, se = ols_hc3(design, frame[change].cast(pl.Float64).to_numpy())
    z = stats.norm.ppf(0.5 + level / 2)
    p = 2 * stats.norm.sf(np.abs(coef / se))
    reported = slice(1, 1 + len(terms))
    adjusted = np.full(len(terms), np.nan)
    adjusted[: len(skill_columns)] = bh_fdr(p[1: 1 + len(skill_columns)])
    return pl.DataFrame({
        "outcome": outcome, "skills_from": skills_from, "term": terms, "coef": coef[reported], "se": se[reported],
        "ci_low": coef[reported] - z * se[reported], "ci_high": coef[reported] + z * se[reported],
        "p_value": p[reported], "p_bh": adjusted, "n": frame.height,
    }, schema=EFFECTS_SCHEMA)
