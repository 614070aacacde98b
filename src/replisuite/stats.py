"""Statistics shared by the studies: bootstrap intervals, multiple testing, agreement."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from statsmodels.stats.multitest import multipletests


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
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    finite = ~np.isnan(p)
    if finite.any():
        adjusted[finite] = multipletests(p[finite], method="fdr_bh")[1]
    return adjusted


def cohen_kappa(a: Sequence, b: Sequence) -> float:
    """Cohen's kappa of two raters over the items both rated (None/NaN dropped)."""
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if _present(x) and _present(y)]
    if not pairs:
        return float("nan")
    labels = sorted({x for pair in pairs for x in pair}, key=str)
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in pairs:
        table[index[x], index[y]] += 1
    total = table.sum()
    observed = np.trace(table) / total
    expected = (table.sum(axis=0) * table.sum(axis=1)).sum() / total**2
    if expected == 1:
        return 1.0 if observed == 1 else float("nan")
    return float((observed - expected) / (1 - expected))


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value))
