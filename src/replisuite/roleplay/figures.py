"""Figures of the roleplay study: session dynamics, profile identifiability, questionnaire recovery."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def dialogue(stats: pl.DataFrame):
    """Exchanges and words per turn per role, one box per protocol."""
    protocols = sorted(stats["protocol"].unique().to_list())
    figure, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    for axis, (column, title) in zip(axes, [("exchanges", "exchanges per conversation"),
                                            ("counsellor_words_per_turn", "counsellor words per turn"),
                                            ("client_words_per_turn", "client words per turn")], strict=True):
        data = [stats.filter(pl.col("protocol") == p)[column].drop_nulls().drop_nans().to_numpy() for p in protocols]
        axis.boxplot([d if len(d) else np.array([np.nan]) for d in data])
        axis.set_xticks(range(1, len(protocols) + 1), protocols, rotation=20, fontsize=7)
        axis.set_title(title, fontsize=9)
    figure.tight_layout()
    return figure


def identifiability(table: pl.DataFrame):
    """Top-k retrieval accuracy with CIs, true vs shuffled pairing, chance as a line."""
    figure, axis = plt.subplots(figsize=(6, 3.2))
    rows = table.sort("protocol", "models", "k", "pairing").to_dicts()
    labels = [f"{r['protocol']}\ntop-{r['k']} {r['pairing']}" for r in rows]
    x = np.arange(len(rows))
    values = np.array([r["accuracy"] for r in rows], dtype=float)
    errors = np.array([[r["accuracy"] - r["ci_low"], r["ci_high"] - r["accuracy"]] for r in rows], dtype=float).T
    axis.bar(x, values, yerr=errors if len(rows) else None, color=["tab:blue" if r["pairing"] == "true" else "tab:grey" for r in rows])
    axis.scatter(x, [r["chance"] for r in rows], marker="_", s=300, color="black", label="chance (k / profiles)")
    axis.set_xticks(x, labels, rotation=60, fontsize=6)
    axis.set_ylabel("profile retrieved from client turns")
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def recovery(totals: pl.DataFrame):
    """Recovered vs planted totals per instrument, coloured by protocol."""
    instruments = sorted(totals["instrument"].unique().to_list()) or ["none"]
    figure, axes = plt.subplots(1, len(instruments), figsize=(4 * len(instruments), 3.4), squeeze=False)
    for axis, instrument in zip(axes[0], instruments, strict=True):
        group = totals.filter(pl.col("instrument") == instrument)
        for protocol in sorted(group["protocol"].unique().to_list()):
            part = group.filter(pl.col("protocol") == protocol)
            axis.scatter(part["true_total"], part["total"], label=protocol, s=18)
        if group.height:
            top = float(np.nanmax(group.select(pl.max_horizontal("true_total", "total")).to_numpy()))
            axis.plot([0, top], [0, top], color="grey", lw=0.8)
        axis.set_xlabel("planted total")
        axis.set_ylabel("recovered from transcript")
        axis.set_title(instrument, fontsize=9)
        axis.legend(fontsize=6)
    figure.tight_layout()
    return figure
