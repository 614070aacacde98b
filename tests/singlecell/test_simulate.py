"""The seeded simulator: determinism, realistic counts, and what it plants."""

import numpy as np
import pytest

from replisuite.singlecell.genesets import go_biological_process
from replisuite.singlecell.simulate import simulate_cohort

from .conftest import AR, PROGRAMMES, RIBO, small_spec


def test_counts_are_sparse_non_negative_integers_with_named_genes(small_cohort):
    adata, truth = small_cohort
    counts = adata.X
    assert counts.data.min() >= 1 and np.array_equal(counts.data, np.round(counts.data))
    assert 0.02 < counts.nnz / np.prod(adata.shape) < 0.5
    assert {"TRPM4", *RIBO, *AR, "MT-CO1"} <= set(adata.var_names)
    assert adata.n_vars == 2500 and len(set(adata.var_names)) == adata.n_vars
    library = np.asarray(counts.sum(axis=1)).ravel()
    assert library.std() / library.mean() > 0.2  # library sizes vary between cells
    assert truth.height == adata.n_obs and truth["cell"].to_list() == list(adata.obs_names)


def test_same_seed_same_cohort_other_seed_other_cohort():
    first, truth_a = simulate_cohort(small_spec(cells_per_group=60, genes=800))
    second, truth_b = simulate_cohort(small_spec(cells_per_group=60, genes=800))
    third, _ = simulate_cohort(small_spec(cells_per_group=60, genes=800, seed=8))
    assert (first.X != second.X).nnz == 0 and truth_a.equals(truth_b)
    assert (first.X != third.X).nnz > 0


def test_a_patients_cells_do_not_depend_on_the_other_patients():
    both, truth_both = simulate_cohort(small_spec(patients=("P1", "P2"), cells_per_group=60, genes=800))
    alone, truth_alone = simulate_cohort(small_spec(patients=("P2",), cells_per_group=60, genes=800))
    swapped, _ = simulate_cohort(small_spec(patients=("P2", "P1"), cells_per_group=60, genes=800))
    p2 = (both.obs["patient"] == "P2").to_numpy()
    assert list(both.obs_names[p2]) == list(alone.obs_names) == list(swapped.obs_names[:alone.n_obs])
    assert (both.X[p2] != alone.X).nnz == 0 and (swapped.X[:alone.n_obs] != alone.X).nnz == 0
    assert truth_both.filter(truth_both["patient"] == "P2").equals(truth_alone)
    # and the patients are not copies of one another
    assert (both.X[p2] != both.X[~p2]).nnz > 0


def test_planted_cells_ip_and_programmes(small_cohort):
    adata, truth = small_cohort
    assert truth["planted_cell"].mean() == pytest.approx(0.45, abs=0.05)
    for (patient, condition), frame in truth.group_by("patient", "condition"):
        anchor = frame["anchor_planted"].to_numpy()
        ip = frame["planted_ip"][0]
        assert np.quantile(anchor, 0.3) < ip < np.quantile(anchor, 0.7), (patient, condition)
    go = go_biological_process()
    planted = adata.uns["simulation"]["programme_genes"]
    assert set(planted["post_ip"]) <= set(go[PROGRAMMES["post_ip"][0]])
    assert len(planted["pre_ip"]) == 40 and not any(g.startswith(("RPL", "RPS")) for g in planted["pre_ip"])
    # programme genes are up in planted post-IP cells
    post = (truth["planted_cell"] & truth["post_ip"]).to_numpy()
    columns = [list(adata.var_names).index(g) for g in planted["post_ip"]]
    block = adata.X[:, columns].toarray() / np.asarray(adata.X.sum(axis=1))
    assert block[post].mean() > 2 * block[~post].mean()


def test_bad_specification_is_named():
    with pytest.raises(ValueError, match="GO term 'No Such Term'"):
        simulate_cohort(small_spec(programmes={"pre_ip": ["No Such Term"]}))
    with pytest.raises(ValueError, match="simulation.genes = 100"):
        simulate_cohort(small_spec(genes=100))
    with pytest.raises(ValueError, match=r"no anchor level .* \['normal'\]"):
        simulate_cohort(small_spec(conditions={"tumour": ["6"], "normal": ["3"]}))


def test_coexpressed_genes_follow_the_anchor_by_tier():
    from scipy import stats

    adata, _ = simulate_cohort(small_spec(cells_per_group=600, genes=800, coexpressed={"tier1": 2, "tier2": 2}))
    planted = adata.uns["simulation"]["coexpressed"]
    assert [len(planted["tier1"]), len(planted["tier2"])] == [2, 2]
    assert not set(planted["tier1"] + planted["tier2"]) & {"TRPM4", *RIBO, *AR}
    tumour = (adata.obs["condition"] == "tumour").to_numpy()
    counts = adata.X[tumour].toarray()
    normalised = np.log1p(1e4 * counts / counts.sum(axis=1, keepdims=True))
    anchor = normalised[:, list(adata.var_names).index("TRPM4")]
    rho = {tier: [stats.spearmanr(anchor, normalised[:, list(adata.var_names).index(g)])[0] for g in genes]
           for tier, genes in planted.items()}
    # measured strengths (tier 1 about 0.75, tier 2 about 0.64), with room for 1,200 cells' sampling error
    assert min(rho["tier1"]) > 0.65 and 0.5 < min(rho["tier2"]) and max(rho["tier2"]) < min(rho["tier1"])
    unplanted = np.nanmedian([stats.spearmanr(anchor, normalised[:, j])[0] for j in range(40, 80)])
    assert abs(unplanted) < 0.15
