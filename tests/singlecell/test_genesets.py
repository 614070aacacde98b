"""Gene-set scores and Cronbach's alpha."""

import anndata as ad
import numpy as np
import pytest
from scipy import sparse

from replisuite.singlecell.genesets import (
    MissingGenesError,
    cronbach_alpha,
    gene_set_scores,
    go_biological_process,
    read_enrichr_library,
)


def covariance_alpha(items):
    covariance = np.cov(items, rowvar=False)
    k = items.shape[1]
    return k / (k - 1) * (1 - np.trace(covariance) / covariance.sum())


def test_cronbach_alpha_matches_covariance_formula():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=(500, 1))
    items = shared + rng.normal(scale=[0.5, 1.0, 1.5, 0.8], size=(500, 4))
    assert cronbach_alpha(items) == pytest.approx(covariance_alpha(items), rel=1e-12)
    assert cronbach_alpha(rng.normal(size=(2000, 5))) == pytest.approx(0, abs=0.1)
    assert np.isnan(cronbach_alpha(items[:, :1]))


def tiny():
    values = np.array([[0.0, 1.0, 2.0, 0.5], [1.0, 1.0, 0.0, 0.0], [3.0, 0.0, 1.0, 2.0]])
    adata = ad.AnnData(X=sparse.csr_matrix(values))
    adata.obs_names, adata.var_names = ["c1", "c2", "c3"], ["A", "B", "C", "TRPM4"]
    return adata


def test_scores_are_log2_of_mean_log_normalised():
    adata = tiny()
    scores, summary = gene_set_scores(adata, {"S": ["A", "B"], "T": ["B", "C"]}, anchor="TRPM4")
    assert scores["S"].to_list() == pytest.approx(np.log2(np.array([0.5, 1.0, 1.5]) + 1).tolist())
    assert scores["anchor"].to_list() == pytest.approx(np.log2(np.array([0.5, 0.0, 2.0]) + 1).tolist())
    assert summary["n_genes"].to_list() == [2, 2] and not summary["partial"].any()


def test_missing_genes_are_listed_or_scored_on_the_rest():
    adata = tiny()
    with pytest.raises(MissingGenesError, match="S: X, Y") as error:
        gene_set_scores(adata, {"S": ["A", "X", "Y"]}, anchor="TRPM4")
    assert "allow_partial_sets" in str(error.value)
    _, summary = gene_set_scores(adata, {"S": ["A", "X", "Y"], "T": ["B", "C"]}, anchor="TRPM4", allow_partial=True)
    assert summary.row(0, named=True)["partial"] and summary.row(0, named=True)["genes_missing"] == "X,Y"
    with pytest.raises(MissingGenesError, match="anchor gene TRPM5"):
        gene_set_scores(adata, {"T": ["B", "C"]}, anchor="TRPM5")
    with pytest.raises(MissingGenesError, match="Z: X, Y"):
        gene_set_scores(adata, {"Z": ["X", "Y"]}, anchor="TRPM4", allow_partial=True)


def test_go_library_is_read_from_the_installed_package(tmp_path):
    go = go_biological_process()
    assert len(go) > 5000 and "RPL10" in go["Cytoplasmic Translation (GO:0002181)"]
    path = tmp_path / "lib"
    path.write_text("Term one\t\tA\tB\t\nTerm two\tdescription\tC\n")
    assert read_enrichr_library(path) == {"Term one": ["A", "B"], "Term two": ["C"]}
