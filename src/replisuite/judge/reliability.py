"""Agreement and validity statistics for judges: Cohen's (weighted) kappa, ICC(2,1), Krippendorff's
alpha (the ``krippendorff`` package), Spearman, and the AUC of a score for a binary label with a
stratified bootstrap interval.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from replisuite.stats import cohen_kappa

__all__ = ["cohen_kappa", "icc_2_1", "krippendorff_alpha", "spearman", "auc", "auc_ci"]

def icc_2_1(ratings: np.ndarray) -> float:
    """ICC(2,1) (Shrout & Fleiss 1979): two-way random effects, absolute agreement, single rater.

    ``ratings`` is targets x raters; targets with any missing rating are dropped.
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    ratings = ratings[~np.isnan(ratings).any(axis=1)]
    n, k = ratings.shape
    if n < 2 or k < 2:
        return float("nan")
    grand = ratings.mean()
    ss_rows = k * ((ratings.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((ratings.mean(axis=0) - grand) ** 2).sum()
    ss_error = ((ratings - grand) ** 2).sum() - ss_rows - ss_cols
    ms_rows, ms_cols = ss_rows / (n - 1), ss_cols / (k - 1)
    ms_error = ss_error / ((n - 1) * (k - 1))
    denominator = ms_rows + (k - 1) * ms_error + k * (ms_cols - ms_error) / n
    return float((ms_rows - ms_error) / denominator) if denominator > 0 else float("nan")


def krippendorff_alpha(ratings: np.ndarray, *, level: str = "ordinal") -> float:
    """Krippendorff's alpha of a raters x units matrix (NaN = not rated), by the ``krippendorff`` package."""
    import krippendorff

    ratings = np.asarray(ratings, dtype=np.float64)
    if np.unique(ratings[~np.isnan(ratings)]).size < 2:
        return float("nan")  # one value in all: alpha is undefined
    if not ((~np.isnan(ratings)).sum(axis=0) >= 2).any():
        return float("nan")  # no unit rated twice (e.g. a resample of units one rater left missing): nothing to compare
    return float(krippendorff.alpha(reliability_data=ratings, level_of_measurement=level))


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho over the pairs where both values are present (NaN with fewer than 3 or a constant side)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keep = ~(np.isnan(a) | np.isnan(b))
    if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return float("nan")
    return float(stats.spearmanr(a[keep], b[keep]).statistic)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + 0.5 P(tie): the Mann-Whitney form of the ROC AUC.
    Units with a missing score are dropped.
    """
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    keep = ~np.isnan(scores)
    scores, labels = scores[keep], labels[keep]
    positives, negatives = labels.sum(), (~labels).sum()
    if not positives or not negatives:
        return float("nan")
    ranks = stats.rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def auc_ci(scores: np.ndarray, labels: np.ndarray, *, n_boot: int = 2000, level: float = 0.95,
           seed: int = 0) -> tuple[float, float, float]:
    """The AUC and a percentile bootstrap interval, resampling positives and negatives separately."""
    scores, labels = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    keep = ~np.isnan(scores)
    scores, labels = scores[keep], labels[keep]
    estimate = auc(scores, labels)
    if np.isnan(estimate):
        return estimate, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    positive, negative = scores[labels], scores[~labels]
    draws = np.empty(n_boot)
    for b in range(n_boot):
        p = rng.choice(positive, positive.size)
        q = rng.choice(negative, negative.size)
        draws[b] = auc(np.concatenate([p, q]), np.r_[np.ones(p.size, bool), np.zeros(q.size, bool)])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return estimate, float(low), float(high)
