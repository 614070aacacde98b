"""Pipeline steps on small hand-made data: the dual filter's tiers, FDR and undefined correlations."""

import anndata as ad
import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy import sparse, stats

from replisuite.stats import bh_fdr
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
    study = {"anchor": "TRPM4", "dual_filter": {"tier1": {"rho": 0.6, "tau": 0.5}, "tier2": {"rho": 0.3, "tau": 0.2}}}
    dual_filter(study, "PCa", cells=str(path), table_out=str(tmp_path / "out.csv"))
    table = pl.read_csv(tmp_path / "out.csv")
    rows = {row["gene"]: row for row in table.iter_rows(named=True)}
    assert set(rows) == {"CLOSE", "LOOSE", "NOISE", "ZERO"}  # the anchor itself is not tested
    assert rows["CLOSE"]["tier"] == "tier1" and rows["NOISE"]["tier"] == "none"
    assert rows["ZERO"]["spearman_rho"] is None and rows["ZERO"]["tier"] == "none"
    rho, tau = stats.spearmanr(anchor, loose)[0], stats.kendalltau(anchor, loose)[0]
    assert rows["LOOSE"]["spearman_rho"] == pytest.approx(rho) and rows["LOOSE"]["kendall_tau_b"] == pytest.approx(tau)
    assert rows["LOOSE"]["tier"] == ("tier1" if rho >= 0.6 and tau >= 0.5 else "tier2" if rho >= 0.3 and tau >= 0.2 else "none")
    defined = table.filter(pl.col("kendall_p").is_not_null())
    assert defined["kendall_fdr"].to_numpy() == pytest.approx(bh_fdr(defined["kendall_p"].to_numpy()))
