"""Topic models: BERTopic on precomputed sentence embeddings, and a TF-IDF + NMF baseline."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

OUTLIER = -1


@dataclass
class TopicModel:
    """What a fitted model says: each document's topic, each topic's words and examples."""

    assignments: list[int]
    words: dict[int, list[str]]
    weights: dict[int, list[float]]
    representative: dict[int, list[str]]

    def sizes(self) -> dict[int, int]:
        """Documents per topic."""
        topics, counts = np.unique(self.assignments, return_counts=True)
        return {int(t): int(c) for t, c in zip(topics, counts, strict=True)}

    def to_json(self) -> dict[str, Any]:
        """The model as JSON-ready dict (topic ids as strings)."""
        return {"assignments": self.assignments, "words": {str(k): v for k, v in self.words.items()},
                "weights": {str(k): v for k, v in self.weights.items()},
                "representative": {str(k): v for k, v in self.representative.items()}}

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> TopicModel:
        """The model a :meth:`to_json` dict describes."""
        return cls(list(values["assignments"]), *({int(k): v for k, v in values[part].items()}
                                                  for part in ("words", "weights", "representative")))


# One analyzer for the topic models and for the coherence that scores their words: the models'
# top words ("don", "ll") must be counted in the documents the way the models counted them.
TEXT_ANALYSIS = {"stop_words": "english", "lowercase": True, "token_pattern": r"(?u)\b\w\w+\b"}


def _vectorizer(options: Mapping[str, Any]) -> CountVectorizer:
    return CountVectorizer(**TEXT_ANALYSIS, ngram_range=(1, options["ngram_max"]), min_df=options["min_df"])


def _precomputed_only():
    from bertopic.backend import BaseEmbedder

    class PrecomputedOnly(BaseEmbedder):
        def embed(self, documents, verbose=False):
            raise RuntimeError(f"BERTopic asked to embed {len(documents)} texts: pass the documents' embeddings "
                               "(replisuite computes them once, in embed_answers)")

    return PrecomputedOnly()


def fit_bertopic(
    texts: Sequence[str],
    embeddings: np.ndarray,
    *,
    seed: int,
    umap: Mapping[str, Any],
    hdbscan: Mapping[str, Any],
    vectorizer: Mapping[str, Any],
    top_n: int = 10,
) -> TopicModel:
    """BERTopic with every random component seeded: UMAP -> HDBSCAN -> c-TF-IDF.

    ``embeddings`` are the documents' MiniLM vectors (computed once and cached). BERTopic gets an
    embedder that refuses to embed: with the vectors given it needs none, so no job loads MiniLM
    again and none can reach for a model hub.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    model = BERTopic(
        embedding_model=_precomputed_only(),
        umap_model=UMAP(n_neighbors=umap["n_neighbors"], n_components=umap["n_components"], min_dist=0.0,
                        metric="cosine", random_state=seed),
        hdbscan_model=HDBSCAN(min_cluster_size=hdbscan["min_cluster_size"], min_samples=hdbscan["min_samples"],
                              metric="euclidean", cluster_selection_method="eom", prediction_data=False),
        vectorizer_model=_vectorizer(vectorizer),
        top_n_words=top_n,
        calculate_probabilities=False,
    )
    assignments, _ = model.fit_transform(list(texts), embeddings)
    words, weights, representative = {}, {}, {}
    for topic in sorted(set(assignments)):
        pairs = model.get_topic(topic) or []
        words[int(topic)] = [w for w, _ in pairs][:top_n]
        weights[int(topic)] = [float(s) for _, s in pairs][:top_n]
        representative[int(topic)] = list((model.get_representative_docs(topic) or [])[:3])
    return TopicModel([int(t) for t in assignments], words, weights, representative)


def fit_nmf(texts: Sequence[str], *, n_topics: int, seed: int, vectorizer: Mapping[str, Any], top_n: int = 10) -> TopicModel:
    """TF-IDF + NMF with ``n_topics`` components; each document goes to its largest component."""
    tfidf = TfidfVectorizer(**TEXT_ANALYSIS, ngram_range=(1, vectorizer["ngram_max"]), min_df=vectorizer["min_df"],
                            max_df=0.95, sublinear_tf=True)
    matrix = tfidf.fit_transform(list(texts))
    nmf = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=500)
    document_weights = nmf.fit_transform(matrix)
    vocabulary = np.array(tfidf.get_feature_names_out())
    assignments = document_weights.argmax(axis=1)
    words, weights, representative = {}, {}, {}
    for topic, component in enumerate(nmf.components_):
        order = np.argsort(component)[::-1][:top_n]
        words[topic] = vocabulary[order].tolist()
        weights[topic] = component[order].astype(float).tolist()
        best = np.argsort(document_weights[:, topic])[::-1][:3]
        representative[topic] = [texts[i] for i in best]
    return TopicModel([int(t) for t in assignments], words, weights, representative)


def map_2d(embeddings: np.ndarray, *, seed: int, n_neighbors: int) -> np.ndarray:
    """A seeded 2-D UMAP of the documents for the map figure."""
    from umap import UMAP

    return UMAP(n_neighbors=n_neighbors, n_components=2, min_dist=0.1, metric="cosine", random_state=seed).fit_transform(embeddings)
