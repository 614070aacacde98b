"""The synthesis study's figures: the filter on planted defects, and the benchmark's dimensions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from replisuite.plotting import apply_style, figure_paths, save_figure

GROUP_COLOURS = {"kept": "#1b9e77", "dropped": "#d95f02", "human reference": "#7570b3"}


def defects_figure(detection: pl.DataFrame, *, defects: Sequence[str]):
    """Drop rate of each filter on untouched dialogues and on each defect's copies (one panel per generator)."""
    from matplotlib import pyplot as plt

    generators = sorted(detection["generator"].unique()) or ["(no plantable dialogue)"]
    figure, axes = plt.subplots(1, len(generators), figsize=(4.5 * len(generators), 3.2), squeeze=False)
    versions = ["untouched", *defects]
    for ax, generator in zip(axes[0], generators, strict=True):
        mine = detection.filter(pl.col("generator") == generator)
        filters = sorted(mine["filter"].unique())
        width = 0.8 / max(len(filters), 1)
        for index, name in enumerate(filters):
            rows = {r["version"]: r for r in mine.filter(pl.col("filter") == name).iter_rows(named=True)}
            rates = [rows[v]["rate"] if v in rows else np.nan for v in versions]
            # clipped: Wilson bounds at a rate of 0 or 1 can lie a rounding error beyond it
            lows = [max(rows[v]["rate"] - rows[v]["ci_low"], 0.0) if v in rows else 0 for v in versions]
            highs = [max(rows[v]["ci_high"] - rows[v]["rate"], 0.0) if v in rows else 0 for v in versions]
            ax.bar(np.arange(len(versions)) + index * width, rates, width, yerr=[lows, highs], label=name, capsize=2)
        ax.set_xticks(np.arange(len(versions)) + 0.4 - width / 2, versions, rotation=30, ha="right")
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("share dropped (Wilson 95% CI)")
        ax.set_title(f"dialogues of {generator}" if mine.height else f"{generator}: nothing plantable")
        if filters:
            ax.legend()
    return figure


def benchmark_figure(benchmark: pl.DataFrame):
    """Mean rubric score per dimension of kept and dropped dialogues and of the therapists' answers
    (one panel per generator).
    """
    from matplotlib import pyplot as plt

    generators = sorted(benchmark["generator"].unique()) or ["(none)"]
    figure, axes = plt.subplots(1, len(generators), figsize=(4.5 * len(generators), 3.2), squeeze=False)
    for ax, generator in zip(axes[0], generators, strict=True):
        mine = benchmark.filter((pl.col("generator") == generator) & (pl.col("dimension") != "total"))
        dimensions = list(dict.fromkeys(mine["dimension"]))
        width = 0.8 / len(GROUP_COLOURS)
        for index, group in enumerate(GROUP_COLOURS):
            rows = {r["dimension"]: r for r in mine.filter(pl.col("group") == group).iter_rows(named=True)}
            means = np.array([rows[d]["mean"] if d in rows and rows[d]["mean"] is not None else np.nan for d in dimensions],
                             dtype=float)
            lows = np.array([rows[d]["ci_low"] if d in rows and rows[d]["ci_low"] is not None else np.nan for d in dimensions],
                            dtype=float)
            highs = np.array([rows[d]["ci_high"] if d in rows and rows[d]["ci_high"] is not None else np.nan
                              for d in dimensions], dtype=float)
            n = rows[dimensions[0]]["dialogues"] if dimensions and dimensions[0] in rows else 0
            ax.bar(np.arange(len(dimensions)) + index * width, np.nan_to_num(means), width, color=GROUP_COLOURS[group],
                   yerr=[np.clip(np.nan_to_num(means - lows), 0, None), np.clip(np.nan_to_num(highs - means), 0, None)],
                   capsize=2, label=f"{group} (n={n})")
        ax.set_xticks(np.arange(len(dimensions)) + 0.4 - width / 2, dimensions, rotation=30, ha="right")
        ax.set_ylabel("mean score (bootstrap 95% CI over dialogues)")
        ax.set_title(f"dialogues of {generator}")
        ax.legend()
    return figure


def draw(results: Mapping[str, pl.DataFrame], stems: Mapping[str, str], *, defects: Sequence[str]) -> None:
    """Both figures, saved as PNG and PDF."""
    apply_style()
    save_figure(defects_figure(results["defect_detection"], defects=defects), *figure_paths(stems["defects"]))
    save_figure(benchmark_figure(results["benchmark"]), *figure_paths(stems["benchmark"]))
