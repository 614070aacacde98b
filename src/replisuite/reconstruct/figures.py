"""Figure of the reconstruct study: each session's original and reconstructed value, per measure."""

from __future__ import annotations

import polars as pl
from matplotlib import pyplot as plt

ORIGINAL = "original"


def paired(measures: pl.DataFrame):
    """One panel per measure: a line from each session's original to its reconstruction, by label colour."""
    names = measures["measure"].unique(maintain_order=True).to_list() or ["none"]
    columns = min(3, len(names))
    rows = (len(names) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(3.6 * columns, 2.8 * rows), squeeze=False)
    versions = [ORIGINAL, *sorted(set(measures["version"]) - {ORIGINAL})]
    colours = {"high": "tab:blue", "low": "tab:orange"}
    for axis, name in zip(axes.flat, names, strict=False):
        part = measures.filter(pl.col("measure") == name)
        for unit in part["unit"].unique().sort().to_list():
            session = part.filter(pl.col("unit") == unit)
            values = [session.filter(pl.col("version") == v)["value"].first() for v in versions]
            label = session["label"].first()
            axis.plot(range(len(versions)), values, marker="o", ms=3, lw=0.8, color=colours.get(label, "grey"), alpha=0.8)
        axis.set_xticks(range(len(versions)), versions, fontsize=6)
        axis.set_title(name, fontsize=8)
    for axis in list(axes.flat)[len(names):]:
        axis.axis("off")
    figure.suptitle("original vs reconstructed sessions (blue: high MI quality, orange: low)", fontsize=9)
    figure.tight_layout()
    return figure
