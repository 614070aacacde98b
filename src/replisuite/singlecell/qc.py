"""Cell selection, quality control and log-normalisation as published for the CEP-IP study.

At the published scale (58,000 cells x 27,000 genes in the cohort) the counts are 1.4 GB: the
cohort is read for the selected groups' cells only (`replisuite.singlecell.h5ad`), and QC and
normalisation work on that one copy in place (rows compacted, values normalised and logged where
they are), so the job holds the matrix once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import anndata as ad
import h5py
import numba
import numpy as np
import pandas as pd
import polars as pl
from scipy import sparse

from replisuite.singlecell.h5ad import read_annotations, read_rows

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


def read_cohort(path: str, *, layer: str | None, obs_columns: Mapping[str, str],
                groups: Mapping[str, Mapping[str, object]] | None = None) -> ad.AnnData:
    """Read an ``.h5ad`` cohort and rename its obs columns to patient, condition, cluster.

    Raw counts come from ``layer`` (or ``X`` when None); they must be non-negative integers and
    are returned as float32. With ``groups`` (see `group_labels`) only those groups' cells are
    read, labelled in ``obs["group"]``.
    """
    check_h5ad(path)
    obs, var = read_annotations(path)
    missing = [column for column in obs_columns.values() if column not in obs.columns]
    if missing:
        raise ValueError(f"{path}: obs has no column(s) {missing} (configured in trpm4.cohort.obs); "
                         f"it has {list(obs.columns)}")
    obs = obs[list(obs_columns.values())].astype(str)
    obs.columns = list(obs_columns)
    key = "X"
    if layer is not None:
        with h5py.File(path, "r") as handle:
            layers = list(handle["layers"]) if "layers" in handle else []
        if layer not in layers:
            raise ValueError(f"{path}: no layer {layer!r} (trpm4.cohort.layer); layers: {layers}")
        key = f"layers/{layer}"
    rows = None
    if groups is not None:
        labels = group_labels(obs, groups)
        rows = np.flatnonzero(labels != "")
        obs = obs.iloc[rows].assign(group=labels[rows].astype(str))
    counts = read_rows(path, rows, key=key, dtype=np.float32)
    counts.sort_indices()
    bad = _not_counts(counts.data)
    if bad.size:
        raise ValueError(f"{path}: expected raw counts (non-negative integers) in "
                         f"{'layer ' + repr(layer) if layer else 'X'}, found {bad.size} other value(s), e.g. {bad[:3].tolist()}")
    adata = ad.AnnData(X=counts, obs=obs, var=var)
    adata.var_names_make_unique()
    return adata


def group_labels(obs: pd.DataFrame, groups: Mapping[str, Mapping[str, object]]) -> np.ndarray:
    """Each cell's configured group (condition and clusters), "" for cells in none; groups must not overlap."""
    labels = np.full(len(obs), "", dtype=object)
    for name, rule in groups.items():
        chosen = (obs["condition"] == str(rule["condition"])).to_numpy() & obs["cluster"].isin(
            [str(c) for c in rule["clusters"]]).to_numpy()
        if not chosen.any():
            raise ValueError(f"group {name!r}: no cell has condition {rule['condition']!r} and cluster in {list(rule['clusters'])}")
        overlap = chosen & (labels != "")
        if overlap.any():
            raise ValueError(f"group {name!r} shares {int(overlap.sum())} cells with another group")
        labels[chosen] = name
    return labels


def select_groups(adata: ad.AnnData, groups: Mapping[str, Mapping[str, object]]) -> ad.AnnData:
    """Keep the cells of each configured group (condition and clusters) and label them in ``obs["group"]``."""
    labels = group_labels(adata.obs, groups)
    subset = adata[labels != ""].copy()
    subset.obs["group"] = labels[labels != ""].astype(str)
    return subset


