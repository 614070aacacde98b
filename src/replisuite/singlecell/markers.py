"""Differential expression between two sets of cells (scanpy's Wilcoxon) and GO over-representation
(gseapy's offline ``enrich`` against the expressed-gene background)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import polars as pl
import scanpy as sc

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


def enrich(genes: Sequence[str], background: Sequence[str], gene_sets: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Over-representation (hypergeometric, BH) of ``gene_sets`` in ``genes`` against ``background``.

    Runs gseapy's ``enrich`` offline: the library is a dict read from disk, nothing is fetched.
    Terms with no hit are left out; the result is sorted by p-value.
    """
    import gseapy

    universe = set(background)
    hits = [g for g in dict.fromkeys(genes) if g in universe]
    library = {term: [g for g in members if g in universe] for term, members in gene_sets.items()}
    library = {term: members for term, members in library.items() if members}
    if not hits or not library:
        return pl.DataFrame(schema=ENRICHMENT_SCHEMA)
    result = gseapy.enrich(gene_list=hits, gene_sets=library, background=sorted(universe), outdir=None,
                           cutoff=1.0, no_plot=True, verbose=False).results
    if result is None or len(result) == 0:
        return pl.DataFrame(schema=ENRICHMENT_SCHEMA)
    frame = pl.DataFrame({"term": result["Term"].astype(str).tolist(), "overlap": result["Overlap"].astype(str).tolist(),
                          "p_value": result["P-value"].to_numpy(np.float64), "p_adj": result["Adjusted P-value"].to_numpy(np.float64),
                          "odds_ratio": result["Odds Ratio"].to_numpy(np.float64),
                          "combined_score": result["Combined Score"].to_numpy(np.float64),
                          # gseapy joins a set: its order follows the process's string hashing, so sort it
                          "genes": [";".join(sorted(g.split(";"))) for g in result["Genes"].astype(str)]})
    frame = frame.with_columns(pl.col("overlap").str.split("/").list.first().cast(pl.Int64).alias("hits"))
    return frame.select(list(ENRICHMENT_SCHEMA)).cast(ENRICHMENT_SCHEMA).sort("p_value", "term")


def themed(terms: Sequence[str], pattern: str) -> list[bool]:
    """Whether each term name matches a theme's regular expression (case-insensitive)."""
    compiled = re.compile(pattern, re.IGNORECASE)
    return [compiled.search(term) is not None for term in terms]
