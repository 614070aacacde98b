"""Differential expression between two sets of cells (scanpy's Wilcoxon) and GO over-representation
(Enrichr's hypergeometric statistics, as gseapy's offline ``enrich``, against the expressed-gene background).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import polars as pl
import scanpy as sc
from scipy import sparse, stats

from replisuite.stats import bh_fdr

DEG_SCHEMA = {"gene": pl.String, "log2fc": pl.Float64, "score": pl.Float64, "p_value": pl.Float64, "p_adj": pl.Float64}
ENRICHMENT_SCHEMA = {"term": pl.String, "overlap": pl.String, "hits": pl.Int64, "p_value": pl.Float64, "p_adj": pl.Float64,
                     "odds_ratio": pl.Float64, "combined_score": pl.Float64, "genes": pl.String}


def rank_genes(adata: ad.AnnData, target: np.ndarray, reference: np.ndarray) -> pl.DataFrame:
    """Wilcoxon rank-sum DE of ``target`` cells against ``reference`` cells (boolean masks) on ``adata.X``.

    ``adata.X`` must be log-normalised (scanpy's log fold changes assume log1p data). The test is
    tie-corrected (equal to ``scipy.stats.mannwhitneyu``, asymptotic, no continuity correction).
    Genes are returned in scanpy's order (by score); p-values are BH-adjusted over all genes.
    """
    if target.sum() < 2 or reference.sum() < 2:
        raise ValueError(f"differential expression needs at least 2 cells per side, got {int(target.sum())} "
                         f"and {int(reference.sum())}")
    cells = adata[target | reference].copy()
    cells.obs["_side"] = np.where(target[target | reference], "target", "reference")
    cells.obs["_side"] = cells.obs["_side"].astype("category")
    # tie_correct: sparse counts tie heavily, and without the correction (scanpy's default) the
    # p-values are those of untied data, several times too large (Seurat/presto correct for ties)
    sc.tl.rank_genes_groups(cells, "_side", groups=["target"], reference="reference", method="wilcoxon",
                            key_added="_rank", pts=False, tie_correct=True)
    frame = sc.get.rank_genes_groups_df(cells, group="target", key="_rank")
    return pl.DataFrame({"gene": frame["names"].astype(str).tolist(), "log2fc": frame["logfoldchanges"].to_numpy(np.float64),
                         "score": frame["scores"].to_numpy(np.float64), "p_value": frame["pvals"].to_numpy(np.float64),
                         "p_adj": frame["pvals_adj"].to_numpy(np.float64)}, schema=DEG_SCHEMA)


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
    p_value = stats.hypergeom.sf(x - 1, n_background, m, k)
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


def themed(terms: Sequence[str], pattern: str) -> list[bool]:
    """Whether each term name matches a theme's regular expression (case-insensitive)."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return [compiled.search(term) is not None for term in terms]
