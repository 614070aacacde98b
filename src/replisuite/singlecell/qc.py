"""Cell selection, quality control and log-normalisation as published for the CEP-IP study."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import polars as pl
import scanpy as sc
from scipy import sparse

QC_SCHEMA = {"step": pl.String, "cells": pl.Int64, "threshold": pl.Float64}


def _not_counts(values: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
    """Every stored value that is negative or not a whole number (an integer dtype is checked for sign only)."""
    if np.issubdtype(values.dtype, np.integer):
        return values[values < 0]
    bad = [part[(part < 0) | (part != np.round(part)) | ~np.isfinite(part)]
           for part in (values[start:start + chunk] for start in range(0, values.size, chunk))]
    return np.concatenate(bad) if bad else values[:0]


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def check_h5ad(path: str) -> None:
    """Fail naming the file when it is missing or not HDF5 (h5py's own error says only "file
    signature not found"). The signature sits at byte 0 unless a user block precedes it.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
            offsets = [0] + [2**k for k in range(9, 20)]
            for offset in offsets:
                handle.seek(offset)
                if handle.read(8) == HDF5_SIGNATURE:
                    return
    except OSError as error:
        raise ValueError(f"{path}: cannot read the cohort file ({error.strerror}); trpm4.cohort.h5ad expects an "
                         "AnnData .h5ad file") from None
    raise ValueError(f"{path}: not an HDF5 file (starts with {head[:8]!r}); trpm4.cohort.h5ad expects an AnnData "
                     ".h5ad file, as written by anndata's write_h5ad")


def read_cohort(path: str, *, layer: str | None, obs_columns: Mapping[str, str]) -> ad.AnnData:
    """Read an ``.h5ad`` cohort and rename its obs columns to patient, condition, cluster.

    Raw counts come from ``layer`` (or ``X`` when None); they must be non-negative integers.
    """
    check_h5ad(path)
    adata = ad.read_h5ad(path)
    missing = [column for column in obs_columns.values() if column not in adata.obs.columns]
    if missing:
        raise ValueError(f"{path}: obs has no column(s) {missing} (configured in trpm4.cohort.obs); "
                         f"it has {list(adata.obs.columns)}")
    if layer is not None:
        if layer not in adata.layers:
            raise ValueError(f"{path}: no layer {layer!r} (trpm4.cohort.layer); layers: {list(adata.layers)}")
        adata.X = adata.layers[layer]
    adata.layers.clear()
    bad = _not_counts(adata.X.data if sparse.issparse(adata.X) else np.asarray(adata.X).ravel())
    if bad.size:
        raise ValueError(f"{path}: expected raw counts (non-negative integers) in "
                         f"{'layer ' + repr(layer) if layer else 'X'}, found {bad.size} other value(s), e.g. {bad[:3].tolist()}")
    obs = adata.obs[list(obs_columns.values())].copy()
    obs.columns = list(obs_columns)
    adata.obs = obs.astype(str)
    adata.var_names_make_unique()
    return adata


def select_groups(adata: ad.AnnData, groups: Mapping[str, Mapping[str, object]]) -> ad.AnnData:
    """Keep the cells of each configured group (condition and clusters) and label them in ``obs["group"]``."""
    labels = np.full(adata.n_obs, "", dtype=object)
    for name, rule in groups.items():
        chosen = (adata.obs["condition"] == str(rule["condition"])).to_numpy() & adata.obs["cluster"].isin(
            [str(c) for c in rule["clusters"]]).to_numpy()
        if not chosen.any():
            raise ValueError(f"group {name!r}: no cell has condition {rule['condition']!r} and cluster in {list(rule['clusters'])}")
        overlap = chosen & (labels != "")
        if overlap.any():
            raise ValueError(f"group {name!r} shares {int(overlap.sum())} cells with another group")
        labels[chosen] = name
    subset = adata[labels != ""].copy()
    subset.obs["group"] = labels[labels != ""].astype(str)
    return subset


def quality_control(adata: ad.AnnData, *, min_genes: int, ribo_pattern: str, mito_pattern: str,
                    drop_top_ribo: float, drop_top_mito: float, target_sum: float) -> tuple[ad.AnnData, pl.DataFrame]:
    """Published QC then log-normalisation, on one copy of the kept cells.

    Cells with more than ``min_genes`` detected genes; then drop the top ``drop_top_ribo``
    fraction of cells by ribosomal fraction, then (among those left) the top ``drop_top_mito``
    by mitochondrial fraction; normalise each cell to ``target_sum`` and log1p. The QC metrics
    are kept in ``obs``; raw counts are not kept (nothing downstream uses them).
    """
    counts = sparse.csr_matrix(adata.X)
    total = np.asarray(counts.sum(axis=1)).ravel()
    metrics = {"n_genes": np.asarray((counts > 0).sum(axis=1)).ravel(), "total_counts": total}
    for key, pattern in (("ribo", ribo_pattern), ("mito", mito_pattern)):
        columns = np.flatnonzero(adata.var_names.str.match(pattern))
        part = np.asarray(counts[:, columns].sum(axis=1)).ravel()
        metrics[f"pct_counts_{key}"] = np.divide(100 * part, total, out=np.zeros_like(total, dtype=float), where=total > 0)
    keep = metrics["n_genes"] > min_genes
    steps = [("input", adata.n_obs, np.nan), (f"more than {min_genes} genes", int(keep.sum()), float(min_genes))]
    for key, fraction in (("ribo", drop_top_ribo), ("mito", drop_top_mito)):
        share = metrics[f"pct_counts_{key}"]
        cut = float(np.quantile(share[keep], 1 - fraction)) if fraction > 0 and keep.any() else np.inf
        keep &= share <= cut
        steps.append((f"drop top {fraction:.0%} by {key} fraction", int(keep.sum()), cut))
    cells = adata[keep].copy()
    for name, values in metrics.items():
        cells.obs[name] = values[keep]
    cells.X = sparse.csr_matrix(cells.X, dtype=np.float32)
    sc.pp.normalize_total(cells, target_sum=target_sum)
    sc.pp.log1p(cells)
    return cells, pl.DataFrame(steps, schema=QC_SCHEMA, orient="row")


def patients(adata: ad.AnnData, group: str, *, min_cells: int) -> list[str]:
    """The patients of ``group`` with at least ``min_cells`` cells, sorted."""
    counts = adata.obs.loc[adata.obs["group"] == group, "patient"].value_counts()
    return sorted(str(p) for p, n in counts.items() if n >= min_cells)


def expressed_genes(adata: ad.AnnData, *, min_cells: int = 1) -> Sequence[str]:
    """Genes detected in at least ``min_cells`` cells of ``adata``."""
    detected = np.asarray((adata.X > 0).sum(axis=0)).ravel()
    return list(adata.var_names[detected >= min_cells])
