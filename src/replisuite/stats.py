"""Statistics shared by the studies: bootstrap intervals, multiple testing, agreement."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy import stats as scipy_stats


def name_seed(base: int, *names: str) -> int:
    """A seed for one named unit (patient, model, scenario) derived from ``base`` and its names.

    Never from a position in a list: adding, removing or reordering other entries leaves this
    unit's seed, and so its results, unchanged.
    """
    digest = hashlib.sha256("\x1f".join(map(str, names)).encode()).digest()
    return int(np.random.SeedSequence([int(base), int.from_bytes(digest[:8], "little")]).generate_state(1)[0])


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``values`` (NaNs dropped) with a percentile bootstrap interval.

    Returns ``(mean, low, high)``; all NaN when no value is left.
    """
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    if data.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    means = rng.choice(data, size=(n_boot, data.size), replace=True).mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(data.mean()), float(low), float(high)


def cluster_bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray,
    groups: Sequence[str] | np.ndarray,
    *,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Mean of ``values`` with a percentile bootstrap interval that resamples whole groups
    (e.g. all pairs of one question), as the units are not independent within a group.

    Returns ``(mean, low, high)``; all NaN when no value is left (NaNs are dropped).
    """
    data = np.asarray(values, dtype=float)
    labels = np.asarray(groups)
    keep = ~np.isnan(data)
    data, labels = data[keep], labels[keep]
    if data.size == 0:
        return (np.nan, np.nan, np.nan)
    _, index = np.unique(labels, return_inverse=True)
    sums = np.bincount(index, weights=data)
    counts = np.bincount(index).astype(float)
    picks = np.random.default_rng(seed).integers(0, sums.size, size=(n_boot, sums.size))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(data.mean()), float(low), float(high)


def bh_fdr(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaNs are kept as NaN)."""
    from statsmodels.stats.multitest import multipletests  # pandas with it: most jobs need neither

    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        adjusted[finite] = multipletests(p[finite], method="fdr_bh")[1]
    return adjusted


KAPPA_WEIGHTS = (None, "linear", "quadratic")


def cohen_kappa(a: Sequence, b: Sequence, *, weights: str | None = None, categories: Sequence | None = None) -> float:
    """Cohen's kappa of two raters over the items both rated (None/NaN dropped).

    ``weights``: None, "linear" or "quadratic" (ordinal scales: distances on the index of
    ``categories``). ``categories`` is the scale in order; pass the instrument's full scale so
    that a point no rater used still counts. Default: the observed labels, sorted. Undefined
    (nothing rated, or chance agreement 1 so that kappa is 0/0) is NaN.
    """
    if weights not in KAPPA_WEIGHTS:
        raise ValueError(f"weights must be one of {KAPPA_WEIGHTS}, got {weights!r}")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if _present(x) and _present(y)]
    if not pairs:
        return float("nan")
    if categories is None:
        levels = sorted({x for pair in pairs for x in pair}, key=_order)
    else:
        levels = list(categories)
    index = {label: i for i, label in enumerate(levels)}
    unknown = sorted({x for pair in pairs for x in pair if x not in index}, key=str)
    if unknown:
        raise ValueError(f"ratings {unknown} are not in the categories {levels}")
    k = len(levels)
    observed = np.zeros((k, k))
    for x, y in pairs:
        observed[index[x], index[y]] += 1
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
    disagreement = {None: (distance > 0).astype(np.float64), "linear": distance, "quadratic": distance**2}[weights]
    denominator = (disagreement * expected).sum()
    if denominator == 0:
        return float("nan")
    return float(1 - (disagreement * observed).sum() / denominator)


def _order(label):
    return (0, float(label), "") if isinstance(label, (int, float, np.number)) else (1, 0.0, str(label))


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> tuple[float, float, float]:
    """A proportion with its Wilson score interval (Wilson 1927): honest for small ``n`` and for
    rates near 0 or 1, where a Wald or percentile-bootstrap interval collapses. NaN when n is 0.
    """
    if n <= 0:
        return (float("nan"), float("nan"), float("nan"))
    z = float(scipy_stats.norm.ppf(1 - (1 - level) / 2))
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return float(p), float(max(0.0, centre - half)), float(min(1.0, centre + half))


def cluster_difference_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    paired: bool,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Difference of the means of two sets of per-stimulus (per-cluster) values, each stimulus
    weighted equally, with a percentile interval that resamples stimuli, not the replies inside
    them. ``paired``: ``a[i]`` and ``b[i]`` are the same stimulus (resampled together); otherwise
    the two sets are resampled separately (e.g. the vignettes of two conditions).

    Returns ``(difference, low, high)``; all NaN when either side is empty (NaNs are dropped, in
    pairs when ``paired``).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        keep = ~(np.isnan(a) | np.isnan(b))
        a, b = a[keep], b[keep]
    else:
        a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (np.nan, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    if paired:
        picks = rng.integers(0, a.size, size=(n_boot, a.size))
        draws = a[picks].mean(axis=1) - b[picks].mean(axis=1)
    else:
        draws = (a[rng.integers(0, a.size, size=(n_boot, a.size))].mean(axis=1)
                 - b[rng.integers(0, b.size, size=(n_boot, b.size))].mean(axis=1))
    tail = (1 - level) / 2
    low, high = np.quantile(draws, [tail, 1 - tail])
    return float(a.mean() - b.mean()), float(low), float(high)


def corrected_resampled_ttest(values: Sequence[float] | np.ndarray, *, test_train_ratio: float,
                              alternative: str = "greater") -> dict[str, float | str]:
    """The corrected resampled t-test (Nadeau & Bengio 2003) of the mean of ``values`` against 0.

    ``values`` come from repeated random train/test splits of the same cells, so they are
    correlated and the one-sample t-test's variance ``s^2 / J`` is too small. The correction uses
    ``(1 / J + n_test / n_train) s^2`` (``test_train_ratio`` = n_test / n_train); with a ratio of 0
    it is the one-sample t-test. ``alternative``: ``"greater"``, ``"less"`` or ``"two-sided"``.
    NaN values are dropped; fewer than two values, or none that differ, give a NaN p.
    """
    if alternative not in ("greater", "less", "two-sided"):
        raise ValueError(f"alternative {alternative!r}; expected 'greater', 'less' or 'two-sided'")
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    count = values.size
    mean = float(values.mean()) if count else float("nan")
    sd = float(values.std(ddof=1)) if count > 1 else float("nan")
    if count < 2 or not sd > 0:
        return {"mean": mean, "sd": sd, "statistic": float("nan"), "p_value": float("nan")}
    statistic = mean / np.sqrt((1 / count + test_train_ratio) * sd**2)
    distribution = scipy_stats.t(count - 1)
    p = {"greater": distribution.sf(statistic), "less": distribution.cdf(statistic),
         "two-sided": 2 * distribution.sf(abs(statistic))}[alternative]
    return {"mean": mean, "sd": sd, "statistic": float(statistic), "p_value": float(p)}
