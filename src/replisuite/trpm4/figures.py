"""Figures of the trpm4 study (each returns a matplotlib figure; the caller saves it)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from replisuite.singlecell.cep import CV_VARIANTS

TIER_COLOURS = {"tier1": "#b2182b", "tier2": "#ef8a62", "none": "#bababa"}
QUADRANT_COLOURS = {"pre_trep": "#2166ac", "pre_non_trep": "#92c5de", "post_trep": "#b2182b", "post_non_trep": "#f4a582"}
METHOD_COLOURS = {"explanatory_power": "#b2182b", "classifier": "#1b7837", "random": "#999999", "leverage": "#4393c3"}


def dual_filter(tables: Sequence[pl.DataFrame], *, anchor: str) -> plt.Figure:
    """Volcano-style: Spearman rho against -log10 Kendall FDR per gene, coloured by dual-filter tier."""
    figure, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.6), squeeze=False)
    for ax, table in zip(axes[0], tables, strict=True):
        for tier, colour in TIER_COLOURS.items():
            part = table.filter(pl.col("tier") == tier)
            fdr = np.clip(part["kendall_fdr"].to_numpy(), 1e-300, 1)
            ax.scatter(part["spearman_rho"], -np.log10(fdr), s=4 if tier == "none" else 10, c=colour, label=f"{tier} ({part.height})",
                       rasterized=True)
        ax.set(title=f"{table['group'][0]}: genes vs {anchor}", xlabel="Spearman rho", ylabel="-log10 Kendall tau-b FDR")
        ax.legend(loc="upper left")
    return figure


def gam_fits(cells: pl.DataFrame, summary: pl.DataFrame, *, group: str, anchor: str, focus: str) -> plt.Figure:
    """One panel per patient: cells coloured TREP / non-TREP, the GAM fit, and the IP with its interval."""
    patients = cells.filter(pl.col("group") == group)["patient"].unique().sort().to_list()
    columns = min(4, len(patients))
    rows = math.ceil(len(patients) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.8 * rows), squeeze=False, sharey=True)
    for ax, patient in zip(axes.flat, patients, strict=False):
        frame = cells.filter((pl.col("group") == group) & (pl.col("patient") == patient)).sort("anchor")
        trep = frame["trep"].to_numpy()
        ax.scatter(frame["anchor"].to_numpy()[~trep], frame["score"].to_numpy()[~trep], s=3, c="#bababa", label="non-TREP",
                   rasterized=True)
        ax.scatter(frame["anchor"].to_numpy()[trep], frame["score"].to_numpy()[trep], s=3, c="#b2182b", label="TREP",
                   rasterized=True)
        ax.plot(frame["anchor"], frame["fitted"], c="black", lw=1.2)
        row = summary.filter((pl.col("group") == group) & (pl.col("patient") == patient)).row(0, named=True)
        if row["ip"] == row["ip"]:
            ax.axvline(row["ip"], c="#2166ac", ls="--", lw=1, label="IP")
            if row["ip_low"] == row["ip_low"] and row["ip_high"] == row["ip_high"]:
                ax.axvspan(row["ip_low"], row["ip_high"], color="#2166ac", alpha=0.15)
        ax.set(title=f"{patient}: DE {row['deviance_explained']:.2f}", xlabel=f"log2({anchor} + 1)")
    for ax in axes.flat[len(patients):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(f"log2({focus} score + 1)")
    axes[0, 0].legend(loc="lower right", markerscale=3)
    figure.suptitle(f"{group}: {focus} ~ s({anchor}) per patient")
    return figure


def de_heatmap(fits: pl.DataFrame) -> plt.Figure:
    """Deviance explained, gene sets x (group, patient)."""
    frame = fits.with_columns(pl.concat_str("group", pl.lit(" "), "patient").alias("column"))
    wide = frame.pivot(on="column", index="gene_set", values="deviance_explained", sort_columns=True)
    values = wide.drop("gene_set").to_numpy()
    figure, ax = plt.subplots(figsize=(0.55 * values.shape[1] + 2, 0.4 * values.shape[0] + 1.5))
    image = ax.imshow(values, cmap="viridis", aspect="auto", vmin=0)
    ax.set_xticks(range(values.shape[1]), wide.columns[1:], rotation=60, ha="right")
    ax.set_yticks(range(values.shape[0]), wide["gene_set"].to_list())
    ax.grid(False)
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6, color="white" if value < 0.5 * np.nanmax(values) else "black")
    figure.colorbar(image, ax=ax, label="deviance explained")
    return figure


def cv_boxplots(cv: pl.DataFrame, groups: Sequence[str], *, selection: str) -> plt.Figure:
    """RMSE(non-TREP) - RMSE(TREP) over CV repeats, per patient, for EP ranking (published), the
    classifier (corrected) and the two controls (``cv`` holds one k/lambda selection, named in the titles).
    """
    figure, axes = plt.subplots(len(groups), 1, figsize=(9, 2.8 * len(groups)), squeeze=False)
    methods = [m for m in METHOD_COLOURS if m in set(cv["method"])]
    for ax, group in zip(axes[:, 0], groups, strict=True):
        frame = cv.filter(pl.col("group") == group)
        patients = frame["patient"].unique().sort().to_list()
        for m, method in enumerate(methods):
            data = [frame.filter((pl.col("patient") == p) & (pl.col("method") == method))["difference"].to_numpy() for p in patients]
            positions = np.arange(len(patients)) * (len(methods) + 1) + m
            box = ax.boxplot(data, positions=positions, widths=0.8, patch_artist=True, showfliers=False)
            for patch in box["boxes"]:
                patch.set_facecolor(METHOD_COLOURS[method])
            ax.plot([], [], c=METHOD_COLOURS[method], lw=6, label=f"{method} ({CV_VARIANTS[method]})")
        ax.axhline(0, c="black", lw=0.8)
        ax.set_xticks(np.arange(len(patients)) * (len(methods) + 1) + (len(methods) - 1) / 2, patients)
        ax.set(title=f"{group}: Monte Carlo CV (k and lambda: {selection})", ylabel="RMSE(non-TREP) - RMSE(TREP)")
        ax.legend(loc="upper right", ncols=len(methods), fontsize=7)
    return figure


def quadrant_mosaic(summary: pl.DataFrame, groups: Sequence[str]) -> plt.Figure:
    """Mosaic per group: bar width = patient's share of cells, stacked by pre/post-IP x TREP/non-TREP."""
    figure, axes = plt.subplots(len(groups), 1, figsize=(8, 2.6 * len(groups)), squeeze=False)
    names = list(QUADRANT_COLOURS)
    for ax, group in zip(axes[:, 0], groups, strict=True):
        frame = summary.filter(pl.col("group") == group).sort("patient")
        counts = frame.select([f"cells_{q}" for q in names]).to_numpy().astype(float)
        widths = counts.sum(axis=1) / max(counts.sum(), 1)
        left = np.concatenate([[0], np.cumsum(widths)[:-1]])
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        bottom = np.zeros(len(frame))
        for q, name in enumerate(names):
            ax.bar(left, shares[:, q], width=widths * 0.97, bottom=bottom, align="edge", color=QUADRANT_COLOURS[name], label=name)
            bottom += shares[:, q]
        ax.set_xticks(left + widths / 2, frame["patient"].to_list())
        ax.set(title=f"{group}: cells by IP side and TREP status", ylabel="share of cells", xlim=(0, 1), ylim=(0, 1))
        ax.grid(False)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return figure


