"""Gene-set libraries and per-cell gene-set scores with their internal consistency."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
import importlib.util
from pathlib import Path

import anndata as ad
import numpy as np
import polars as pl
from scipy import sparse

GENE_SET_SCHEMA = {"gene_set": pl.String, "n_genes": pl.Int64, "genes_used": pl.String, "genes_missing": pl.String,
                   "partial": pl.Boolean, "cronbach_alpha": pl.Float64}


def read_enrichr_library(path: str | os.PathLike[str]) -> dict[str, list[str]]:
    """An Enrichr-style library (``term<TAB>description<TAB>gene<TAB>gene...``), as gseapy's read_gmt
    reads it, for files without a ``.gmt`` suffix.
    """
    library = {}
    with open(path) as handle:
        for line in handle:
            entries = line.rstrip("\n").split("\t")
            if len(entries) >= 3:
                library[entries[0]] = [g for g in entries[2:] if g]
    return library


@functools.cache
def go_biological_process() -> dict[str, list[str]]:
    """GO Biological Process 2023, read from the copy that the blitzgsea package ships (found
    without importing blitzgsea: its import loads matplotlib, 0.7 s of every markers job).
    """
    spec = importlib.util.find_spec("blitzgsea")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("blitzgsea is not installed; it ships GO Biological Process 2023 (make install)")
    return read_enrichr_library(Path(spec.submodule_search_locations[0]) / "data" / "GO_Biological_Process_2023")


class MissingGenesError(ValueError):
    """Genes the analysis needs are absent from the data."""


def resolve_gene_sets(gene_sets: Mapping[str, Sequence[str]], available: Sequence[str], *, allow_partial: bool,
                      source: str = "the data") -> dict[str, tuple[list[str], list[str]]]:
    """Each set's (present, missing) genes; an error listing every missing gene unless partial sets are allowed.

    A set with no gene present is always an error.
    """
    present = set(available)
    resolved = {name: ([g for g in genes if g in present], [g for g in genes if g not in present])
                for name, genes in gene_sets.items()}
    missing = {name: gone for name, (_, gone) in resolved.items() if gone}
    empty = [name for name, (kept, _) in resolved.items() if not kept]
    if empty or (missing and not allow_partial):
        detail = "; ".join(f"{name}: {', '.join(gone)}" for name, gone in missing.items())
        hint = "" if allow_partial else " (set trpm4.allow_partial_sets: true to score sets on the genes present)"
        raise MissingGenesError(f"gene sets have genes missing from {source}: {detail}{hint}")
    return resolved


def _dense_columns(adata: ad.AnnData, genes: Sequence[str]) -> np.ndarray:
    block = adata[:, list(genes)].X
    return np.asarray(block.toarray() if sparse.issparse(block) else block, dtype=np.float64)


def gene_set_scores(adata: ad.AnnData, gene_sets: Mapping[str, Sequence[str]], *, anchor: str,
                    allow_partial: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-cell anchor and gene-set scores, both ``log2(x + 1)`` of log-normalised expression.

    A set's score is the mean of its genes' log-normalised values (``adata.X``) before the
    transform, as published.

    Returns
    -------
    scores
        ``cell``, ``anchor`` and one column per set.
    summary
        One row per set: genes used and missing, whether it was scored on part of its genes,
        Cronbach's alpha of its genes over the cells.
    """
    names = list(adata.var_names)
    if anchor not in set(names):
        raise MissingGenesError(f"anchor gene {anchor} is not among the data's {len(names)} genes")
    resolved = resolve_gene_sets(gene_sets, names, allow_partial=allow_partial)
    columns = {"cell": list(adata.obs_names), "anchor": np.log2(_dense_columns(adata, [anchor])[:, 0] + 1)}
    rows = []
    for name, (kept, missing) in resolved.items():
        values = _dense_columns(adata, kept)
        columns[name] = np.log2(values.mean(axis=1) + 1)
        rows.append({"gene_set": name, "n_genes": len(kept), "genes_used": ",".join(kept), "genes_missing": ",".join(missing),
                     "partial": bool(missing), "cronbach_alpha": cronbach_alpha(values)})
    return pl.DataFrame(columns), pl.DataFrame(rows, schema=GENE_SET_SCHEMA)


def cronbach_alpha(items: np.ndarray) -> float:
    """Cronbach's alpha of the columns of ``items`` (observations in rows).

    ``k / (k - 1) * (1 - sum of item variances / variance of the item sum)``; NaN for fewer than
    two items or a constant sum.
    """
    items = np.asarray(items, dtype=np.float64)
    k = items.shape[1]
    total = items.sum(axis=1).var(ddof=1)
    if k < 2 or total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - items.var(axis=0, ddof=1).sum() / total))
