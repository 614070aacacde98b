"""Figures of the networks study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def detection_figure(detection: pl.DataFrame):
    """Span F1 (95% CI) by number of in-context examples, with the trivial guess; dimension accuracy."""
    shots = detection.filter(pl.col("shots").is_not_null()).sort("shots")
    baseline = detection.filter(pl.col("shots").is_null())
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2))
    left.errorbar(shots["shots"], shots["f1"], yerr=[shots["f1"] - shots["f1_ci_low"], shots["f1_ci_high"] - shots["f1"]],
                  fmt="o-", capsize=3, label="model coder")
    for row in baseline.iter_rows(named=True):
        left.axhline(row["f1"], color="tab:red", linestyle="--", label=row["coder"])
    left.set_xlabel("in-context examples")
    left.set_ylabel("span F1 (micro, same code)")
    left.set_ylim(0, 1)
    left.legend(fontsize=7)
    right.plot(shots["shots"], shots["dimension_accuracy"], "o-", label="dimension")
    right.plot(shots["shots"], shots["valence_accuracy"], "s-", label="adaptive/maladaptive")
    for x, n in zip(shots["shots"], shots["located_spans"], strict=True):  # accuracies rest on this many located spans
        right.annotate(f"n={n}", (x, 0.02), ha="center", fontsize=7)
    for axis in (left, right):
        axis.set_xticks(shots["shots"].to_list())
    right.set_xlabel("in-context examples")
    right.set_ylabel("accuracy on located spans")
    right.set_ylim(0, 1)
    right.legend(fontsize=7)
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