def go_dotplot(top: pl.DataFrame, *, comparisons: Mapping[str, str], terms_per_comparison: int = 5) -> plt.Figure:
    """Top GO BP terms of the up-regulated raw-p lists: terms x (comparison, group, patient), size = hits, colour = -log10 p."""
    frame = top.filter((pl.col("direction") == "up") & (pl.col("p_filter") == "raw") & (pl.col("score_genes") == "kept")
                       & pl.col("comparison").is_in(list(comparisons)))
    chosen = (frame.group_by("comparison", "term").agg(pl.col("p_value").min().alias("best"))
              .sort("best").group_by("comparison", maintain_order=True).head(terms_per_comparison))
    terms = list(dict.fromkeys(chosen.sort("comparison", "best")["term"].to_list()))
    frame = frame.filter(pl.col("term").is_in(terms)).with_columns(
        pl.concat_str(pl.col("comparison").replace_strict(comparisons, default=pl.col("comparison")), pl.lit(" "), "group",
                      pl.lit(" "), "patient").alias("column"))
    columns = sorted(frame["column"].unique().to_list())
    figure, ax = plt.subplots(figsize=(0.35 * len(columns) + 5, 0.32 * len(terms) + 1.8))
    if frame.height:
        x = [columns.index(c) for c in frame["column"]]
        y = [terms.index(t) for t in frame["term"]]
        points = ax.scatter(x, y, s=8 * frame["hits"].to_numpy(), c=-np.log10(np.clip(frame["p_value"].to_numpy(), 1e-300, 1)),
                            cmap="magma_r")
        figure.colorbar(points, ax=ax, label="-log10 p")
    ax.set_xticks(range(len(columns)), columns, rotation=70, ha="right", fontsize=6)
    ax.set_yticks(range(len(terms)), [t if len(t) < 60 else t[:57] + "..." for t in terms], fontsize=7)
    ax.set(title="GO BP over-representation of TREP up-regulated genes (raw p < 0.05)")
    return figure


