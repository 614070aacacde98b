"""Figures of the mi study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def f1_figure(f1: pl.DataFrame):
    """Per-class and macro F1 (95% transcript-bootstrap CI), one panel per task."""
    tasks = f1["task"].unique(maintain_order=True).to_list()
    classifiers = f1["classifier"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, len(tasks), figsize=(3.2 * len(tasks), 3.4), sharey=True, squeeze=False)
    cmap = plt.get_cmap("tab10")
    for axis, task in zip(axes[0], tasks, strict=True):
        sub = f1.filter(pl.col("task") == task)
        classes = sub["class"].unique(maintain_order=True).to_list()
        width = 0.8 / len(classifiers)
        for k, classifier in enumerate(classifiers):
            rows = {r["class"]: r for r in sub.filter(pl.col("classifier") == classifier).iter_rows(named=True)}
            x = np.arange(len(classes)) + (k - (len(classifiers) - 1) / 2) * width
            values = np.array([rows[c]["f1"] for c in classes])
            errors = np.array([[rows[c]["f1"] - rows[c]["ci_low"] for c in classes], [rows[c]["ci_high"] - rows[c]["f1"] for c in classes]])
            axis.bar(x, values, width, yerr=errors, capsize=2, color=cmap(k), label=classifier, error_kw={"elinewidth": 0.7})
        axis.set_xticks(np.arange(len(classes)), [c.replace("_", "\n") for c in classes], rotation=0, fontsize=7)
        axis.set_title(task.replace("_", " "))
        axis.set_ylim(0, 1)
    axes[0][0].set_ylabel("F1 (transcript-held-out CV)")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def rates_figure(rates: pl.DataFrame):
    """Per-session code rates in high- and low-quality MI sessions (annotated codes)."""
    tasks = rates["task"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, len(tasks), figsize=(3.4 * len(tasks), 3.4), squeeze=False)
    for axis, task in zip(axes[0], tasks, strict=True):
        sub = rates.filter(pl.col("task") == task)
        codes = sub["code"].unique().sort().to_list()
        for offset, (quality, colour) in enumerate((("high", "tab:blue"), ("low", "tab:orange"))):
            data = [sub.filter((pl.col("code") == c) & (pl.col("mi_quality") == quality))["rate"].to_numpy() for c in codes]
            positions = np.arange(len(codes)) + (offset - 0.5) * 0.35
            parts = axis.boxplot(data, positions=positions, widths=0.3, patch_artist=True, showfliers=False)
            for box in parts["boxes"]:
                box.set_facecolor(colour)
                box.set_alpha(0.6)
            axis.plot([], [], color=colour, lw=6, alpha=0.6, label=f"{quality} MI quality")
        axis.set_xticks(np.arange(len(codes)), [c.replace("_", "\n") for c in codes], fontsize=7)
        axis.set_title(task.replace("_", " "))
        axis.set_ylim(0, 1)
    axes[0][0].set_ylabel("share of the session's coded utterances")
    axes[0][-1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def confusion_figure(confusion: pl.DataFrame):
    """Row-normalised confusion matrices, one per task."""
    tasks = confusion["task"].unique(maintain_order=True).to_list()
    figure, axes = plt.subplots(1, len(tasks), figsize=(3.0 * len(tasks), 3.0), squeeze=False)
    for axis, task in zip(axes[0], tasks, strict=True):
        sub = confusion.filter(pl.col("task") == task)
        classes = sorted(set(sub["label"]) | set(sub["predicted"]))
        matrix = np.zeros((len(classes), len(classes)))
        for row in sub.iter_rows(named=True):
            matrix[classes.index(row["label"]), classes.index(row["predicted"])] = row["count"]
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        axis.imshow(matrix, vmin=0, vmax=1, cmap="Blues")
        for (i, j), value in np.ndenumerate(matrix):
            axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value > 0.6 else "black")
        labels = [c.replace("_", "\n") for c in classes]
        axis.set_xticks(range(len(classes)), labels, fontsize=6)
        axis.set_yticks(range(len(classes)), labels, fontsize=6)
        axis.set_xlabel("predicted")
        axis.set_title(f"{task.replace('_', ' ')} ({sub['classifier'][0]})", fontsize=8)
        axis.grid(False)
    axes[0][0].set_ylabel("annotated")
    return figure
