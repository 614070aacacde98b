"""Expression features of cells for classifiers: principal components of the most variable genes,
computed without a set of excluded genes (e.g. the score set and anchor a label is derived from).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

if TYPE_CHECKING:
    import anndata as ad


def principal_components(adata: ad.AnnData, *, exclude: Collection[str], n_genes: int, n_components: int,
                         seed: int) -> tuple[pl.DataFrame, list[str]]:
    """Principal components of log-normalised ``adata.X`` over its ``n_genes`` most variable genes
    (scanpy's "seurat" dispersion ranking), genes in ``exclude`` left out before ranking.

    Returns
    -------
    components
        One row per cell: ``cell`` and ``pc1`` ... ``pc<n_components>``.
    genes
        The genes the components were computed from.
    """
    import scanpy as sc  # here, not at the top: the calibration's many small jobs use only pca_scores

    if n_components >= min(adata.n_obs, n_genes):
        raise ValueError(f"{n_components} principal components need more than {n_components} cells and genes "
                         f"(have {adata.n_obs} cells, {n_genes} genes requested)")
    kept = ~adata.var_names.isin(list(exclude))
    candidates = adata[:, kept]
    if candidates.n_vars <= n_components:
        raise ValueError(f"{candidates.n_vars} genes left after excluding {len(exclude)}: too few for {n_components} components")
    dispersion = sc.pp.highly_variable_genes(candidates, flavor="seurat", n_top_genes=min(n_genes, candidates.n_vars),
                                             inplace=False)
    genes = list(candidates.var_names[dispersion["highly_variable"].to_numpy()])
    matrix = candidates[:, genes].X
    matrix = matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)
    scores = sc.pp.pca(matrix.astype(np.float64), n_comps=n_components, random_state=seed, svd_solver="arpack")
    return pl.DataFrame({"cell": list(adata.obs_names), **{f"pc{i + 1}": scores[:, i] for i in range(n_components)}}), genes


def pca_scores(matrix: np.ndarray, *, n_components: int) -> np.ndarray:
    """Principal component scores of ``matrix`` (cells x genes, centred per gene; no scaling),
    by a thin SVD: cells x ``min(n_components, cells - 1, genes)``. Signs are as the SVD gives them.
    """
    centred = np.asarray(matrix, dtype=np.float64) - np.asarray(matrix, dtype=np.float64).mean(axis=0)
    count = max(1, min(n_components, centred.shape[0] - 1, centred.shape[1]))
    left, singular, _ = np.linalg.svd(centred, full_matrices=False)
    return left[:, :count] * singular[:count]
