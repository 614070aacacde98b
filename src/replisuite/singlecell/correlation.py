"""Exact Spearman rho and Kendall tau-b of one anchor gene against every gene, on sparse data.

A per-gene loop over ``scipy.stats.kendalltau`` costs O(n log n) Python-level work per gene on
tens of thousands of cells. Here the anchor is ranked once and each gene costs only its non-zero
cells: with y >= 0 and zeros implicit, every (non-zero, zero) pair is concordant exactly when the
anchor orders it the same way, so

    S = S(non-zero cells among themselves) + sum over non-zero cells p of (#x < x_p - #x > x_p),

where the second term is one sum per gene and the first an inversion count over the gene's
non-zero cells: the cells are put in anchor order once, so each gene needs one sort of its values
(numpy's) to rank them, and one Fenwick-tree pass over the ranks in cell order counts its
discordant pairs (a run of cells tied in the anchor enters the tree only when complete, so pairs
inside it are never discordant: the undetected-anchor cells need no second pass). Ties (the many zeros included) enter tau-b and its
variance exactly as in scipy's ``kendalltau(variant="b")``; rho is the Pearson correlation of
average ranks, as in ``spearmanr``. Both agree with scipy to floating-point precision (tested).
"""

from __future__ import annotations

import itertools

import numba
import numpy as np
import polars as pl
from scipy import sparse, stats

# non-zeros per block of genes whose value orders are held at once (4 bytes each)
GENE_BLOCK_VALUES = 1 << 24

RESULT_SCHEMA = {"gene": pl.String, "n": pl.Int64, "spearman_rho": pl.Float64, "spearman_p": pl.Float64,
                 "kendall_tau_b": pl.Float64, "kendall_p": pl.Float64}


@numba.njit(cache=True)
def _discordant_pairs(ranks, levels, runs):
    """Pairs i < j with runs[i] < runs[j] and ranks[i] > ranks[j] (discordant: x strictly below,
    y strictly above), pairs tied in both (same run, same rank), and pairs tied in x (same run).

    ``runs`` (the x ranks) are non-decreasing and ``ranks`` are integers in [0, levels). One pass:
    each element asks a Fenwick tree over the ranks how many earlier elements are at or below it;
    a run of tied x enters the tree only once it is complete, so pairs inside a run never count
    as discordant, and its ties in y are counted as it closes.
    """
    k = ranks.shape[0]
    tree = np.zeros(levels + 1, dtype=np.int32)
    seen = np.zeros(levels, dtype=np.int32)
    discordant = 0
    both = 0
    x_ties = 0
    inserted = 0
    run_start = 0
    for m in range(k + 1):
        if m == k or runs[m] != runs[run_start]:
            length = m - run_start
            if length > 1:
                x_ties += length * (length - 1) // 2
                for q in range(run_start, m):
                    both += seen[ranks[q]]
                    seen[ranks[q]] += 1
                for q in range(run_start, m):
                    seen[ranks[q]] = 0
            for q in range(run_start, m):
                j = ranks[q] + 1
                while j <= levels:
                    tree[j] += 1
                    j += j & -j
            inserted += length
            run_start = m
        if m < k and inserted > 0:
            at_or_below = 0
            j = ranks[m] + 1
            while j > 0:
                at_or_below += tree[j]
                j -= j & -j
            discordant += inserted - at_or_below
    return discordant, both, x_ties


