"""Reward models for counselling replies, all scored the same way: the margin ``r(q, chosen) -
r(q, rejected)`` on held-out pairs.

* Bradley-Terry (a logistic model on feature differences, no intercept) on three feature sets:
  frozen MiniLM embeddings of the reply and of its product with the question's embedding
  (relevance), the reply's log length (the length baseline), and TF-IDF of the reply (a lexical
  baseline that never sees the upvotes' source).
* Zero-shot: the embedded language model's log-likelihood of each reply after the question,
  summed or per token.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy import optimize, sparse

from replisuite.stats import cluster_bootstrap_mean_ci, name_seed

PREDICTION_SCHEMA = {"pair_id": pl.String, "question_id": pl.String, "model": pl.String, "margin": pl.Float64,
                     "p_chosen": pl.Float64}
ACCURACY_SCHEMA = {"model": pl.String, "pairs": pl.Int64, "questions": pl.Int64, "accuracy": pl.Float64,
                   "ci_low": pl.Float64, "ci_high": pl.Float64, "log_loss": pl.Float64, "brier": pl.Float64}
CALIBRATION_SCHEMA = {"model": pl.String, "bin": pl.Int64, "pairs": pl.Int64, "mean_predicted": pl.Float64,
                      "observed": pl.Float64}


def fit_bradley_terry(differences: np.ndarray | sparse.spmatrix, *, l2: float) -> np.ndarray:
    """Weights ``w`` maximising ``sum log sigmoid(w . d) - l2/2 |w|^2`` over pair differences ``d``
    (chosen minus rejected features): the Bradley-Terry model with a linear reward.
    """
    d = sparse.csr_matrix(differences) if sparse.issparse(differences) else np.asarray(differences, dtype=float)

    def objective(w):
        margin = d @ w
        value = np.logaddexp(0.0, -margin).sum() + 0.5 * l2 * w @ w
        gradient = -(d.T @ (1.0 / (1.0 + np.exp(margin)))) + l2 * w
        return value, np.asarray(gradient).ravel()

    start = np.zeros(d.shape[1])
    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-8})
    return result.x


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def embedding_features(question_vectors: np.ndarray, reply_vectors: np.ndarray) -> np.ndarray:
    """A reply's embedding and its elementwise product with its question's (unit-length MiniLM rows)."""
    return np.hstack([reply_vectors, reply_vectors * question_vectors])


def length_features(replies: Sequence[str]) -> np.ndarray:
    """The log word count of each reply, as a one-column feature matrix."""
    return np.log1p(np.array([len(r.split()) for r in replies], dtype=float))[:, None]


def predictions(pairs: pl.DataFrame, model: str, margins: np.ndarray) -> pl.DataFrame:
    """Per pair: the reward margin (chosen minus rejected) and the probability it gives the chosen reply."""
    margins = np.asarray(margins, dtype=float)
    return pl.DataFrame({"pair_id": pairs["pair_id"], "question_id": pairs["question_id"],
                         "model": [model] * pairs.height, "margin": margins, "p_chosen": _sigmoid(margins)},
                        schema=PREDICTION_SCHEMA)


def select_l2(differences, groups: np.ndarray, grid: Sequence[float], *, n_splits: int = 5) -> float:
    """The penalty of ``grid`` with the lowest held-out log loss in folds grouped by question."""
    from sklearn.model_selection import GroupKFold  # here: the study's model jobs need no scikit-learn

    folds = GroupKFold(n_splits=min(n_splits, len(set(groups))))
    losses = []
    for l2 in grid:
        total = 0.0
        for train_index, test_index in folds.split(np.zeros(len(groups)), groups=groups):
            weights = fit_bradley_terry(differences[train_index], l2=l2)
            total += np.logaddexp(0.0, -np.asarray(differences[test_index] @ weights).ravel()).sum()
        losses.append(total)
    return float(grid[int(np.argmin(losses))])


def trained_rewards(train: pl.DataFrame, test: pl.DataFrame, *, features: dict[str, tuple[np.ndarray, np.ndarray]],
                    l2_grid: dict[str, Sequence[float]]) -> tuple[pl.DataFrame, dict[str, np.ndarray], dict[str, float]]:
    """Fit one Bradley-Terry model per feature set on ``train`` (its L2 penalty chosen from
    ``l2_grid[name]`` by question-grouped cross-validation inside ``train``) and predict ``test``.

    ``features[name]`` holds (train chosen minus rejected, test chosen minus rejected) rows.
    Returns the test predictions, each model's weights and each chosen penalty.
    """
    frames, weights, chosen = [], {}, {}
    groups = train["question_id"].to_numpy()
    for name, (train_diff, test_diff) in features.items():
        grid = l2_grid[name]
        chosen[name] = select_l2(train_diff, groups, grid) if len(grid) > 1 else float(grid[0])
        weights[name] = fit_bradley_terry(train_diff, l2=chosen[name])
        frames.append(predictions(test, name, np.asarray(test_diff @ weights[name]).ravel()))
    return pl.concat(frames), weights, chosen


def tfidf_differences(train: pl.DataFrame, test: pl.DataFrame, *, min_df: int, max_features: int):
    """TF-IDF (fitted on the training replies only) differences of chosen and rejected replies."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(min_df=min_df, max_features=max_features, sublinear_tf=True, stop_words="english")
    vectorizer.fit(pl.concat([train["chosen"], train["rejected"]]).to_list())
    diff = [vectorizer.transform(f["chosen"].to_list()) - vectorizer.transform(f["rejected"].to_list()) for f in (train, test)]
    return diff[0], diff[1]


