"""Figures of the networks study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def detection_figure(detection: pl.DataFrame):
    """Span F1 (95% CI) by number of in-context examples per model coder, with the trivial guess;
    dimension and valence accuracy. A table without a ``model`` column is one coder's.
    """
    if "model" not in detection.columns:
        detection = detection.with_columns(pl.lit("model coder").alias("model"))
    models = list(dict.fromkeys(detection["model"].to_list()))
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    for index, model in enumerate(models):
        rows = detection.filter(pl.col("model") == model)
        shots = rows.filter(pl.col("shots").is_not_null()).sort("shots")
        color, name = f"C{index % 10}", model if len(models) > 1 else "model coder"
        left.errorbar(shots["shots"], shots["f1"], yerr=[shots["f1"] - shots["f1_ci_low"], shots["f1_ci_high"] - shots["f1"]],
                      fmt="o-", capsize=3, color=color, label=name)
        # the guess is scored on the units this coder coded: one line per coder
        for row in rows.filter(pl.col("shots").is_null()).iter_rows(named=True):
            left.axhline(row["f1"], color=color, linestyle="--", lw=0.8,
                         label=row["coder"] + (f" ({model})" if len(models) > 1 else ""))
        right.plot(shots["shots"], shots["dimension_accuracy"], "o-", color=color, label=f"dimension: {name}")
        right.plot(shots["shots"], shots["valence_accuracy"], "s--", color=color, label=f"adaptive/maladaptive: {name}")
        for x, n in zip(shots["shots"], shots["located_spans"], strict=True):  # accuracies rest on this many located spans
            right.annotate(f"n={n}", (x, 0.02 + 0.05 * index), ha="center", fontsize=7, color=color)
    ticks = sorted(detection.filter(pl.col("shots").is_not_null())["shots"].unique().to_list())
    for axis in (left, right):
        axis.set_xticks(ticks)
        axis.set_xlabel("in-context examples")
        axis.set_ylim(0, 1)
        axis.legend(fontsize=7)
    left.set_ylabel("span F1 (micro, same code)")
    right.set_ylabel("accuracy on located spans")
    return figure


def theme_figure(processes: pl.DataFrame):
    """Processes per theme and client session (illustrative gold sessions)."""
    cases = sorted(processes["case"].unique().to_list())
    names = sorted(processes["theme"].unique().to_list())
    figure, axis = plt.subplots(figsize=(1.5 + 0.9 * len(cases), 0.8 + 0.4 * max(len(names), 1)))
    matrix = np.zeros((len(names), len(cases)))
    for case, theme in processes.select("case", "theme").iter_rows():
        matrix[names.index(theme), cases.index(case)] += 1
    axis.imshow(matrix, cmap="Blues", aspect="auto")
    for (i, j), value in np.ndenumerate(matrix):
        axis.text(j, i, f"{value:g}", ha="center", va="center", fontsize=7)
    axis.set_xticks(range(len(cases)), [f"session {c}" for c in cases], fontsize=7)
    axis.set_yticks(range(len(names)), names, fontsize=7)
    axis.grid(False)
    axis.set_title("processes per theme", fontsize=9)
    return figure
