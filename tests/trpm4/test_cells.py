"""Pipeline steps on small hand-made data: the dual filter's tiers, FDR and undefined correlations."""

import anndata as ad
import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import sparse, stats
from statsmodels.stats.multitest import multipletests

from replisuite.trpm4.cells import dual_filter


def test_dual_filter_tiers_fdr_and_constant_genes(tmp_path):
    rng = np.random.default_rng(0)
    n = 400
    anchor = np.where(rng.random(n) < 0.3, 0.0, rng.gamma(2.0, 1.0, n))
    close = np.where(anchor > 0, anchor + rng.normal(0, 0.05, n), 0.0).clip(0)  # rho, tau high
    loose = np.where(rng.random(n) < 0.5, anchor, 0.0)  # moderate
    noise = rng.gamma(1.0, 1.0, n) * (rng.random(n) < 0.4)
    values = np.column_stack([anchor, close, loose, noise, np.zeros(n)])
    adata = ad.AnnData(X=sparse.csr_matrix(values), obs=pd.DataFrame({"group": ["PCa"] * n}, index=[f"c{i}" for i in range(n)]))
    adata.var_names = ["TRPM4", "CLOSE", "LOOSE", "NOISE", "ZERO"]
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    study = {"anchor": "TRPM4", "dual_filter": {"tier1": {"rho": 0.6, "tau": 0.5}, "tier2": {"rho": 0.3, "tau": 0.2},
                                                "max_fdr": 0.05}}
    dual_filter(study, "PCa", cells=str(path), table_out=str(tmp_path / "out.csv"))
    table = pl.read_csv(tmp_path / "out.csv")
    rows = {row["gene"]: row for row in table.iter_rows(named=True)}
    assert set(rows) == {"CLOSE", "LOOSE", "NOISE", "ZERO"}  # the anchor itself is not tested
    assert rows["CLOSE"]["tier"] == "tier1" and rows["NOISE"]["tier"] == "none"
    assert rows["ZERO"]["spearman_rho"] is None and rows["ZERO"]["tier"] == "none"
    rho, tau = stats.spearmanr(anchor, loose)[0], stats.kendalltau(anchor, loose)[0]
    assert rows["LOOSE"]["spearman_rho"] == pytest.approx(rho) and rows["LOOSE"]["kendall_tau_b"] == pytest.approx(tau)
    # built half-correlated: rho 0.54 and tau 0.52 pass tier 2 (0.3, 0.2) but not tier 1's rho of 0.6
    assert 0.3 <= rho < 0.6 and tau >= 0.2 and rows["LOOSE"]["tier"] == "tier2"
    defined = table.filter(pl.col("kendall_p").is_not_null())
    reference = multipletests(defined["kendall_p"].to_numpy(), method="fdr_bh")[1]
    assert defined["kendall_fdr"].to_numpy() == pytest.approx(reference)


def test_dual_filter_tiers_need_significant_fdr(tmp_path):
    rng = np.random.default_rng(1)
    n = 12  # strongly correlated, but too few cells to survive BH at 1e-9
    anchor = rng.gamma(2.0, 1.0, n)
    values = np.column_stack([anchor, anchor + rng.normal(0, 0.05, n), rng.gamma(1.0, 1.0, n)])
    adata = ad.AnnData(X=sparse.csr_matrix(values), obs=pd.DataFrame({"group": ["PCa"] * n}, index=[f"c{i}" for i in range(n)]))
    adata.var_names = ["TRPM4", "CLOSE", "NOISE"]
    adata.write_h5ad(tmp_path / "cells.h5ad")
    rule = {"tier1": {"rho": 0.6, "tau": 0.5}, "tier2": {"rho": 0.3, "tau": 0.2}}
    for max_fdr, expected in ((0.05, "tier1"), (1e-9, "none")):
        dual_filter({"anchor": "TRPM4", "dual_filter": {**rule, "max_fdr": max_fdr}}, "PCa", cells=str(tmp_path / "cells.h5ad"),
                    table_out=str(tmp_path / "out.csv"))
        close = pl.read_csv(tmp_path / "out.csv").filter(pl.col("gene") == "CLOSE").row(0, named=True)
        assert close["spearman_rho"] > 0.9 and close["tier"] == expected, (max_fdr, close)


def test_a_patients_expression_features_do_not_depend_on_the_other_patients(tmp_path):
    """The corrected CV's components are computed within each group and patient: removing a patient
    (here one with a strong programme of its own) leaves every other patient's features unchanged."""
    import anndata as ad

    from replisuite.trpm4.cells import expression_features

    rng = np.random.default_rng(5)
    patients = np.repeat(["P1", "P2", "P3"], 120)
    means = np.tile(np.exp(rng.normal(0.5, 1.0, 150)), (360, 1))
    means[np.ix_(patients == "P3", np.arange(20))] *= 6  # P3 alone carries a programme
    adata = ad.AnnData(X=np.log1p(rng.poisson(means)).astype(np.float32))
    adata.var_names = ["TRPM4", "RPL10", *[f"G{i}" for i in range(148)]]
    adata.obs_names = [f"c{i}" for i in range(360)]
    adata.obs["group"], adata.obs["patient"] = "PCa", patients
    study = {"anchor": "TRPM4", "focus_set": "Ribo", "gene_sets": {"Ribo": ["RPL10"]},
             "cv": {"classifier": {"genes": 60, "components": 5, "exclude_pattern": "^RP[SL]", "seed": 1}}}
    adata.write_h5ad(tmp_path / "all.h5ad")
    adata[patients != "P3"].copy().write_h5ad(tmp_path / "two.h5ad")
    for name in ("all", "two"):
        expression_features(study, cells=str(tmp_path / f"{name}.h5ad"), features_out=str(tmp_path / f"{name}.parquet"))
    together = pl.read_parquet(tmp_path / "all.parquet").filter(pl.col("cell").is_in(list(adata.obs_names[:240])))
    apart = pl.read_parquet(tmp_path / "two.parquet")
    assert together.sort("cell").equals(apart.sort("cell"))
    assert pl.read_parquet(tmp_path / "all.parquet").height == 360
