"""Figures of the psaich study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt

from replisuite.instruments import Instrument
from replisuite.psaich.analysis import modal_band


def profile(totals: pl.DataFrame, instruments: dict[str, Instrument], *, labels: dict[str, str]):
    """Instruments x models (one column per mode): colour = modal severity band over seeds,
    text = mean total (grey where the instrument has no bands; blank where nothing was scored).
    """
    rows = [(i, m) for i in instruments for m in totals["mode"].unique(maintain_order=True).to_list()]
    models = totals["model"].unique(maintain_order=True).to_list()
    grid = np.full((len(rows), len(models)), np.nan)
    text = [["" for _ in models] for _ in rows]
    for r, (instrument, mode) in enumerate(rows):
        bands = [b.label for b in instruments[instrument].bands]
        for c, model in enumerate(models):
            sub = totals.filter((pl.col("instrument") == instrument) & (pl.col("mode") == mode) & (pl.col("model") == model))
            scored = sub["total"].drop_nulls()
            if scored.len():
                band = modal_band(sub["band"].to_list())
                grid[r, c] = (bands.index(band) / max(1, len(bands) - 1)) if band in bands else np.nan
                text[r][c] = f"{scored.mean():.1f}" + (f"\n{band}" if band else "") + f"\n({scored.len()}/{sub.height} seeds)"
    figure, axis = plt.subplots(figsize=(2.6 * len(models) + 3, 0.55 * len(rows) + 1.5))
    axis.imshow(np.ma.masked_invalid(grid), cmap="YlOrRd", vmin=0, vmax=1, aspect="auto")
    for r in range(len(rows)):
        for c in range(len(models)):
            axis.text(c, r, text[r][c] or "not scored", ha="center", va="center", fontsize=6)
    axis.set_xticks(range(len(models)), [labels.get(m, m).split(" (")[0] for m in models])
    axis.set_yticks(range(len(rows)), [f"{i} / {m.replace('_', ' ')}" for i, m in rows], fontsize=7)
    axis.grid(False)
    axis.set_title("Questionnaire profile (colour: modal severity band; text: mean total over seeds)")
    return figure


def differences(table: pl.DataFrame):
    """Item-by-item minus whole-questionnaire total per instrument, with bootstrap 95% CI over seeds."""
    figure, axis = plt.subplots(figsize=(7, 0.5 * max(1, table.height) + 1.2))
    labels = [f"{r['model']} / {r['instrument']} / {r['mode'].replace('_', ' ')}" for r in table.iter_rows(named=True)]
    means = table["mean_difference"].to_numpy()
    errors = np.array([means - table["ci_low"].to_numpy(), table["ci_high"].to_numpy() - means])
    y = np.arange(table.height)
    axis.errorbar(means, y, xerr=np.nan_to_num(errors), fmt="o", capsize=3)
    axis.axvline(0, color="grey", lw=0.8)
    axis.set_yticks(y, labels, fontsize=7)
    axis.set_xlabel("total score: item by item minus whole questionnaire")
    axis.set_title("Item-by-item vs whole-questionnaire administration")
    return figure