def _value_orders(indptr: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Each gene's non-zero values' sort order (positions within the gene, int32). ``indptr`` may
    start past 0 (a block of genes): positions are from ``indptr[0]``.

    float32 values (the log-normalised data) are sorted by `_radix_orders` on their bits (3x
    numpy's per-gene argsort, measured on the published-scale data); other dtypes by numpy's sort per gene.
    """
    if data.dtype == np.float32:
        return _radix_orders(np.asarray(indptr, dtype=np.int64), data.view(np.uint32))
    orders = np.empty(int(indptr[-1] - indptr[0]), dtype=np.int32)
    base = int(indptr[0])
    for start, end in itertools.pairwise(indptr.tolist()):
        orders[start - base:end - base] = np.argsort(data[start:end])
    return orders


@numba.njit(cache=True)
def _radix_orders(indptr, bits):
    """Per gene, the stable order of its values by an LSD radix sort on their bits, a byte per
    pass (bytes that are equal for all of a gene's values are skipped; short genes use an
    insertion sort). For non-negative floats the bit patterns, read as unsigned integers, are in
    the order of the values.
    """
    base = indptr[0]
    genes = indptr.shape[0] - 1
    orders = np.empty(indptr[-1] - base, dtype=np.int32)
    longest = 0
    for g in range(genes):
        longest = max(longest, indptr[g + 1] - indptr[g])
    current = np.empty(longest, dtype=np.int32)
    scratch = np.empty(longest, dtype=np.int32)
    counts = np.zeros((4, 256), dtype=np.int64)
    for g in range(genes):
        start = indptr[g]
        k = indptr[g + 1] - start
        for i in range(k):
            current[i] = i
        if k <= 24:
            for i in range(1, k):
                p = current[i]
                key = bits[start + p]
                j = i - 1
                while j >= 0 and bits[start + current[j]] > key:
                    current[j + 1] = current[j]
                    j -= 1
                current[j + 1] = p
        else:
            counts[:, :] = 0
            for i in range(k):
                value = bits[start + i]
                counts[0, value & 255] += 1
                counts[1, (value >> 8) & 255] += 1
                counts[2, (value >> 16) & 255] += 1
                counts[3, value >> 24] += 1
            first = bits[start]
            for digit in range(4):
                shift = 8 * digit
                if counts[digit, (first >> shift) & 255] == k:
                    continue
                total = 0
                for d in range(256):
                    c = counts[digit, d]
                    counts[digit, d] = total
                    total += c
                for i in range(k):
                    p = current[i]
                    d = (bits[start + p] >> shift) & 255
                    scratch[counts[digit, d]] = p
                    counts[digit, d] += 1
                current, scratch = scratch, current
        orders[start - base:start - base + k] = current[:k]
    return orders


@numba.njit(cache=True)
def _tie_sums(sorted_values):
    """Sums over tie groups of t(t-1)/2, t(t-1)(t-2) and t(t-1)(2t+5) of a sorted array."""
    pairs = 0.0
    cubic = 0.0
    variance = 0.0
    n = sorted_values.shape[0]
    i = 0
    while i < n:
        j = i + 1
        while j < n and sorted_values[j] == sorted_values[i]:
            j += 1
        t = float(j - i)
        pairs += t * (t - 1) / 2
        cubic += t * (t - 1) * (t - 2)
        variance += t * (t - 1) * (2 * t + 5)
        i = j
    return pairs, cubic, variance


@numba.njit(cache=True)
def _column_counts(indices, data, genes):
    """Non-zero values per column of a CSR matrix (explicit zeros not counted)."""
    counts = np.zeros(genes, dtype=np.int64)
    for p in range(indices.shape[0]):
        if data[p] != 0:
            counts[indices[p]] += 1
    return counts


@numba.njit(cache=True)
def _anchor_ordered_block(indptr, indices, data, by_anchor, cursor, first, starts, rows, values):
    """Columns ``first, first + 1, ...`` (``starts``: their offsets into ``rows``/``values``, from 0)
    of a CSR matrix with sorted indices, rows taken in ``by_anchor`` order and explicit zeros dropped.

    Rows are visited in their new order, so every column's row indices come out sorted: each
    gene's non-zero cells are in anchor order. ``cursor`` holds each row's next unread position
    and is advanced past the block, so blocks must be asked for in column order.
    """
    last = first + starts.shape[0] - 1
    filled = starts[:-1].copy()
    for row in range(by_anchor.shape[0]):
        source = by_anchor[row]
        p = cursor[source]
        end = indptr[source + 1]
        while p < end and indices[p] < last:
            if data[p] != 0:
                g = indices[p] - first
                rows[filled[g]] = row
                values[filled[g]] = data[p]
                filled[g] += 1
            p += 1
        cursor[source] = p


@numba.njit(cache=True, parallel=True)
def _gene_pass(indptr, indices, data, value_orders, x_dense, x_centred, x_order_balance, n):
    """One pass per gene over its non-zero cells, given each gene's value order (``value_orders``
    from ``indptr[0]`` on: the genes may be a block of a larger matrix).

    Cells (rows) must be in anchor order, so that each gene's non-zero cells come x-sorted.
    Per gene: Kendall's S among the non-zero cells (inversions of the y ranks in x order, with
    runs of tied x counted apart) plus its pairs with the
    zero cells (the sum of #x below - #x above over its non-zero cells); the tie sums of its
    values with the zeros included; and the Spearman covariance and spread of average ranks
    (zeros sharing one rank) against the centred x ranks.
    """
    genes = indptr.shape[0] - 1
    s_total = np.zeros(genes)
    tie_pairs = np.zeros(genes)
    tie_cubic = np.zeros(genes)
    tie_variance = np.zeros(genes)
    covariance = np.zeros(genes)
    spread = np.zeros(genes)
    total_x = x_centred.sum()
    base = indptr[0]
    for g in numba.prange(genes):
        start, end = indptr[g], indptr[g + 1]
        k = end - start
        zeros = float(n - k)
        tie_pairs[g] = zeros * (zeros - 1) / 2
        tie_cubic[g] = zeros * (zeros - 1) * (zeros - 2)
        tie_variance[g] = zeros * (zeros - 1) * (2 * zeros + 5)
        zero_rank = (zeros + 1) / 2.0
        if k == 0:
            continue
        rows = indices[start:end]
        values = data[start:end]
        order = value_orders[start - base:end - base]
        dense = np.empty(k, dtype=np.int32)
        average = np.empty(k)
        y_ties = 0.0
        levels = 0
        i = 0
        while i < k:
            j = i + 1
            while j < k and values[order[j]] == values[order[i]]:
                j += 1
            t = float(j - i)
            y_ties += t * (t - 1) / 2
            tie_cubic[g] += t * (t - 1) * (t - 2)
            tie_variance[g] += t * (t - 1) * (2 * t + 5)
            for m in range(i, j):
                dense[order[m]] = levels
                average[order[m]] = zeros + (i + j + 1) / 2.0
            levels += 1
            i = j
        tie_pairs[g] += y_ties
        # Spearman: Pearson correlation of average ranks
        mean = (zero_rank * zeros + average.sum()) / n
        x_nonzero = 0.0
        cross = 0.0
        squares = 0.0
        mixed = 0.0
        for m in range(k):
            mixed += x_order_balance[rows[m]]
            rx = x_centred[rows[m]]
            x_nonzero += rx
            cross += (average[m] - mean) * rx
            squares += (average[m] - mean) ** 2
        covariance[g] = (zero_rank - mean) * (total_x - x_nonzero) + cross
        spread[g] = zeros * (zero_rank - mean) ** 2 + squares
        # Kendall: cells are in anchor order, so the y ranks in row order are x-sorted
        discordant, both, x_ties = _discordant_pairs(dense, levels, x_dense[rows])
        s_total[g] = (k * (k - 1) / 2 - float(x_ties) - y_ties + float(both) - 2.0 * float(discordant)
                      + mixed)
    return s_total, tie_pairs, tie_cubic, tie_variance, covariance, spread


def anchor_correlations(matrix, anchor: np.ndarray, genes: list[str], *, threads: int | None = None) -> pl.DataFrame:
    """Spearman rho and Kendall tau-b (with p-values) of ``anchor`` against every column.

    Parameters
    ----------
    matrix
        Cells x genes, non-negative (e.g. log-normalised counts), dense or scipy sparse.
    anchor
        The anchor gene's values in the same cells.
    genes
        Column names.
    threads
        Genes are shared out over this many threads (numba); None keeps numba's setting.

    Returns
    -------
    polars.DataFrame
        One row per gene: n, spearman_rho, spearman_p, kendall_tau_b, kendall_p. A gene (or an
        anchor) that is constant gives NaN, as scipy does.
    """
    x = np.asarray(anchor, dtype=np.float64).ravel()
    n = x.size
    if matrix.shape[0] != n:
        raise ValueError(f"anchor has {n} cells, the matrix {matrix.shape[0]}")
    by_anchor = np.argsort(x, kind="stable")
    x = x[by_anchor]
    csr = sparse.csr_matrix(matrix)
    csr.sum_duplicates()
    if csr.data.size and csr.data.min() < 0:
        raise ValueError("anchor_correlations needs non-negative data (zeros are the implicit values)")
    below = np.searchsorted(x, x, side="left")
    above = n - np.searchsorted(x, x, side="right")
    x_dense = np.searchsorted(np.unique(x), x).astype(np.int32)
    x_centred = stats.rankdata(x, method="average")
    x_centred = x_centred - x_centred.mean()
    if threads is not None:
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    balance = (below - above).astype(np.float64)
    # genes in blocks of about GENE_BLOCK_VALUES non-zeros, each put in anchor order in the same
    # buffers: a block's columns are written close together (one pass over all columns at once
    # missed the TLB on nearly every write) and the matrix is never held twice
    indptr = np.concatenate([[0], np.cumsum(_column_counts(csr.indices, csr.data, csr.shape[1]))])
    starts = np.searchsorted(indptr, np.arange(0, indptr[-1], GENE_BLOCK_VALUES), side="right") - 1
    cuts = np.unique(np.concatenate([[0], starts, [indptr.size - 1]])).tolist()
    largest = max((int(indptr[last] - indptr[first]) for first, last in itertools.pairwise(cuts)), default=0)
    rows = np.empty(largest, dtype=np.int32)
    values = np.empty(largest, dtype=csr.data.dtype)
    cursor = csr.indptr[:-1].astype(np.int64)
    parts = []
    for first, last in itertools.pairwise(cuts):
        block = indptr[first:last + 1] - indptr[first]
        _anchor_ordered_block(csr.indptr, csr.indices, csr.data, by_anchor, cursor, first, block, rows, values)
        parts.append(_gene_pass(block, rows, values, _value_orders(block, values), x_dense, x_centred, balance, n))
    s, y_pairs, y_cubic, y_variance, covariance, spread = (np.concatenate(column) for column in zip(*parts, strict=True))
    x_pairs, x_cubic, x_variance = _tie_sums(x)
    total = n * (n - 1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = s / np.sqrt((total - x_pairs) * (total - y_pairs))
        variance = ((n * (n - 1) * (2 * n + 5) - x_variance - y_variance) / 18
                    + x_cubic * y_cubic / (9 * n * (n - 1) * (n - 2))
                    + (2 * x_pairs) * (2 * y_pairs) / (2 * n * (n - 1)))
        z = s / np.sqrt(variance)
        rho = np.clip(covariance / np.sqrt(spread * (x_centred**2).sum()), -1.0, 1.0)
        t = rho * np.sqrt((n - 2) / ((1.0 + rho) * (1.0 - rho)))
        rho_p = np.where(np.isnan(rho), np.nan, 2 * stats.t.sf(np.abs(t), n - 2))
    tau_p = np.where(np.isnan(tau), np.nan, 2 * stats.norm.sf(np.abs(z)))
    return pl.DataFrame({"gene": list(genes), "n": np.full(len(genes), n), "spearman_rho": rho, "spearman_p": rho_p,
                         "kendall_tau_b": tau, "kendall_p": tau_p}, schema=RESULT_SCHEMA)
