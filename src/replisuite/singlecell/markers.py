"""Differential expression between two sets of cells (scanpy's tie-corrected Wilcoxon, computed on
the sparse matrix) and GO over-representation (Enrichr's hypergeometric statistics, as gseapy's
offline ``enrich``, against the expressed-gene background).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anndata as ad
import numba
import numpy as np
import polars as pl
from scipy import sparse, stats

from replisuite.stats import bh_fdr

DEG_SCHEMA = {"gene": pl.String, "log2fc": pl.Float64, "score": pl.Float64, "p_value": pl.Float64, "p_adj": pl.Float64}
ENRICHMENT_SCHEMA = {"term": pl.String, "overlap": pl.String, "hits": pl.Int64, "p_value": pl.Float64, "p_adj": pl.Float64,
                     "odds_ratio": pl.Float64, "combined_score": pl.Float64, "genes": pl.String}


def rank_genes(adata: ad.AnnData, target: np.ndarray, reference: np.ndarray) -> pl.DataFrame:
    """Wilcoxon rank-sum DE of ``target`` cells against ``reference`` cells (boolean masks) on ``adata.X``.

    The statistics of scanpy's ``rank_genes_groups(method="wilcoxon", tie_correct=True)`` with
    ``reference`` as the reference group: the tie-corrected z-score (equal to
    ``scipy.stats.mannwhitneyu``, asymptotic, no continuity correction), its two-sided p-value,
    BH over all genes (a constant gene: score 0, p 1, as scanpy), and
    ``log2((expm1(mean target) + 1e-9) / (expm1(mean reference) + 1e-9))``; scores and fold changes
    are rounded to float32 as scanpy stores them. ``adata.X`` must be log-normalised. Computed on
    the sparse matrix: the zeros of a gene are one tie group, so a gene costs a sort of its
    non-zero values only (scanpy ranks a dense copy of every gene). Genes are sorted by score,
    highest first, ties in the data's gene order (tested against scanpy).
    """
    if target.sum() < 2 or reference.sum() < 2:
        raise ValueError(f"differential expression needs at least 2 cells per side, got {int(target.sum())} "
                         f"and {int(reference.sum())}")
    chosen = np.flatnonzero(target | reference)
    matrix = adata.X[chosen]
    columns = sparse.csc_matrix(matrix) if sparse.issparse(matrix) else sparse.csc_matrix(np.asarray(matrix))
    columns.eliminate_zeros()  # an explicit zero must tie with the implicit ones
    columns.sort_indices()
    in_target = np.asarray(target[chosen], dtype=np.bool_)
    n_target, n_reference = int(in_target.sum()), int((~in_target).sum())
    n = n_target + n_reference
    rank_sum, tie_sum, target_sum, reference_sum = _rank_sums(columns.indptr, columns.indices, columns.data, in_target)
    with np.errstate(divide="ignore", invalid="ignore"):
        correction = 1.0 - tie_sum / float(n**3 - n)
        scores = (rank_sum - n_target * (n + 1) / 2.0) / np.sqrt(correction * n_target * n_reference * (n + 1) / 12.0)
    scores[np.isnan(scores)] = 0.0
    p_values = 2 * stats.norm.sf(np.abs(scores))
    log2fc = np.log2((np.expm1(target_sum / n_target) + 1e-9) / (np.expm1(reference_sum / n_reference) + 1e-9))
    order = np.lexsort((np.arange(scores.size), -scores))
    return pl.DataFrame({"gene": np.asarray(adata.var_names, dtype=object)[order].tolist(),
                         "log2fc": log2fc[order].astype(np.float32).astype(np.float64),
                         "score": scores[order].astype(np.float32).astype(np.float64), "p_value": p_values[order],
                         "p_adj": bh_fdr(p_values)[order]}, schema=DEG_SCHEMA)


@numba.njit(cache=True)
def _rank_sums(indptr, indices, data, in_target):
    """Per gene (CSC column, no explicit zeros): the target cells' rank sum over all cells, the tie
    term sum(t^3 - t), and the value sums of target and reference cells.

    The zeros share one average rank, after the negative values and before the positive ones.
    """
    genes = indptr.shape[0] - 1
    n = in_target.shape[0]
    n_target = 0
    for i in range(n):
        n_target += in_target[i]
    rank_sum = np.zeros(genes)
    tie_sum = np.zeros(genes)
    target_sum = np.zeros(genes)
    reference_sum = np.zeros(genes)
    for g in range(genes):
        start, end = indptr[g], indptr[g + 1]
        k = end - start
        zeros = n - k
        values = data[start:end]
        rows = indices[start:end]
        order = np.argsort(values)
        negatives = 0
        while negatives < k and values[order[negatives]] < 0:
            negatives += 1
        zero_target = n_target
        for m in range(k):
            if in_target[rows[m]]:
                zero_target -= 1
                target_sum[g] += values[m]
            else:
                reference_sum[g] += values[m]
        ties = float(zeros) ** 3 - zeros
        total = zero_target * (negatives + (zeros + 1) / 2.0)
        i = 0
        while i < k:
            j = i + 1
            while j < k and values[order[j]] == values[order[i]]:
                j += 1
            average = (i + j + 1) / 2.0 + (0 if i < negatives else zeros)
            t = float(j - i)
            ties += t**3 - t
            for m in range(i, j):
                if in_target[rows[order[m]]]:
                    total += average
            i = j
        rank_sum[g] = total
        tie_sum[g] = ties
    return rank_sum, tie_sum, target_sum, reference_sum


def significant(table: pl.DataFrame, *, min_abs_log2fc: float, max_p: float, adjusted: bool, direction: str) -> list[str]:
    """Genes passing ``|log2FC| > min_abs_log2fc`` and p (or BH p) ``< max_p``, up or down in the target."""
    p = "p_adj" if adjusted else "p_value"
    sign = pl.col("log2fc") > min_abs_log2fc if direction == "up" else pl.col("log2fc") < -min_abs_log2fc
    return table.filter(sign & (pl.col(p) < max_p))["gene"].to_list()


@dataclass(frozen=True)
class GeneSetIndex:
    """A gene-set library restricted to a background, as a sparse term x gene membership matrix.

    Build it once per (library, background) with `index_gene_sets` and pass it to `enrich_indexed`
    for every query: restricting GO BP's 5,407 terms to the background is most of the work of one
    small query.
    """

    genes: np.ndarray  # the background, sorted
    terms: np.ndarray  # the library's terms, sorted
    membership: sparse.csr_matrix  # terms x genes: 1 where the gene is in the term (and the background)
    position: dict[str, int]


def index_gene_sets(gene_sets: Mapping[str, Sequence[str]], background: Sequence[str]) -> GeneSetIndex:
    """``gene_sets`` restricted to ``background`` (see `GeneSetIndex`)."""
    genes = sorted(set(background))
    position = {gene: i for i, gene in enumerate(genes)}
    terms = sorted(gene_sets)
    rows, columns = [], []
    for row, term in enumerate(terms):
        inside = sorted({position[g] for g in gene_sets[term] if g in position})
        rows += [row] * len(inside)
        columns += inside
    membership = sparse.csr_matrix((np.ones(len(rows), dtype=np.int64), (rows, columns)), shape=(len(terms), len(genes)))
    membership.sort_indices()
    return GeneSetIndex(np.array(genes, dtype=object), np.array(terms, dtype=object), membership, position)


def enrich(genes: Sequence[str], background: Sequence[str], gene_sets: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Over-representation (hypergeometric, BH) of ``gene_sets`` in ``genes`` against ``background``.

    The statistics of gseapy's offline ``enrich`` (Enrichr's): p = P(X >= hits) for a hypergeometric
    draw of the query from the background, Benjamini-Hochberg over the terms with a hit, the
    Haldane-Anscombe odds ratio and Enrichr's combined score ``-ln(p) * odds ratio``. Computed for
    all terms at once (gseapy calls scipy once per term); ``tests/singlecell/test_markers.py`` checks
    it against gseapy. Unlike gseapy, gene symbols are never upper-cased. Terms with no hit are left
    out; the result is sorted by p-value, then term. For many queries against one library and
    background, index them once (`index_gene_sets`) and call `enrich_indexed`.
    """
    return enrich_indexed(genes, index_gene_sets(gene_sets, background))


