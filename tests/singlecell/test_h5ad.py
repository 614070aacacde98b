"""Partial reads of .h5ad files against anndata's own full read."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from replisuite.singlecell.h5ad import read_annotations, read_cells, read_rows


def write(tmp_path, matrix, name="cells.h5ad", layer=None):
    n_cells, n_genes = matrix.shape
    adata = ad.AnnData(X=matrix, obs=pd.DataFrame({"patient": [f"P{i % 3}" for i in range(n_cells)]},
                                                   index=[f"c{i}" for i in range(n_cells)]),
                       var=pd.DataFrame(index=[f"g{j}" for j in range(n_genes)]))
    if layer:
        adata.layers[layer] = matrix.copy()
    path = tmp_path / name
    adata.write_h5ad(path, compression="gzip")
    return str(path)


@pytest.fixture
def counts():
    rng = np.random.default_rng(3)
    return sparse.random(500, 60, density=0.2, format="csr", random_state=rng, dtype=np.float32,
                         data_rvs=lambda size: rng.integers(1, 9, size).astype(np.float32))


@pytest.mark.parametrize("block_rows", [7, 64, 4096])
def test_rows_and_columns_equal_anndatas_subset(tmp_path, counts, block_rows):
    path = write(tmp_path, counts)
    rows = np.sort(np.random.default_rng(1).choice(500, 123, replace=False))
    columns = np.array([2, 5, 17, 40, 59])
    whole = ad.read_h5ad(path).X
    assert (read_rows(path, rows, block_rows=block_rows) != whole[rows]).nnz == 0
    picked = read_rows(path, rows, columns=columns, block_rows=block_rows)
    assert picked.shape == (123, 5) and (picked != whole[rows][:, columns]).nnz == 0
    assert read_rows(path, rows, dtype=np.float64, block_rows=block_rows).dtype == np.float64
    with pytest.raises(ValueError, match="sorted, distinct"):
        read_rows(path, rows[::-1], block_rows=block_rows)


def test_layers_and_dense_matrices_read_the_same(tmp_path, counts):
    layered = write(tmp_path, counts, name="layered.h5ad", layer="raw")
    dense = write(tmp_path, counts.toarray(), name="dense.h5ad")
    rows = np.array([0, 3, 499])
    assert (read_rows(layered, rows, key="layers/raw") != counts[rows]).nnz == 0
    assert (read_rows(dense, rows) != counts[rows]).nnz == 0


def test_read_cells_keeps_obs_and_var_of_the_chosen_part(tmp_path, counts):
    path = write(tmp_path, counts)
    part = read_cells(path, [4, 1, 9], genes=["g7", "g3"])
    assert list(part.obs_names) == ["c1", "c4", "c9"] and list(part.var_names) == ["g3", "g7"]
    assert (part.X != counts[[1, 4, 9]][:, [3, 7]]).nnz == 0
    obs, var = read_annotations(path)
    assert list(obs["patient"][:3]) == ["P0", "P1", "P2"] and len(var) == 60
    with pytest.raises(KeyError, match="no gene"):
        read_cells(path, [0], genes=["nope"])
