"""Principal components of genes outside an excluded set, against a plain SVD."""

import anndata as ad
import numpy as np
import pytest
from scipy import sparse

from replisuite.singlecell.features import principal_components


def cohort(seed=0):
    rng = np.random.default_rng(seed)
    marked = rng.random(300) < 0.4
    means = np.tile(np.exp(rng.normal(1.0, 1.0, 200)), (300, 1))  # a spread of gene means, as in real data
    means[np.ix_(marked, np.arange(10))] *= 4  # genes 0-9 mark a subpopulation
    means[np.ix_(~marked, np.arange(10, 20))] *= 4  # genes 10-19 mark the rest
    counts = rng.poisson(means).astype(np.float32)
    adata = ad.AnnData(X=sparse.csr_matrix(np.log1p(counts)))
    adata.var_names = [f"G{i}" for i in range(200)]
    adata.obs_names = [f"c{i}" for i in range(300)]
    return adata, marked


def test_components_are_those_of_a_plain_svd_of_the_chosen_genes():
    adata, marked = cohort()
    components, genes = principal_components(adata, exclude=["G0"], n_genes=50, n_components=3, seed=1)
    assert components.columns == ["cell", "pc1", "pc2", "pc3"] and components["cell"].to_list() == list(adata.obs_names)
    assert len(genes) == 50 and "G0" not in genes and {f"G{i}" for i in range(1, 20)} <= set(genes)
    matrix = adata[:, genes].X.toarray().astype(np.float64)
    centred = matrix - matrix.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    for i in range(3):
        assert abs(np.corrcoef(components[f"pc{i + 1}"].to_numpy(), u[:, i] * s[i])[0, 1]) == pytest.approx(1, abs=1e-6)
    assert abs(np.corrcoef(components["pc1"].to_numpy(), marked)[0, 1]) > 0.95


def test_excluded_genes_do_not_reach_the_components():
    adata, marked = cohort()
    components, genes = principal_components(adata, exclude=[f"G{i}" for i in range(20)], n_genes=50, n_components=3, seed=1)
    assert not set(genes) & {f"G{i}" for i in range(20)}
    assert max(abs(np.corrcoef(components[f"pc{i}"].to_numpy(), marked)[0, 1]) for i in (1, 2, 3)) < 0.3
    with pytest.raises(ValueError, match="3 principal components need more"):
        principal_components(adata[:3], exclude=[], n_genes=50, n_components=3, seed=1)


def test_pca_scores_are_sklearns_up_to_sign():
    from sklearn.decomposition import PCA

    from replisuite.singlecell.features import pca_scores

    matrix = np.random.default_rng(3).poisson(3.0, (120, 30)).astype(float)
    ours = pca_scores(matrix, n_components=4)
    reference = PCA(n_components=4, svd_solver="full").fit_transform(matrix)
    assert ours.shape == (120, 4)
    assert np.abs(ours) == pytest.approx(np.abs(reference), abs=1e-8)
    assert pca_scores(matrix[:3], n_components=4).shape == (3, 2)  # at most cells - 1 components