CALIBRATION_RATES = {"cv_significant_rate": "CV 'significant' (published)",
                     "cv_corrected_significant_rate": "CV 'significant' (corrected: classifier, resampled t)",
                     "ip_reported_rate": "IP reported (published)",
                     "ip_reported_rate_gated": "IP reported (residual smooth significant)",
                     "ip_calibrated_reported_rate": "IP reported (calibrated)"}


def calibration(rows: pl.DataFrame, table: pl.DataFrame) -> plt.Figure:
    """Left: how often CV is 'significant' and an IP is reported, per scenario and simulated truth,
    with Wilson intervals. Right: each reported IP's distance to the planted IP (published and
    calibrated) and the published IP's to the anchor value where the fit crosses the mean score.
    """
    figure, (rates_ax, errors_ax) = plt.subplots(1, 2, figsize=(13, 4.6))
    labels = [scenario if scenario == truth else f"{scenario}:\n{truth}"
              for scenario, truth in zip(table["scenario"], table["truth"], strict=True)]
    width = 0.8 / len(CALIBRATION_RATES)
    for i, (column, label) in enumerate(CALIBRATION_RATES.items()):
        positions = np.arange(len(labels)) + (i - (len(CALIBRATION_RATES) - 1) / 2) * width
        values = table[column].to_list()
        heights = [np.nan if v is None else v for v in values]
        # Wilson bounds at a rate of 0 or 1 can sit a rounding error on the wrong side of it
        errors = [[0 if v is None or lo is None else max(0.0, v - lo) for v, lo in zip(values, table[f"{column}_low"], strict=True)],
                  [0 if v is None or hi is None else max(0.0, hi - v) for v, hi in zip(values, table[f"{column}_high"], strict=True)]]
        # a rate that could not be computed is drawn as missing ("n/a"), never as a 0 that reads as a passed null
        bars = rates_ax.bar(positions, heights, width, yerr=errors, error_kw={"lw": 0.7, "capsize": 1.5}, label=label)
        for x, value in zip(positions, values, strict=True):
            if value is None:
                rates_ax.text(x, 0.02, "n/a", ha="center", va="bottom", fontsize=6, rotation=90, color=bars.patches[0].get_facecolor())
    rates_ax.set_xticks(np.arange(len(labels)), labels, rotation=15, fontsize=8)
    rates_ax.set(ylim=(0, 1.42), yticks=np.linspace(0, 1, 6), ylabel="share of simulated patients (Wilson 95%)",
                 title="Calls under each scenario")
    rates_ax.legend(fontsize=7, loc="upper center", ncol=2)
    series = (("ip", "planted_ip", "#b2182b", "published IP - planted IP"),
              ("ip", "mean_crossing", "#4393c3", "published IP - mean crossing"),
              ("ip_calibrated", "planted_ip", "#1b7837", "calibrated IP - planted IP"))
    for offset, (column, reference, colour, label) in zip((-0.22, 0.0, 0.22), series, strict=True):
        for s, (scenario, truth) in enumerate(zip(table["scenario"], table["truth"], strict=True)):
            values = (rows.filter((pl.col("scenario") == scenario) & (pl.col("truth") == truth))
                      .select(pl.col(column) - pl.col(reference)).to_series().drop_nans().drop_nulls().to_numpy())
            errors_ax.scatter(np.full(values.size, s + offset), values, s=10, c=colour, alpha=0.7,
                              label=label if s == 0 else None)
    errors_ax.axhline(0, c="black", lw=0.8)
    errors_ax.set_xticks(np.arange(len(labels)), labels, rotation=15, fontsize=8)
    errors_ax.set(ylabel="log2 anchor units", title="Where the reported IP lies")
    errors_ax.legend(fontsize=7)
    figure.tight_layout()
    return figure