def enrich_indexed(genes: Sequence[str], index: GeneSetIndex) -> pl.DataFrame:
    """`enrich` of ``genes`` against a library already restricted to its background."""
    query = np.zeros(len(index.genes), dtype=bool)
    query[[index.position[g] for g in set(genes) if g in index.position]] = True
    hits = index.membership @ query.astype(np.int64)
    rows = np.flatnonzero(hits)
    if rows.size == 0:
        return pl.DataFrame(schema=ENRICHMENT_SCHEMA)
    x = hits[rows]
    m = np.diff(index.membership.indptr)[rows]
    n_background, k = len(index.genes), int(query.sum())
    p_value = hypergeom_upper_tail(x, n_background, m, k)
    half = 0.5
    odds_ratio = ((x + half) * (n_background - m - k + x + half)) / ((m - x + half) * (k - x + half))
    indptr, indices = index.membership.indptr, index.membership.indices
    overlap_genes = []
    for row in rows:
        members = indices[indptr[row]:indptr[row + 1]]
        overlap_genes.append(";".join(index.genes[members[query[members]]]))
    frame = pl.DataFrame({"term": index.terms[rows].tolist(), "overlap": [f"{a}/{b}" for a, b in zip(x, m, strict=True)], "hits": x,
                          "p_value": p_value, "p_adj": bh_fdr(p_value), "odds_ratio": odds_ratio,
                          "combined_score": -np.log(p_value) * odds_ratio, "genes": overlap_genes})
    return frame.cast(ENRICHMENT_SCHEMA).sort("p_value", "term")


