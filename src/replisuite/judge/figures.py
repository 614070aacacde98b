"""Figures of the judge study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def _short(name: str) -> str:
    return name.split(" (")[0]


def auc(validation: pl.DataFrame):
    """AUC of each judge's rubric total for the expert MI-quality label, with the length baseline and chance."""
    rows = validation.filter(pl.col("set") == "annomi_mi_quality")
    labels = [f"{_short(j)}\n{r}" if not j.startswith(("baseline", "chance")) else f"{j}\n({_short(r)})"
              for j, r in zip(rows["judge"], rows["rubric"], strict=True)]
    values = rows["value"].to_numpy()
    low = rows["ci_low"].fill_null(np.nan).to_numpy()
    high = rows["ci_high"].fill_null(np.nan).to_numpy()
    colours = ["#999999" if j.startswith(("baseline", "chance")) else "#2166ac" for j in rows["judge"]]
    figure, axis = plt.subplots(figsize=(1.4 * len(labels) + 2, 4))
    x = np.arange(len(labels))
    axis.bar(x, values, color=colours)
    error = np.vstack([values - low, high - values])
    axis.errorbar(x, values, yerr=np.where(np.isnan(error), 0, error), fmt="none", ecolor="black", capsize=3)
    axis.axhline(0.5, color="black", lw=0.8, ls=":")
    axis.set_xticks(x, labels, fontsize=7)
    axis.set(ylim=(0, 1), ylabel="AUC for the expert label (high MI quality)",
             title="Does the judge's rubric total separate high- from low-quality sessions? (AnnoMI)")
    return figure


def items(item_validation: pl.DataFrame):
    """Heat map of per-item AUCs (rows: rubric / item; columns: judges)."""
    keys = item_validation.select("rubric", "item").unique(maintain_order=True).rows()
    judges = item_validation["judge"].unique(maintain_order=True).to_list()
    grid = np.full((len(keys), len(judges)), np.nan)
    for row in item_validation.iter_rows(named=True):
        grid[keys.index((row["rubric"], row["item"])), judges.index(row["judge"])] = row["auc"]
    figure, axis = plt.subplots(figsize=(2.2 * len(judges) + 3, 0.3 * len(keys) + 1.5))
    image = axis.imshow(np.ma.masked_invalid(grid), cmap="RdBu_r", vmin=0, vmax=1, aspect="auto")
    for r in range(len(keys)):
        for c in range(len(judges)):
            if not np.isnan(grid[r, c]):
                axis.text(c, r, f"{grid[r, c]:.2f}", ha="center", va="center", fontsize=6)
    axis.set_xticks(range(len(judges)), [_short(j) for j in judges])
    axis.set_yticks(range(len(keys)), [f"{r} / {i}" for r, i in keys], fontsize=6)
    axis.grid(False)
    figure.colorbar(image, ax=axis, label="item AUC (0.5 = chance)")
    axis.set_title("Per-item AUC for the expert label")
    return figure


RELIABILITY_MEASURES = {"items_alpha": "items: Krippendorff's alpha (ordinal)",
                        "items_weighted_kappa": "items: weighted kappa (quadratic)", "totals_icc": "totals: ICC(2,1)"}


def reliability(table: pl.DataFrame):
    """Repeat (and judge-vs-judge) agreement per rubric."""
    figure, axis = plt.subplots(figsize=(8, 4))
    labels = [f"{row['comparison']}: {_short(row['judge'])}" + (f" vs {_short(row['other'])}" if row["other"] else "")
              + f"\n{row['rubric']}" for row in table.iter_rows(named=True)]
    x = np.arange(len(labels))
    width = 0.8 / len(RELIABILITY_MEASURES)
    for i, (column, label) in enumerate(RELIABILITY_MEASURES.items()):
        values = table[column].fill_null(np.nan).to_numpy() if table.height else np.array([])
        axis.bar(x + (i - 1) * width, np.nan_to_num(values), width, label=label)
    axis.axhline(0, color="black", lw=0.8)
    axis.set_xticks(x, labels, fontsize=7)
    axis.set(ylim=(-0.5, 1.05), ylabel="agreement", title="Reliability of the judges")
    axis.legend(fontsize=7)
    return figure


def arena(ratings: pl.DataFrame):
    """Bradley-Terry strengths of the reply sources with bootstrap intervals, per judge."""
    judges = ratings["judge"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, max(1, len(judges)), figsize=(5 * max(1, len(judges)), 3.5), squeeze=False)
    for axis, judge in zip(axes[0], judges, strict=False):
        rows = ratings.filter(pl.col("judge") == judge).sort("strength")
        y = np.arange(rows.height)
        values = rows["strength"].to_numpy()
        axis.errorbar(values, y, xerr=np.vstack([values - rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy() - values]),
                      fmt="o", capsize=3)
        axis.axvline(0, color="black", lw=0.8)
        axis.set_yticks(y, [_short(r) for r in rows["reply"]])
        axis.set(xlabel="Bradley-Terry log-strength", title=f"Arena judged by {_short(judge)}")
    return figure
