"""Utterance classifiers, cross-validated with whole transcripts held out, and their metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
from scipy import sparse

CLASSIFIERS = ("tfidf", "tfidf+context", "embedding", "embedding+context")

PREDICTIONS_SCHEMA = {
    "task": pl.String, "classifier": pl.String, "transcript_id": pl.Int64, "utterance_id": pl.Int64,
    "fold": pl.Int64, "label": pl.String, "predicted": pl.String,
}


def _tfidf_features(train: pl.DataFrame, test: pl.DataFrame, *, context: bool, options: Mapping[str, Any]):
    from sklearn.feature_extraction.text import TfidfVectorizer  # scikit-learn only where it is used (~1 s to load)

    def vectorizer():
        return TfidfVectorizer(ngram_range=(1, options["ngram_max"]), min_df=options["min_df"], sublinear_tf=True)

    current = vectorizer()
    blocks_train = [current.fit_transform(train["utterance_text"])]
    blocks_test = [current.transform(test["utterance_text"])]
    if context:
        # the first utterance of a session has no previous one: it gets a token of its own
        def previous_texts(frame):
            return [text or "sessionstart" for text in frame["previous_text"]]

        previous = vectorizer()
        blocks_train.append(previous.fit_transform(previous_texts(train)))
        blocks_test.append(previous.transform(previous_texts(test)))
    return sparse.hstack(blocks_train).tocsr(), sparse.hstack(blocks_test).tocsr()


def _embedding_features(frame: pl.DataFrame, *, context: bool, vectors: Mapping[str, np.ndarray]) -> np.ndarray:
    current = np.stack([vectors[t] for t in frame["utterance_text"]])
    if not context:
        return current
    return np.hstack([current, np.stack([vectors[t] for t in frame["previous_text"]])])


def cross_validate(
    frame: pl.DataFrame,
    task: str,
    *,
    classifier: str,
    n_splits: int,
    seed: int,
    tfidf: Mapping[str, Any],
    C: float,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> pl.DataFrame:
    """Out-of-fold predictions for ``task`` with no transcript in both a training and a test fold.

    Parameters
    ----------
    frame
        The task's utterances (:func:`replisuite.coding.annomi.task_frame`).
    classifier
        ``tfidf`` / ``embedding``, optionally ``+context`` (the previous utterance's features,
        from its own vectoriser or embedding, are concatenated).
    tfidf
        ``ngram_max`` and ``min_df`` of the TF-IDF vectorisers (fitted on each training fold).
    C
        Inverse regularisation of the (class-balanced) logistic regression.
    vectors
        Text -> embedding, for the embedding classifiers.
    """
    from sklearn.model_selection import GroupKFold

    _check(classifier, vectors)
    folds = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    labels = frame[task].to_numpy()
    predicted = np.empty(frame.height, dtype=object)
    fold_of = np.empty(frame.height, dtype=np.int64)
    for fold, (train_index, test_index) in enumerate(folds.split(frame, labels, groups=frame["transcript_id"].to_numpy())):
        predicted[test_index] = fit_predict(frame[train_index], frame[test_index], labels[train_index],
                                            classifier=classifier, tfidf=tfidf, C=C, vectors=vectors)
        fold_of[test_index] = fold
    return pl.DataFrame(
        {
            "task": task, "classifier": classifier, "transcript_id": frame["transcript_id"],
            "utterance_id": frame["utterance_id"], "fold": fold_of, "label": labels, "predicted": predicted.astype(str),
        },
        schema=PREDICTIONS_SCHEMA,
    )


def _check(classifier: str, vectors: Mapping[str, np.ndarray] | None) -> None:
    if classifier not in CLASSIFIERS:
        raise ValueError(f"classifier must be one of {CLASSIFIERS}, got {classifier!r}")
    if classifier.startswith("embedding") and vectors is None:
        raise ValueError("embedding classifiers need the text embeddings")


def fit_predict(train: pl.DataFrame, test: pl.DataFrame, labels: np.ndarray, *, classifier: str,
                tfidf: Mapping[str, Any], C: float, vectors: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """Fit on ``train`` (``utterance_text``, ``previous_text``) with ``labels`` and predict ``test``'s labels."""
    _check(classifier, vectors)
    kind, context = classifier.split("+")[0], classifier.endswith("+context")
    if kind == "tfidf":
        x_train, x_test = _tfidf_features(train, test, context=context, options=tfidf)
    else:
        x_train = _embedding_features(train, context=context, vectors=vectors)
        x_test = _embedding_features(test, context=context, vectors=vectors)
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    model.fit(x_train, labels)
    return model.predict(x_test)


def _confusions(predictions: pl.DataFrame, classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-transcript confusion matrices (transcripts x true x predicted) and their transcript ids."""
    index = {c: i for i, c in enumerate(classes)}
    transcripts = predictions["transcript_id"].unique().sort().to_numpy()
    position = {t: i for i, t in enumerate(transcripts)}
    counts = np.zeros((len(transcripts), len(classes), len(classes)))
    for t, y, p in zip(predictions["transcript_id"], predictions["label"], predictions["predicted"], strict=True):
        counts[position[t], index[y], index[p]] += 1
    return counts, transcripts


def _f1(confusion: np.ndarray) -> np.ndarray:
    """Per-class F1 from confusion matrices (..., true, predicted); 0 where undefined."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)
    support = confusion.sum(axis=-1)
    predicted = confusion.sum(axis=-2)
    denominator = support + predicted
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)


def f1_scores(predictions: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Per-class and macro F1 with 95% intervals from a bootstrap over transcripts."""
    classes = sorted(set(predictions["label"]) | set(predictions["predicted"]))
    counts, _ = _confusions(predictions, classes)
    point = _f1(counts.sum(axis=0))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, counts.shape[0], size=(n_boot, counts.shape[0]))
    boot = _f1(counts[draws].sum(axis=1))
    support = counts.sum(axis=(0, 2))
    observed = sorted(set(predictions["label"]))
    keep = [classes.index(c) for c in observed]
    macro_boot = boot[:, keep].mean(axis=1)
    rows = [
        {"class": c, "f1": float(point[i]), "ci_low": float(np.quantile(boot[:, i], 0.025)),
         "ci_high": float(np.quantile(boot[:, i], 0.975)), "support": int(support[i])}
        for c, i in zip(observed, keep, strict=True)
    ]
    rows.append({"class": "macro", "f1": float(point[keep].mean()), "ci_low": float(np.quantile(macro_boot, 0.025)),
                 "ci_high": float(np.quantile(macro_boot, 0.975)), "support": int(support.sum())})
    task, classifier = predictions["task"][0], predictions["classifier"][0]
    return pl.DataFrame(rows).select(pl.lit(task).alias("task"), pl.lit(classifier).alias("classifier"), pl.all())


def confusion_table(predictions: pl.DataFrame) -> pl.DataFrame:
    """Counts of (true label, predicted label)."""
    return (
        predictions.group_by("task", "classifier", "label", "predicted").agg(pl.len().cast(pl.Int64).alias("count"))
        .sort("task", "classifier", "label", "predicted")
    )
