"""The sparse anchor correlations against scipy's per-gene reference, with heavy ties."""

import numpy as np
import pytest
from scipy import sparse, stats

from replisuite.singlecell.correlation import _discordant_pairs, anchor_correlations


def tied_data(n, genes, seed):
    rng = np.random.default_rng(seed)
    anchor = np.where(rng.random(n) < 0.6, 0.0, rng.integers(1, 5, n) * 0.5)  # mostly zeros, few levels
    matrix = np.where(rng.random((n, genes)) < 0.75, 0.0, rng.integers(1, 4, (n, genes)) * 0.7)
    matrix[:, 0] = anchor * 3 + 1e-3 * (anchor > 0)  # perfectly concordant with the anchor
    matrix[:, 1] = 0.0
    matrix[7, 1] = 2.0  # a single non-zero cell
    matrix[:, 2] = np.log1p(rng.poisson(0.4, n))  # log-normalised-like counts
    return anchor, matrix


@pytest.mark.parametrize("n, genes, seed", [(300, 30, 0), (1001, 20, 1), (50, 15, 2)])
def test_agrees_with_scipy_to_1e_10(n, genes, seed):
    anchor, matrix = tied_data(n, genes, seed)
    result = anchor_correlations(sparse.csr_matrix(matrix), anchor, [f"g{i}" for i in range(genes)])
    for g in range(genes):
        tau, tau_p = stats.kendalltau(anchor, matrix[:, g], variant="b")
        rho, rho_p = stats.spearmanr(anchor, matrix[:, g])
        assert result["kendall_tau_b"][g] == pytest.approx(tau, abs=1e-10)
        assert result["kendall_p"][g] == pytest.approx(tau_p, abs=1e-10)
        assert result["spearman_rho"][g] == pytest.approx(rho, abs=1e-10)
        assert result["spearman_p"][g] == pytest.approx(rho_p, abs=1e-10)
    assert result["kendall_tau_b"][0] == pytest.approx(1.0)


def test_constant_gene_gives_nan_like_scipy():
    anchor, matrix = tied_data(100, 4, 3)
    matrix[:, 3] = 0.0
    result = anchor_correlations(matrix, anchor, ["a", "b", "c", "zero"])
    assert np.isnan(result["kendall_tau_b"][3]) and np.isnan(result["spearman_rho"][3])


def test_dense_and_sparse_inputs_agree_and_bad_input_is_refused():
    anchor, matrix = tied_data(200, 6, 4)
    genes = [str(i) for i in range(6)]
    assert anchor_correlations(matrix, anchor, genes).equals(anchor_correlations(sparse.csc_matrix(matrix), anchor, genes))
    with pytest.raises(ValueError, match="non-negative"):
        anchor_correlations(-matrix, anchor, genes)
    with pytest.raises(ValueError, match="anchor has 199 cells, the matrix 200"):
        anchor_correlations(matrix, anchor[:-1], genes)


@pytest.mark.parametrize("size", [0, 1, 2, 32, 33, 100, 257])
def test_discordant_pairs_match_the_pair_count(size):
    """Against the direct double loop: pairs in different anchor runs ordered the other way in y,
    pairs tied in both, and pairs tied in the anchor."""
    rng = np.random.default_rng(size)
    ranks = rng.integers(0, 6, size)  # many ties
    runs = np.sort(rng.integers(0, 4, size))  # anchor ranks, non-decreasing, many ties
    discordant = sum(runs[i] < runs[j] and ranks[i] > ranks[j] for i in range(size) for j in range(i + 1, size))
    both = sum(runs[i] == runs[j] and ranks[i] == ranks[j] for i in range(size) for j in range(i + 1, size))
    x_ties = sum(runs[i] == runs[j] for i in range(size) for j in range(i + 1, size))
    assert _discordant_pairs(ranks, 6, runs) == (discordant, both, x_ties)


@pytest.mark.parametrize("block_values", [1, 7, 40])
def test_blocks_of_genes_give_the_one_pass_result(monkeypatch, block_values):
    """Value orders are held for a block of genes at a time: any block size gives the same table,
    leading and trailing genes with no non-zero cell included."""
    import replisuite.singlecell.correlation as correlation

    anchor, matrix = tied_data(200, 12, 3)
    matrix = np.hstack([np.zeros((200, 2)), matrix, np.zeros((200, 1))])
    names = [f"g{i}" for i in range(matrix.shape[1])]
    whole = anchor_correlations(sparse.csr_matrix(matrix), anchor, names)
    monkeypatch.setattr(correlation, "GENE_BLOCK_VALUES", block_values)
    blocked = anchor_correlations(sparse.csr_matrix(matrix), anchor, names)
    assert blocked.equals(whole)
    assert blocked.height == len(names) and whole["kendall_tau_b"][2 + 0] == pytest.approx(1.0)


def test_float32_data_sorted_by_radix_agree_with_scipy():
    """The workflow's data are float32: their value orders come from the radix sort."""
    rng = np.random.default_rng(8)
    anchor, matrix = tied_data(400, 12, 8)
    matrix[:, 3] = rng.gamma(0.5, 2.0, 400) * (rng.random(400) < 0.6)  # long runs of distinct values
    matrix[:, 4] = np.where(rng.random(400) < 0.9, rng.uniform(1e-3, 9.0, 400), 0.0)  # > 24 values, many bytes differ
    single = matrix.astype(np.float32)
    result = anchor_correlations(sparse.csr_matrix(single), anchor, [f"g{i}" for i in range(12)])
    for g in range(12):
        tau, tau_p = stats.kendalltau(anchor, single[:, g].astype(np.float64), variant="b")
        rho, _ = stats.spearmanr(anchor, single[:, g].astype(np.float64))
        assert result["kendall_tau_b"][g] == pytest.approx(tau, abs=1e-10)
        assert result["kendall_p"][g] == pytest.approx(tau_p, abs=1e-10)
        assert result["spearman_rho"][g] == pytest.approx(rho, abs=1e-10)


def test_radix_orders_sort_every_gene():
    from replisuite.singlecell.correlation import _radix_orders

    rng = np.random.default_rng(9)
    lengths = [0, 1, 5, 24, 25, 300, 4000]
    values = [rng.choice(np.float32([0.5, 1.25, 3.0]), n) if n == 300 else rng.gamma(1.0, 2.0, n).astype(np.float32)
              for n in lengths]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    data = np.concatenate(values).astype(np.float32)
    orders = _radix_orders(indptr, data.view(np.uint32))
    for start, end in zip(indptr[:-1], indptr[1:], strict=True):
        chunk = data[start:end]
        assert np.array_equal(chunk[orders[start:end]], np.sort(chunk))
        assert np.array_equal(np.sort(orders[start:end]), np.arange(end - start))
