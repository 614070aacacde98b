"""Figures of coded text shared by the studies: networks, co-occurrence heat maps, timelines."""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np
import polars as pl
from matplotlib import pyplot as plt

from replisuite.coding import networks


def draw_network(axis, g: nx.Graph, *, title: str) -> None:
    """One network: node size by processes, edge width by weight, seeded layout."""
    axis.set_title(title, fontsize=8)
    axis.axis("off")
    if not g.number_of_nodes():
        axis.text(0.5, 0.5, "no themes", ha="center", va="center", transform=axis.transAxes)
        return
    layout = nx.spring_layout(g, seed=0)
    sizes = [200 + 120 * g.nodes[n].get("processes", 0) for n in g]
    widths = [0.5 + float(d.get("weight", 1.0)) for _, _, d in g.edges(data=True)]
    nx.draw_networkx_edges(g, layout, ax=axis, width=widths, alpha=0.5)
    nx.draw_networkx_nodes(g, layout, ax=axis, node_size=sizes, node_color="tab:blue", alpha=0.7)
    nx.draw_networkx_labels(g, layout, ax=axis, labels={n: "\n".join(str(n).split()[:3]) for n in g}, font_size=6)


def networks_figure(nodes: pl.DataFrame, edges: pl.DataFrame, *, methods: Sequence[str] = ("multi-step", "direct")):
    """Each case's networks, one row per case and one column per method."""
    cases = sorted(set(nodes["case"]) | set(edges["case"]))
    figure, axes = plt.subplots(max(len(cases), 1), len(methods), figsize=(4.0 * len(methods), 3.4 * max(len(cases), 1)),
                                squeeze=False)
    for row, case in enumerate(cases):
        for column, method in enumerate(methods):
            g = networks.graph(nodes.filter((pl.col("case") == case) & (pl.col("method") == method)),
                               edges.filter((pl.col("case") == case) & (pl.col("method") == method)))
            draw_network(axes[row][column], g, title=f"{case}: {method}")
    return figure


def heatmap(matrix: np.ndarray, labels: Sequence[str], *, title: str, colorbar: str):
    """An annotated square heatmap of ``matrix`` with ``labels`` on both axes."""
    figure, axis = plt.subplots(figsize=(1.0 + 0.5 * len(labels), 0.8 + 0.5 * len(labels)))
    image = axis.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        axis.text(j, i, f"{value:g}", ha="center", va="center", fontsize=6,
                  color="white" if value > matrix.max() * 0.6 else "black")
    axis.set_xticks(range(len(labels)), [label.replace("_", "\n") for label in labels], fontsize=6, rotation=90)
    axis.set_yticks(range(len(labels)), labels, fontsize=6)
    axis.grid(False)
    axis.set_title(title, fontsize=9)
    figure.colorbar(image, ax=axis, label=colorbar, shrink=0.7)
    return figure


def cooccurrence_figure(cooccurrence: pl.DataFrame, *, title: str):
    """Units carrying both codes (diagonal: the code's frequency), over all cases."""
    overall = cooccurrence.filter(pl.col("case") == "all")
    labels = sorted(set(overall["a"]) | set(overall["b"]))
    matrix = np.zeros((len(labels), len(labels)))
    for a, b, count in overall.select("a", "b", "units").iter_rows():
        i, j = labels.index(a), labels.index(b)
        matrix[i, j] = matrix[j, i] = count
    return heatmap(matrix, labels, title=title, colorbar="excerpts")


def timeline_figure(codings: pl.DataFrame, excerpts: pl.DataFrame, *, codes: Sequence[str], title: str):
    """Per case, the codes of its excerpts in story order (one marker per code and excerpt)."""
    merged = codings.join(excerpts.select("unit", "case", "order"), on="unit").filter(pl.col("code").is_in(list(codes)))
    cases = sorted(excerpts["case"].unique().to_list())
    figure, axis = plt.subplots(figsize=(6.5, 0.45 * len(cases) + 1.2))
    cmap = plt.get_cmap("tab10")
    offsets = np.linspace(-0.25, 0.25, len(codes))
    for k, code in enumerate(codes):
        # sorted: polars' unique keeps no order, and the PDF lists points in drawing order
        rows = merged.filter(pl.col("code") == code).unique(["unit"]).sort("unit")
        axis.scatter(rows["order"] + offsets[k], [cases.index(c) for c in rows["case"]], color=cmap(k % 10), label=code, s=30)
    for row, case in enumerate(cases):
        orders = excerpts.filter(pl.col("case") == case)["order"]
        axis.plot([orders.min(), orders.max()], [row, row], color="grey", linewidth=0.6, zorder=0)
    axis.set_yticks(range(len(cases)), cases)
    axis.set_xlabel("excerpt, in the order told")
    axis.set_title(title, fontsize=9)
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    return figure
