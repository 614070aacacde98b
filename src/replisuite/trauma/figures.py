"""Figures of the trauma study: sampled vs published marginals, example SUDS trajectories with the
predictors' trajectories, and the benchmark per phase.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def marginals(table: pl.DataFrame):
    """Per categorical attribute: published (or uniform-remainder) share against the sampled share."""
    attributes = [a for a in table["attribute"].unique(maintain_order=True).to_list() if a != "age"]
    figure, axes = plt.subplots(1, len(attributes), figsize=(3.4 * len(attributes), 3.4), squeeze=False)
    for axis, attribute in zip(axes.flat, attributes, strict=False):
        part = table.filter(pl.col("attribute") == attribute)
        published = part["share_source"] == "published"
        axis.scatter(part["published_share"].filter(published), part["sampled_share"].filter(published),
                     color="tab:blue", s=18, label="published share")
        axis.scatter(part["published_share"].filter(~published), part["sampled_share"].filter(~published),
                     color="tab:grey", s=12, label="uniform remainder")
        top = float(max(part["published_share"].max(), part["sampled_share"].max())) * 1.1
        axis.plot([0, top], [0, top], color="black", lw=0.6, ls="--")
        axis.set_title(f"{attribute} (chi2 p={part['p_value'][0]:.2f})", fontsize=8)
        axis.set_xlabel("target share", fontsize=7)
        axis.set_ylabel("sampled share", fontsize=7)
    axes.flat[0].legend(fontsize=6)
    figure.tight_layout()
    return figure


def trajectories(frame: pl.DataFrame, predicted: pl.DataFrame, *, examples: int):
    """The first ``examples`` conversations with elicited ratings: extracted and planted SUDS by exchange,
    and each predictor's out-of-fold trajectory (against the extracted target).
    """
    chosen = frame["conversation"].unique(maintain_order=True).to_list()[:examples] or ["none"]
    figure, axes = plt.subplots(1, len(chosen), figsize=(3.2 * len(chosen), 3), squeeze=False)
    for axis, conversation in zip(axes.flat, chosen, strict=False):
        part = frame.filter(pl.col("conversation") == conversation).sort("point")
        axis.plot(part["point"], part["planted"], marker="s", color="black", lw=1.2, label="planted")
        axis.plot(part["point"], part["value"], marker="o", color="tab:red", lw=1.2, label="extracted")
        mine = predicted.filter((pl.col("conversation") == conversation) & (pl.col("target") == "extracted"))
        for (predictor,), p in mine.group_by("predictor", maintain_order=True):
            axis.plot(p.sort("point")["point"], p.sort("point")["predicted"], lw=0.8, ls="--", label=predictor)
        axis.set_ylim(-5, 105)
        axis.set_title(conversation.split("/")[-1], fontsize=8)
        axis.set_xlabel("rating in the conversation", fontsize=7)
    axes.flat[0].set_ylabel("SUDS")
    axes.flat[0].legend(fontsize=5)
    figure.tight_layout()
    return figure


def benchmark_bars(table: pl.DataFrame):
    """RMSE (95% CI over cases) of every predictor per phase, against the extracted target if scored."""
    targets = table["target"].unique(maintain_order=True).to_list()
    target = "extracted" if "extracted" in targets else (targets[0] if targets else "extracted")
    part = table.filter((pl.col("target") == target) & (pl.col("metric") == "rmse"))
    phases_ = part["phase"].unique(maintain_order=True).to_list() or ["all"]
    predictors = part["predictor"].unique(maintain_order=True).to_list()
    figure, axis = plt.subplots(figsize=(max(5, 1.1 * len(phases_) * max(len(predictors), 1) / 2), 3.4))
    width = 0.8 / max(len(predictors), 1)
    for index, predictor in enumerate(predictors):
        rows = {r["phase"]: r for r in part.filter(pl.col("predictor") == predictor).iter_rows(named=True)}
        x = np.arange(len(phases_)) + index * width
        values = np.array([rows[p]["value"] if p in rows else np.nan for p in phases_])
        low = np.array([rows[p]["ci_low"] if p in rows else np.nan for p in phases_])
        high = np.array([rows[p]["ci_high"] if p in rows else np.nan for p in phases_])
        axis.bar(x, values, width, label=predictor)
        axis.errorbar(x, values, yerr=[np.nan_to_num(values - low), np.nan_to_num(high - values)], fmt="none",
                      ecolor="black", lw=0.6, capsize=2)
    axis.set_xticks(np.arange(len(phases_)) + 0.4 - width / 2, phases_)
    axis.set_ylabel(f"RMSE against {target} SUDS")
    axis.legend(fontsize=6)
    figure.tight_layout()
    return figure
