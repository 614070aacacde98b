"""Topic quality: NPMI coherence over the corpus, and matching topics between two models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.feature_extraction.text import CountVectorizer

from replisuite.topics.model import TEXT_ANALYSIS


def npmi_coherence(topics: Sequence[Sequence[str]], documents: Sequence[str], *, top_n: int = 10) -> list[float]:
    """Mean normalised PMI of each topic's word pairs, from document co-occurrence in ``documents``.

    NPMI(a, b) = log(p(a,b) / (p(a) p(b))) / -log p(a,b), with -1 for pairs that never co-occur
    (Bouma 2009; Roeder et al. 2015's C_NPMI with boolean-document windows). Documents are split
    into words by the topic models' own analyzer (:data:`TEXT_ANALYSIS`).
    """
    vocabulary = sorted({w for topic in topics for w in topic[:top_n]})
    if not vocabulary:
        return [float("nan")] * len(topics)
    vectorizer = CountVectorizer(vocabulary=vocabulary, binary=True, **TEXT_ANALYSIS,
                                 ngram_range=(1, max(len(w.split()) for w in vocabulary)))
    present = vectorizer.fit_transform(documents).astype(np.float64)
    n = present.shape[0]
    together = (present.T @ present).toarray() / n
    single = np.asarray(present.sum(axis=0)).ravel() / n
    index = {w: i for i, w in enumerate(vocabulary)}
    scores = []
    for topic in topics:
        words = [index[w] for w in topic[:top_n] if w in index]
        values = []
        for a in range(len(words)):
            for b in range(a + 1, len(words)):
                i, j = words[a], words[b]
                joint = together[i, j]
                if joint == 0 or single[i] == 0 or single[j] == 0:
                    values.append(-1.0)
                elif joint == 1:
                    values.append(1.0)
                else:
                    values.append(float(np.log(joint / (single[i] * single[j])) / -np.log(joint)))
        scores.append(float(np.mean(values)) if values else float("nan"))
    return scores


def jaccard(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard similarity of two word lists as sets (0 when both are empty)."""
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 0.0


def match_topics(first: Sequence[Sequence[str]], second: Sequence[Sequence[str]]) -> list[tuple[int, int, float]]:
    """Pair topics one-to-one to maximise the total top-word Jaccard overlap (Hungarian algorithm).

    Returns (index in ``first``, index in ``second``, overlap) for each pair.
    """
    if not first or not second:
        return []
    overlap = np.array([[jaccard(a, b) for b in second] for a in first])
    rows, cols = linear_sum_assignment(-overlap)
    return [(int(r), int(c), float(overlap[r, c])) for r, c in zip(rows, cols, strict=True)]
