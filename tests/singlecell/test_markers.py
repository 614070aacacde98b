"""Wilcoxon DEGs against scipy, and GO over-representation against the hypergeometric tail."""

import anndata as ad
import numpy as np
import pytest
from scipy import sparse, stats

from replisuite.singlecell.markers import enrich, enrich_indexed, index_gene_sets, rank_genes, significant, themed


def test_rank_genes_agrees_with_scipy_mann_whitney():
    rng = np.random.default_rng(0)
    values = rng.gamma(2.0, 1.0, (300, 5))
    target = np.arange(300) < 120
    values[target, 0] += 1.5
    adata = ad.AnnData(X=sparse.csr_matrix(np.log1p(values)))
    adata.var_names = [f"g{i}" for i in range(5)]
    table = rank_genes(adata, target, ~target)
    assert table["gene"][0] == "g0" and table["log2fc"][0] > 0
    for row in table.iter_rows(named=True):
        column = int(row["gene"][1:])
        reference = stats.mannwhitneyu(np.log1p(values[target, column]), np.log1p(values[~target, column]),
                                       use_continuity=False, method="asymptotic").pvalue
        assert row["p_value"] == pytest.approx(reference, rel=1e-6)
    assert significant(table, min_abs_log2fc=0.1, max_p=0.05, adjusted=True, direction="up") == ["g0"]
    with pytest.raises(ValueError, match="at least 2 cells"):
        rank_genes(adata, np.arange(300) == 0, np.arange(300) > 0)


def test_rank_genes_is_tie_corrected_on_sparse_counts():
    """Mostly-zero counts tie heavily; without tie correction scanpy's p-values are too large."""
    rng = np.random.default_rng(4)
    counts = rng.poisson(0.15, (400, 6)).astype(float)
    target = np.arange(400) < 150
    counts[target, :3] += rng.poisson(0.25, (150, 3))
    adata = ad.AnnData(X=sparse.csr_matrix(np.log1p(counts)))
    adata.var_names = [f"g{i}" for i in range(6)]
    table = rank_genes(adata, target, ~target)
    for row in table.iter_rows(named=True):
        column = np.log1p(counts[:, int(row["gene"][1:])])
        reference = stats.mannwhitneyu(column[target], column[~target], use_continuity=False, method="asymptotic").pvalue
        assert row["p_value"] == pytest.approx(reference, rel=1e-6), row["gene"]
    zero_share = (counts == 0).mean()
    assert zero_share > 0.7  # the ties are real


def test_enrich_matches_the_hypergeometric_tail():
    background = [f"G{i}" for i in range(1000)]
    library = {"Planted (GO:1)": background[:40], "Other (GO:2)": background[500:560], "Absent (GO:3)": ["NOTHERE"]}
    hits = background[:15] + background[500:502] + background[900:910]
    result = enrich(hits, background, library)
    assert result["term"].to_list() == ["Planted (GO:1)", "Other (GO:2)"]
    top = result.row(0, named=True)
    assert top["hits"] == 15 and top["overlap"] == "15/40"
    assert top["p_value"] == pytest.approx(stats.hypergeom.sf(15 - 1, 1000, 40, len(hits)), rel=1e-6)
    assert enrich([], background, library).is_empty()
    assert themed(["T Cell Activation", "Cell-Matrix Adhesion"], "immun|T cell") == [True, False]


def test_enrich_is_identical_whatever_the_process_string_hashing():
    """gseapy joins overlap genes from a set; our table must not depend on PYTHONHASHSEED."""
    import os
    import subprocess
    import sys

    code = ("from replisuite.singlecell.markers import enrich; "
            "lib = {'t1': list('ABCDE'), 't2': list('CDFG')}; "
            "print(enrich(list('ABCDF'), list('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), lib).write_csv())")
    outputs = {subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": str(seed)},
                              capture_output=True, text=True, check=True).stdout for seed in range(6)}
    assert len(outputs) == 1
    assert "A;B;C;D" in outputs.pop()


def test_enrich_agrees_with_gseapy_on_a_random_library():
    """gseapy's offline enrich is the reference: same terms, overlaps, p-values, BH, odds ratios, scores."""
    gseapy = pytest.importorskip("gseapy")
    rng = np.random.default_rng(42)
    background = [f"GENE{i}" for i in range(3000)]
    library = {f"Term {t} (GO:{t})": list(rng.choice(background + ["ABSENT1", "ABSENT2"], size=rng.integers(5, 120)))
               for t in range(300)}
    query = list(rng.choice(background, size=200, replace=False)) + ["NOT_IN_BACKGROUND"]
    ours = enrich(query, background, library)
    universe = set(background)
    reference = gseapy.enrich(gene_list=[g for g in query if g in universe],
                              gene_sets={t: [g for g in m if g in universe] for t, m in library.items()},
                              background=background, outdir=None, cutoff=1.0, no_plot=True, verbose=False).results
    reference = reference.sort_values(["P-value", "Term"]).reset_index(drop=True)
    assert ours.height == len(reference) > 100
    assert ours["term"].to_list() == reference["Term"].tolist()
    assert ours["overlap"].to_list() == reference["Overlap"].tolist()
    for column, theirs in [("p_value", "P-value"), ("p_adj", "Adjusted P-value"), ("odds_ratio", "Odds Ratio"),
                           ("combined_score", "Combined Score")]:
        np.testing.assert_allclose(ours[column].to_numpy(), reference[theirs].to_numpy(), rtol=1e-9, err_msg=column)
    assert ours["genes"].to_list() == [";".join(sorted(g.split(";"))) for g in reference["Genes"]]