def accuracy_table(predicted: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Pairwise accuracy (a zero margin counts half) with a bootstrap interval over questions, log loss
    and Brier score of ``p_chosen``; plus the coin-flip row every model must beat.
    """
    rows = []
    for (model,), frame in predicted.group_by("model", maintain_order=True):
        margin, p = frame["margin"].to_numpy(), np.clip(frame["p_chosen"].to_numpy(), 1e-12, 1 - 1e-12)
        correct = (margin > 0) + 0.5 * (margin == 0)
        accuracy, low, high = cluster_bootstrap_mean_ci(correct, frame["question_id"].to_numpy(), n_boot=n_boot,
                                                        seed=name_seed(seed, model))
        rows.append((model, frame.height, frame["question_id"].n_unique(), accuracy, low, high,
                     float(-np.log(p).mean()), float(((1 - p) ** 2).mean())))
    if rows:
        rows.append(("coin flip", rows[0][1], rows[0][2], 0.5, 0.5, 0.5, float(np.log(2)), 0.25))
    return pl.DataFrame(rows, schema=ACCURACY_SCHEMA, orient="row")


def calibration_table(predicted: pl.DataFrame, *, bins: int, seed: int) -> pl.DataFrame:
    """Reliability of ``p_chosen``: each pair shown in an order drawn from its id, the predicted
    probability that the first reply is preferred against how often it is, in equal-width bins.
    """
    rows = []
    for (model,), frame in predicted.group_by("model", maintain_order=True):
        flip = np.array([np.random.default_rng(name_seed(seed, "order", pid)).random() < 0.5 for pid in frame["pair_id"]])
        p_first = np.where(flip, 1 - frame["p_chosen"].to_numpy(), frame["p_chosen"].to_numpy())
        first_chosen = (~flip).astype(float)
        which = np.minimum((p_first * bins).astype(int), bins - 1)
        for b in range(bins):
            mask = which == b
            if mask.any():
                rows.append((model, b, int(mask.sum()), float(p_first[mask].mean()), float(first_chosen[mask].mean())))
    return pl.DataFrame(rows, schema=CALIBRATION_SCHEMA, orient="row")
