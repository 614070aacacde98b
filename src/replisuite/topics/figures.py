"""Figures of the topics study."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib import pyplot as plt

from replisuite.topics.model import OUTLIER, TopicModel


def _label(model: TopicModel, topic: int) -> str:
    return "outliers" if topic == OUTLIER else f"{topic}: " + ", ".join(model.words[topic][:3])


def sizes_by_group(by_group: pl.DataFrame, model: TopicModel, *, groups: list[str]):
    """Share of each group's answers per topic, for the two compared groups."""
    topics = sorted(t for t in by_group["topic"].unique().to_list() if t != OUTLIER)
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(topics) + 1.2))
    height = 0.4
    for k, group in enumerate(groups):
        rows = dict(by_group.filter(pl.col("group") == group).select("topic", "share_of_group").iter_rows())
        axis.barh(np.arange(len(topics)) + (k - 0.5) * height, [rows.get(t, 0.0) for t in topics], height, label=group)
    axis.set_yticks(np.arange(len(topics)), [_label(model, t) for t in topics], fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("share of the group's answers")
    axis.legend()
    axis.set_title("Topic sizes by therapist group (BERTopic, reference seed)")
    return figure


def topic_words(model: TopicModel, topics: list[int]):
    """c-TF-IDF weights of each topic's top words."""
    columns = 4
    rows = int(np.ceil(len(topics) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(11, 2.4 * rows), squeeze=False)
    for axis in axes.ravel():
        axis.set_visible(False)
    for axis, topic in zip(axes.ravel(), topics, strict=False):
        axis.set_visible(True)
        words, weights = model.words[topic][:8][::-1], model.weights[topic][:8][::-1]
        axis.barh(words, weights, color="tab:blue")
        axis.set_title(f"topic {topic}", fontsize=8)
        axis.tick_params(labelsize=7)
    figure.suptitle("Top words per topic (c-TF-IDF)")
    return figure


def document_map(coordinates: np.ndarray, assignments: list[int], model: TopicModel):
    """2-D UMAP of the answers coloured by topic (outliers grey)."""
    figure, axis = plt.subplots(figsize=(7, 6))
    assignments = np.asarray(assignments)
    outliers = assignments == OUTLIER
    axis.scatter(*coordinates[outliers].T, s=3, color="lightgrey", label="outliers")
    cmap = plt.get_cmap("tab20")
    for k, topic in enumerate(sorted(set(assignments[~outliers].tolist()))):
        axis.scatter(*coordinates[assignments == topic].T, s=4, color=cmap(k % 20), label=_label(model, topic) if k < 12 else None)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(fontsize=6, markerscale=3, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axis.set_title("CounselChat answers, 2-D UMAP of MiniLM embeddings, coloured by topic")
    return figure