def quality_control(adata: ad.AnnData, *, min_genes: int, ribo_pattern: str, mito_pattern: str,
                    drop_top_ribo: float, drop_top_mito: float, target_sum: float,
                    copy: bool = True) -> tuple[ad.AnnData, pl.DataFrame]:
    """Published QC then log-normalisation.

    Cells with more than ``min_genes`` detected genes; then drop the top ``drop_top_ribo``
    fraction of cells by ribosomal fraction, then (among those left) the top ``drop_top_mito``
    by mitochondrial fraction; normalise each cell to ``target_sum`` and log1p (scanpy's
    ``normalize_total`` and ``log1p`` arithmetic, float32). The QC metrics are kept in ``obs``;
    raw counts are not kept (nothing downstream uses them). With ``copy=False`` the result reuses
    the arrays of ``adata.X`` (float32 CSR), which must not be used afterwards.
    """
    counts = sparse.csr_matrix(adata.X, dtype=np.float32, copy=copy)
    counts.sort_indices()
    ribo = np.asarray(adata.var_names.str.match(ribo_pattern), dtype=np.bool_)
    mito = np.asarray(adata.var_names.str.match(mito_pattern), dtype=np.bool_)
    n_genes, total, ribo_counts, mito_counts = _row_metrics(counts.indptr, counts.indices, counts.data, ribo, mito)
    metrics = {"n_genes": n_genes, "total_counts": total}
    for key, part in (("ribo", ribo_counts), ("mito", mito_counts)):
        metrics[f"pct_counts_{key}"] = np.divide(100 * part, total, out=np.zeros_like(total, dtype=float), where=total > 0)
    keep = metrics["n_genes"] > min_genes
    steps = [("input", adata.n_obs, np.nan), (f"more than {min_genes} genes", int(keep.sum()), float(min_genes))]
    for key, fraction in (("ribo", drop_top_ribo), ("mito", drop_top_mito)):
        share = metrics[f"pct_counts_{key}"]
        cut = float(np.quantile(share[keep], 1 - fraction)) if fraction > 0 and keep.any() else np.inf
        keep &= share <= cut
        steps.append((f"drop top {fraction:.0%} by {key} fraction", int(keep.sum()), cut))
    obs = adata.obs[keep].copy()
    for name, values in metrics.items():
        obs[name] = values[keep]
    matrix = keep_rows(counts, keep)
    _normalise_rows(matrix.indptr, matrix.data, np.float32(target_sum))
    for start in range(0, matrix.data.size, 1 << 24):  # numpy's float32 log1p, as scanpy's, in place
        np.log1p(matrix.data[start:start + (1 << 24)], out=matrix.data[start:start + (1 << 24)])
    cells = ad.AnnData(X=matrix, obs=obs, var=adata.var.copy())
    cells.uns["log1p"] = {"base": None}
    return cells, pl.DataFrame(steps, schema=QC_SCHEMA, orient="row")


def keep_rows(matrix: sparse.csr_matrix, keep: np.ndarray) -> sparse.csr_matrix:
    """The ``keep`` rows of a CSR matrix, compacted in its own arrays (no second copy): ``matrix``
    must not be used afterwards.
    """
    keep = np.asarray(keep, dtype=np.bool_)
    indptr = _compact_rows(matrix.indptr.astype(np.int64), matrix.indices, matrix.data, keep)
    size = int(indptr[-1])
    return sparse.csr_matrix((matrix.data[:size], matrix.indices[:size], indptr), shape=(int(keep.sum()), matrix.shape[1]))


@numba.njit(cache=True)
def _compact_rows(indptr, indices, data, keep):
    """Move the kept rows' entries to the front of ``indices``/``data`` (in place); their indptr."""
    out = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
    filled = 0
    row_out = 0
    for row in range(keep.shape[0]):
        if not keep[row]:
            continue
        for p in range(indptr[row], indptr[row + 1]):
            indices[filled] = indices[p]
            data[filled] = data[p]
            filled += 1
        row_out += 1
        out[row_out] = filled
    return out


@numba.njit(cache=True)
def _row_metrics(indptr, indices, data, ribo, mito):
    """Per row: detected genes, total counts and the counts of the ribosomal and mitochondrial
    genes (float32, as scipy's row sums of a float32 matrix; exact for whole counts below 2**24).
    """
    rows = indptr.shape[0] - 1
    n_genes = np.zeros(rows, dtype=np.int64)
    total = np.zeros(rows, dtype=np.float32)
    ribo_counts = np.zeros(rows, dtype=np.float32)
    mito_counts = np.zeros(rows, dtype=np.float32)
    for row in range(rows):
        for p in range(indptr[row], indptr[row + 1]):
            value = data[p]
            if value > 0:
                n_genes[row] += 1
            total[row] += value
            if ribo[indices[p]]:
                ribo_counts[row] += value
            if mito[indices[p]]:
                mito_counts[row] += value
    return n_genes, total, ribo_counts, mito_counts


@numba.njit(cache=True)
def _normalise_rows(indptr, data, target_sum):
    """Scanpy's ``normalize_total`` on CSR float32 data, in place: each row divided by its float32
    total over ``target_sum`` (a zero total divides by one).
    """
    for row in range(indptr.shape[0] - 1):
        count = 0.0
        for p in range(indptr[row], indptr[row + 1]):
            count += data[p]
        scale = np.float32(count) / target_sum
        if scale == 0:
            scale = np.float32(1.0)
        for p in range(indptr[row], indptr[row + 1]):
            data[p] = data[p] / scale


def patients(adata: ad.AnnData, group: str, *, min_cells: int) -> list[str]:
    """The patients of ``group`` with at least ``min_cells`` cells, sorted."""
    counts = adata.obs.loc[adata.obs["group"] == group, "patient"].value_counts()
    return sorted(str(p) for p, n in counts.items() if n >= min_cells)


def expressed_genes(adata: ad.AnnData, *, min_cells: int = 1) -> Sequence[str]:
    """Genes detected in at least ``min_cells`` cells of ``adata``."""
    detected = np.asarray((adata.X > 0).sum(axis=0)).ravel()
    return list(adata.var_names[detected >= min_cells])