def hypergeom_upper_tail(hits: np.ndarray, population: int, successes: np.ndarray, draws: int) -> np.ndarray:
    """``P(X >= hits)`` for ``X ~ Hypergeometric(population, successes, draws)``, per element:
    scipy's ``hypergeom.sf(hits - 1, ...)`` (tested to 1e-9 relative) at a fraction of its cost
    (boost evaluates each tail afresh; here one log-gamma pmf and a ratio recurrence per term).
    """
    hits = np.asarray(hits, dtype=np.int64)
    successes = np.broadcast_to(np.asarray(successes, dtype=np.int64), hits.shape)
    return _upper_tail(hits.ravel(), int(population), np.ascontiguousarray(successes).ravel(), int(draws)).reshape(hits.shape)


@numba.njit(cache=True)
def _log_choose(n, k):
    return math.lgamma(n + 1.0) - math.lgamma(k + 1.0) - math.lgamma(n - k + 1.0)


@numba.njit(cache=True)
def _upper_tail(hits, population, successes, draws):
    """Sums pmf terms away from the mode, where they shrink: the upper tail itself above the mode,
    one minus the lower tail below it (so a pmf that underflows never drops a large tail).
    """
    out = np.empty(hits.shape[0])
    for t in range(hits.shape[0]):
        x, m = hits[t], successes[t]
        top = min(m, draws)
        low = max(0, draws - (population - m))
        if x > top:
            out[t] = 0.0
            continue
        if x <= low:
            out[t] = 1.0
            continue
        mode = ((draws + 1) * (m + 1)) // (population + 2)
        start = x if x > mode else x - 1
        term = math.exp(_log_choose(m, start) + _log_choose(population - m, draws - start)
                        - _log_choose(population, draws))
        total = term
        if x > mode:  # upward from x
            for i in range(start, top):
                term *= (m - i) * (draws - i) / ((i + 1.0) * (population - m - draws + i + 1.0))
                total += term
                if term <= total * 1e-17:
                    break
            out[t] = min(total, 1.0)
        else:  # downward from x - 1: the lower tail
            for i in range(start, low, -1):
                term *= i * (population - m - draws + i) / ((m - i + 1.0) * (draws - i + 1.0))
                total += term
                if term <= total * 1e-17:
                    break
            out[t] = max(0.0, 1.0 - total)
    return out


def themed(terms: Sequence[str], pattern: str) -> list[bool]:
    """Whether each term name matches a theme's regular expression (case-insensitive)."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return [compiled.search(term) is not None for term in terms]
