"""Figures of the support study."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from matplotlib import pyplot as plt

from replisuite.support.cohort import outcome_label

METHOD_LABELS = {
    "naive": "naive (unadjusted)", "matching_replace": "PS matching, with replacement",
    "matching_no_replace": "PS matching, without replacement", "ipw": "IPW (ATT weights)",
    "doubly_robust": "doubly robust (AIPW)",
}
SHORT_LABELS = {"naive": "naive", "matching_replace": "matching\n(replace)", "matching_no_replace": "matching\n(no replace)",
                "ipw": "IPW", "doubly_robust": "doubly\nrobust"}


def balance_figure(balance: pl.DataFrame):
    """Love plot: |standardised mean difference| of each covariate before and after adjustment."""
    covariates = balance["covariate"].unique(maintain_order=True).to_list()
    figure, axis = plt.subplots(figsize=(5.5, 0.45 * len(covariates) + 1.2))
    markers = ["o", "s", "^", "D"]
    for k, (sample, rows) in enumerate(balance.group_by("sample", maintain_order=True)):
        values = dict(zip(rows["covariate"], rows["smd"].abs(), strict=True))
        axis.scatter([values[c] for c in covariates], range(len(covariates)), marker=markers[k % 4], label=sample[0], zorder=3)
    axis.axvline(0.1, color="grey", linestyle="--", linewidth=0.8)
    axis.set_yticks(range(len(covariates)), covariates)
    axis.set_xlabel("|standardised mean difference| (treated SD)")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def att_figure(att: pl.DataFrame, truth: Mapping[str, Any]):
    """ATT of a chat on each outcome's change by method (95% bootstrap CI), with the planted value."""
    outcomes = att["outcome"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 3.2), sharey=True, squeeze=False)
    for axis, outcome in zip(axes[0], outcomes, strict=True):
        rows = att.filter(pl.col("outcome") == outcome)
        y = np.arange(rows.height)
        axis.errorbar(rows["estimate"], y, xerr=[rows["estimate"] - rows["ci_low"], rows["ci_high"] - rows["estimate"]],
                      fmt="o", capsize=3)
        if truth.get("simulated"):
            axis.axvline(truth["sample_att"][outcome], color="tab:red", label="planted (sample ATT)")
            axis.legend(loc="lower right")
        axis.axvline(0, color="grey", linewidth=0.8)
        axis.set_yticks(y, [METHOD_LABELS.get(m, m) for m in rows["method"]])
        axis.set_title(f"{outcome_label(outcome)} change")
        axis.set_xlabel("ATT (points; negative = improvement)")
    return figure


def skills_figure(effects: pl.DataFrame, truth: Mapping[str, Any], expected: pl.DataFrame | None):
    """Skill coefficients from annotated and classifier-measured rates (95% CI), with the planted
    value and the attenuated value regression calibration predicts for measured rates.
    """
    outcomes = effects["outcome"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, len(outcomes), figsize=(4.4 * len(outcomes), 3.4), sharey=True, squeeze=False)
    sources = effects["skills_from"].unique(maintain_order=True).to_list()
    for axis, outcome in zip(axes[0], outcomes, strict=True):
        rows = effects.filter((pl.col("outcome") == outcome) & (pl.col("term") != "log_supporter_experience"))
        terms = rows["term"].unique(maintain_order=True).to_list()
        for k, source in enumerate(sources):
            sub = rows.filter(pl.col("skills_from") == source)
            y = np.arange(len(terms)) + (k - (len(sources) - 1) / 2) * 0.25
            axis.errorbar(sub["coef"], y, xerr=[sub["coef"] - sub["ci_low"], sub["ci_high"] - sub["coef"]], fmt="o",
                          capsize=2, label=f"{source} rates")
        if truth.get("simulated"):
            planted = truth["planted_skills"].get(outcome, {})
            axis.scatter([planted.get(t, 0.0) for t in terms], range(len(terms)), marker="x", color="tab:red", zorder=4,
                         label="planted")
            if expected is not None:
                calibrated = expected.filter((pl.col("outcome") == outcome) & (pl.col("skills_from") == "classifier"))
                values = dict(zip(calibrated["term"], calibrated["expected"], strict=True))
                axis.scatter([values[t] for t in terms], np.arange(len(terms)) + 0.125, marker="D", facecolors="none",
                             edgecolors="tab:orange", zorder=4, label="expected for measured rates")
        axis.axvline(0, color="grey", linewidth=0.8)
        axis.set_yticks(range(len(terms)), terms)
        axis.set_title(f"{outcome_label(outcome)} change among chat users")
        axis.set_xlabel("points per unit skill rate")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def coverage_figure(att_recovery: pl.DataFrame, skill_recovery: pl.DataFrame):
    """Over replicate cohorts: CI coverage of the planted ATT, the null's false-positive rate, and
    skill-coefficient coverage by rate source.
    """
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.4), squeeze=False)
    panels = (
        (att_recovery.filter(pl.col("scenario") != "null"), "coverage", 0.95, "ATT: CI covers the sample ATT", "method"),
        (att_recovery.filter(pl.col("scenario") == "null"), "rejection_rate", 0.05, "ATT under the null: CI excludes 0", "method"),
        (skill_recovery.filter((pl.col("scenario") != "null") & (pl.col("term") != "log_supporter_experience")),
         "coverage_expected", 0.95, "skills: CI covers the expected value\n(planted; regression-calibrated for measured rates)",
         "skills_from"),
    )
    for axis, (rows, column, nominal, title, by) in zip(axes[0], panels, strict=True):
        groups = rows[by].unique(maintain_order=True).to_list()
        outcomes = rows["outcome"].unique(maintain_order=True).to_list()
        width = 0.8 / max(len(outcomes), 1)
        for k, outcome in enumerate(outcomes):
            values = rows.filter(pl.col("outcome") == outcome).group_by(by, maintain_order=True).agg(pl.col(column).mean())
            lookup = dict(zip(values[by], values[column], strict=True))
            axis.bar(np.arange(len(groups)) + (k - (len(outcomes) - 1) / 2) * width, [lookup.get(g, np.nan) for g in groups],
                     width, label=outcome_label(outcome))
        axis.axhline(nominal, color="tab:red", linestyle="--", linewidth=0.8)
        axis.set_xticks(range(len(groups)), [SHORT_LABELS.get(g, g) for g in groups], fontsize=7)
        axis.set_ylim(0, 1)
        axis.set_title(title, fontsize=9)
    axes[0][0].legend()
    return figure


def measurement_figure(sessions: pl.DataFrame, quality: pl.DataFrame):
    """Per skill: each AnnoMI session's annotated vs classifier-measured rate."""
    skills = sessions["skill"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, len(skills), figsize=(3.0 * len(skills), 3.0), squeeze=False)
    stats = {r["skill"]: r for r in quality.iter_rows(named=True)}
    for axis, skill in zip(axes[0], skills, strict=True):
        rows = sessions.filter(pl.col("skill") == skill)
        axis.scatter(rows["annotated"], rows["measured"], s=8, alpha=0.6)
        top = max(rows["annotated"].max(), rows["measured"].max(), 0.05)
        axis.plot([0, top], [0, top], color="grey", linewidth=0.8)
        axis.set_title(f"{skill} (r = {stats[skill]['pearson_r']:.2f})")
        axis.set_xlabel("annotated rate")
    axes[0][0].set_ylabel("classifier-measured rate")
    return figure