def test_an_index_built_once_gives_each_query_what_enrich_gives():
    rng = np.random.default_rng(5)
    universe = [f"G{i:03d}" for i in range(300)]
    library = {f"T{t}": list(rng.choice(universe + ["NOT_IN_BACKGROUND"], size=rng.integers(3, 40), replace=False))
               for t in range(60)}
    background = universe[:250]
    index = index_gene_sets(library, background)
    for size in (5, 40, 120):
        query = list(rng.choice(universe, size=size, replace=False))
        ours = enrich_indexed(query, index)
        # the straightforward reading: sets restricted per call, one hypergeometric tail per term
        expected = []
        kept = set(query) & set(background)
        for term, genes in library.items():
            members = set(genes) & set(background)
            hits = sorted(members & kept)
            if hits:
                p = stats.hypergeom.sf(len(hits) - 1, len(background), len(members), len(kept))
                expected.append((term, f"{len(hits)}/{len(members)}", p, ";".join(hits)))
        expected.sort(key=lambda row: (row[2], row[0]))
        assert ours["term"].to_list() == [row[0] for row in expected]
        assert ours["overlap"].to_list() == [row[1] for row in expected]
        assert ours["genes"].to_list() == [row[3] for row in expected]
        np.testing.assert_allclose(ours["p_value"].to_numpy(), [row[2] for row in expected], rtol=1e-12)


def _scanpy_reference(adata, target, reference):
    """scanpy's own rank_genes_groups (the implementation rank_genes reproduces), by gene."""
    import scanpy as sc

    cells = adata[target | reference].copy()
    cells.obs["side"] = np.where(target[target | reference], "target", "reference")
    cells.obs["side"] = cells.obs["side"].astype("category")
    sc.tl.rank_genes_groups(cells, "side", groups=["target"], reference="reference", method="wilcoxon", tie_correct=True)
    return sc.get.rank_genes_groups_df(cells, group="target").set_index("names")


def test_rank_genes_equals_scanpys_wilcoxon_on_sparse_log_data():
    rng = np.random.default_rng(9)
    counts = rng.poisson(rng.gamma(0.3, 1.0, 40), (500, 40)).astype(np.float32)
    target = rng.random(500) < 0.3
    reference = ~target & (rng.random(500) < 0.8)  # cells in neither side are left out
    counts[target, :10] += rng.poisson(0.5, (int(target.sum()), 10))
    logged = np.log1p(counts / counts.sum(axis=1, keepdims=True).clip(1) * 1e4)
    logged[:, 20] = 0  # a gene nobody expresses: score 0, p 1
    logged[:, 21] = 1.5  # a constant gene
    matrix = sparse.csr_matrix(logged)
    stored_zeros = np.flatnonzero(matrix.indices != 21)[::7]
    matrix.data[stored_zeros] = 0.0  # explicit zeros, stored: they tie with the implicit ones
    adata = ad.AnnData(X=matrix)
    adata.var_names = [f"g{i}" for i in range(40)]
    ours = rank_genes(adata, target, reference).to_pandas().set_index("gene")
    theirs = _scanpy_reference(adata, target, reference).loc[ours.index]
    assert ours["score"].to_numpy() == pytest.approx(theirs["scores"].to_numpy(), rel=1e-6, abs=1e-6)
    assert ours["p_value"].to_numpy() == pytest.approx(theirs["pvals"].to_numpy(), rel=1e-6)
    assert ours["p_adj"].to_numpy() == pytest.approx(theirs["pvals_adj"].to_numpy(), rel=1e-6)
    assert ours["log2fc"].to_numpy() == pytest.approx(theirs["logfoldchanges"].to_numpy(), rel=1e-5, abs=1e-5)
    assert ours.loc["g20", "p_value"] == 1 and ours.loc["g21", "score"] == 0
    scores = ours["score"].to_numpy()
    assert (np.diff(scores) <= 0).all()  # highest first


def test_rank_genes_places_zeros_between_negative_and_positive_values():
    rng = np.random.default_rng(10)
    values = rng.normal(size=(200, 3)) * (rng.random((200, 3)) < 0.5)
    target = np.arange(200) < 80
    values[target, 0] += 0.8
    adata = ad.AnnData(X=sparse.csr_matrix(values))
    adata.var_names = ["a", "b", "c"]
    for row in rank_genes(adata, target, ~target).iter_rows(named=True):
        column = values[:, "abc".index(row["gene"])]
        reference = stats.mannwhitneyu(column[target], column[~target], use_continuity=False, method="asymptotic").pvalue
        assert row["p_value"] == pytest.approx(reference, rel=1e-9)


def test_hypergeometric_tail_equals_scipys_everywhere():
    from replisuite.singlecell.markers import hypergeom_upper_tail

    rng = np.random.default_rng(12)
    for population, draws in [(20000, 300), (20000, 4000), (500, 60), (50, 49)]:
        successes = rng.integers(1, min(population, 2000), 400)
        hits = np.minimum(successes, rng.integers(0, draws + 1, 400))
        hits[:5] = [0, 1, draws, 0, 1]
        ours = hypergeom_upper_tail(hits, population, successes, draws)
        theirs = stats.hypergeom.sf(hits - 1, population, successes, draws)
        assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-300)
