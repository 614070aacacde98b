"""Cohort reading, group selection and the published QC order."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from replisuite.singlecell.qc import (
    expressed_genes,
    quality_control,
    read_cohort,
    select_groups,
)

QC = dict(min_genes=3, ribo_pattern="^RP[SL]|^MRP[SL]", mito_pattern="^MT-", drop_top_ribo=0.1, drop_top_mito=0.1,
          target_sum=1e4)


def cohort(n=200, seed=0):
    rng = np.random.default_rng(seed)
    genes = ["RPL10", "RPS2", "MRPL1", "MT-CO1", "MT-ND1", *(f"G{i}" for i in range(20))]
    counts = rng.poisson(3.0, (n, len(genes))).astype(np.float32)
    counts[:, :3] *= rng.integers(1, 6, (n, 1))  # ribosomal fraction varies by cell
    counts[:, 3:5] *= rng.integers(1, 6, (n, 1))
    counts[:5, 5:] = 0  # five cells with only 5 detected genes at most
    counts[:5, 5:7] = 1
    obs = pd.DataFrame({"donor": [f"P{i % 2}" for i in range(n)], "tissue": ["tumour", "benign"] * (n // 2),
                        "seurat_clusters": [str(i % 3) for i in range(n)]}, index=[f"c{i}" for i in range(n)])
    return ad.AnnData(X=sparse.csr_matrix(counts), obs=obs, var=pd.DataFrame(index=genes))


def test_qc_follows_the_published_order():
    adata = cohort()
    cells, steps = quality_control(adata, **{**QC, "min_genes": 7})
    counts = adata.X.toarray()
    keep = (counts > 0).sum(axis=1) > 7
    ribo = counts[:, :3].sum(axis=1) / counts.sum(axis=1)
    keep &= ribo <= np.quantile(ribo[keep], 0.9)
    mito = counts[:, 3:5].sum(axis=1) / counts.sum(axis=1)
    keep &= mito <= np.quantile(mito[keep], 0.9)
    assert list(cells.obs_names) == list(adata.obs_names[keep])
    assert steps["cells"].to_list()[0] == 200 and steps["cells"].to_list()[1] == 195
    totals = np.expm1(cells.X.toarray()).sum(axis=1)
    assert totals == pytest.approx(np.full(cells.n_obs, 1e4), rel=1e-4)
    assert "counts" not in cells.layers


def test_read_cohort_renames_columns_and_checks_counts(tmp_path):
    path = tmp_path / "cohort.h5ad"
    adata = cohort()
    adata.layers["raw"] = adata.X.copy()
    adata.X = adata.X * 0.37
    adata.write_h5ad(path)
    mapping = {"patient": "donor", "condition": "tissue", "cluster": "seurat_clusters"}
    read = read_cohort(str(path), layer="raw", obs_columns=mapping)
    assert list(read.obs.columns) == ["patient", "condition", "cluster"] and read.X.sum() == adata.layers["raw"].sum()
    with pytest.raises(ValueError, match=r"expected raw counts .* in X"):
        read_cohort(str(path), layer=None, obs_columns=mapping)
    with pytest.raises(ValueError, match="no layer 'counts'"):
        read_cohort(str(path), layer="counts", obs_columns=mapping)
    with pytest.raises(ValueError, match=r"no column\(s\) \['sample'\]"):
        read_cohort(str(path), layer="raw", obs_columns={**mapping, "patient": "sample"})


def test_read_cohort_checks_every_stored_value_not_only_the_first(tmp_path):
    adata = cohort()
    counts = sparse.csr_matrix(adata.X)
    counts.data[-1] = 2.5  # the very last stored value of a cohort larger than any sample
    obs = pd.concat([adata.obs] * 400, ignore_index=True)
    obs.index = [f"c{i}" for i in range(len(obs))]
    big = ad.AnnData(X=sparse.vstack([counts] * 400).tocsr(), obs=obs)
    assert big.X.data.size > 100_000
    path = tmp_path / "big.h5ad"
    big.write_h5ad(path)
    with pytest.raises(ValueError, match=r"found 400 other value\(s\), e.g. \[2.5"):
        read_cohort(str(path), layer=None, obs_columns={"patient": "donor", "condition": "tissue", "cluster": "seurat_clusters"})


def test_select_groups_labels_cells_and_names_empty_groups():
    adata = cohort()
    adata.obs.columns = ["patient", "condition", "cluster"]
    chosen = select_groups(adata, {"PCa": {"condition": "tumour", "clusters": [0, "1"]}, "benign": {"condition": "benign", "clusters": ["2"]}})
    assert set(chosen.obs["group"]) == {"PCa", "benign"}
    assert (chosen.obs.loc[chosen.obs["group"] == "PCa", "cluster"].isin(["0", "1"])).all()
    with pytest.raises(ValueError, match="group 'x': no cell has condition 'tumour' and cluster in \\['9'\\]"):
        select_groups(adata, {"x": {"condition": "tumour", "clusters": ["9"]}})


def test_expressed_genes():
    adata = ad.AnnData(X=sparse.csr_matrix(np.array([[0, 1.0, 0], [0, 2.0, 1.0]])))
    adata.var_names = ["a", "b", "c"]
    assert expressed_genes(adata) == ["b", "c"] and expressed_genes(adata, min_cells=2) == ["b"]


def test_a_file_that_is_not_hdf5_is_named_with_what_was_expected(tmp_path):
    path = tmp_path / "cohort.h5ad"
    path.write_text("patient,condition\nP1,tumour\n")
    with pytest.raises(ValueError, match=r"cohort.h5ad: not an HDF5 file .*expects an AnnData .h5ad file"):
        read_cohort(str(path), layer=None, obs_columns={"patient": "patient"})
    with pytest.raises(ValueError, match=r"missing.h5ad: cannot read the cohort file"):
        read_cohort(str(tmp_path / "missing.h5ad"), layer=None, obs_columns={"patient": "patient"})


def test_normalisation_is_scanpys_to_the_bit_and_reuses_the_counts_arrays():
    import scanpy as sc

    adata = cohort(n=300, seed=5)
    expected, _ = quality_control(adata, **QC)
    reference = adata[expected.obs_names].copy()
    sc.pp.normalize_total(reference, target_sum=QC["target_sum"])
    sc.pp.log1p(reference)
    assert np.array_equal(expected.X.toarray(), reference.X.toarray())  # float32, bit for bit
    data = adata.X.data
    in_place, _ = quality_control(adata, **QC, copy=False)
    assert np.shares_memory(in_place.X.data, data)
    assert np.array_equal(in_place.X.toarray(), expected.X.toarray())
