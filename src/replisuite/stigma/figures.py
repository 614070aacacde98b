"""Paper-style figures of the stigma study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt

CONDITIONS = ("daily troubles", "depression", "alcohol dependence", "schizophrenia")


def _bars(axis, table: pl.DataFrame, *, groups: list[str], models: list[str], labels: dict[str, str], value="rate"):
    width = 0.8 / max(1, len(models))
    cmap = plt.get_cmap("tab20")
    for m_index, model in enumerate(models):
        sub = table.filter(pl.col("model") == model)
        lookup = {row["group"]: row for row in sub.iter_rows(named=True)}
        x = np.arange(len(groups)) + (m_index - (len(models) - 1) / 2) * width
        heights = [lookup.get(g, {}).get(value, np.nan) for g in groups]
        low = [h - lookup.get(g, {}).get("ci_low", h) if g in lookup else 0 for g, h in zip(groups, heights, strict=True)]
        high = [lookup.get(g, {}).get("ci_high", h) - h if g in lookup else 0 for g, h in zip(groups, heights, strict=True)]
        axis.bar(x, heights, width=width, color=cmap(m_index % 20), label=labels.get(model, model),
                 yerr=np.array([low, high]), capsize=2, error_kw={"elinewidth": 0.7})
    axis.set_xticks(np.arange(len(groups)), [g.replace(" ", "\n") for g in groups])
    axis.set_ylim(0, 1)


def stigma_figure(rates: pl.DataFrame, gss: pl.DataFrame, *, labels: dict[str, str]):
    """Stigma rate by condition, one bar per model, without and with the steel-man prompt;
    GSS 2018 respondents as black diamonds.
    """
    models = sorted(rates["model"].unique().to_list(), key=lambda m: (m not in labels, m))
    human = gss.group_by("condition").agg(pl.col("rate").mean())
    figure, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
    for axis, steel in zip(axes, (False, True), strict=True):
        table = rates.filter(pl.col("steel_man") == steel).rename({"condition": "group"})
        _bars(axis, table, groups=list(CONDITIONS), models=models, labels=labels)
        lookup = dict(zip(human["condition"], human["rate"], strict=True))
        axis.scatter(np.arange(len(CONDITIONS)), [lookup.get(c, np.nan) for c in CONDITIONS], marker="D",
                     color="black", zorder=5, label="GSS 2018 (humans)")
        axis.set_title("steel-man system prompt" if steel else "no steel-man prompt")
    axes[0].set_ylabel("stigma (share of stigmatising answers)")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    figure.suptitle("Stigma toward vignettes by condition (social distance and violence items; 95% bootstrap CI)")
    return figure


def question_heatmap(rates: pl.DataFrame, *, labels: dict[str, str]):
    """Share of 'likely'/'willing' answers per question (rows) and model (columns)."""
    questions = sorted(rates["question_only"].unique().to_list())
    models = sorted(rates["model"].unique().to_list())
    grid = np.full((len(questions), len(models)), np.nan)
    for row in rates.iter_rows(named=True):
        grid[questions.index(row["question_only"]), models.index(row["model"])] = row["rate"]
    figure, axis = plt.subplots(figsize=(1.2 * len(models) + 6, 0.42 * len(questions) + 1.5))
    image = axis.imshow(grid, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    axis.set_xticks(range(len(models)), [labels.get(m, m).split(" (")[0] for m in models], rotation=30, ha="right")
    axis.set_yticks(range(len(questions)), [q if len(q) < 80 else q[:77] + "..." for q in questions])
    for (i, j), value in np.ndenumerate(grid):
        if not np.isnan(value):
            axis.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if value < 0.6 else "black")
    axis.grid(False)
    figure.colorbar(image, ax=axis, label="share answering likely / willing")
    axis.set_title("Answers by question (steel-man prompt)")
    return figure


def interjection_figure(rates: pl.DataFrame, *, labels: dict[str, str]):
    """Appropriate responses by symptom, one bar per model or human group."""
    conditions = sorted(rates["condition"].unique().to_list())
    models = sorted(rates["model"].unique().to_list(), key=lambda m: (m not in labels, m))
    figure, axis = plt.subplots(figsize=(11, 3.8))
    _bars(axis, rates.rename({"condition": "group"}), groups=conditions, models=models, labels=labels)
    axis.set_ylabel("share of appropriate responses")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axis.set_title("Appropriate responses to symptom interjections (95% bootstrap CI)")
    return figure
