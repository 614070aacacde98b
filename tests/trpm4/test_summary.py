"""Study-level tables: set comparison against scipy, recovery of a planted truth, GO themes."""

import numpy as np
import polars as pl
import pytest
from scipy import stats

from replisuite.trpm4.summary import compare_sets, recovery, theme_check


def test_compare_sets_is_a_paired_wilcoxon_with_bh():
    rng = np.random.default_rng(0)
    patients = [f"P{i}" for i in range(7)]
    ribo, ar, wnt = rng.uniform(0.4, 0.6, 7), rng.uniform(0.0, 0.1, 7), rng.uniform(0.3, 0.7, 7)
    fits = pl.DataFrame({"group": ["PCa"] * 21, "patient": patients * 3, "gene_set": ["Ribo"] * 7 + ["AR"] * 7 + ["WNT"] * 7,
                         "deviance_explained": np.concatenate([ribo, ar, wnt])})
    table = compare_sets(fits, "Ribo")
    row = table.filter(pl.col("other_set") == "AR").row(0, named=True)
    assert row["wilcoxon_p"] == pytest.approx(stats.wilcoxon(ribo - ar).pvalue) and row["patients_focus_higher"] == 7
    assert row["median_difference"] == pytest.approx(np.median(ribo - ar))
    p = table["wilcoxon_p"].to_numpy()
    assert table["fdr"].to_numpy() == pytest.approx(stats.false_discovery_control(p))


def test_recovery_compares_planted_and_recovered():
    cells = pl.DataFrame({"cell": ["a", "b", "c", "d"], "group": "PCa", "patient": "P1", "trep": [True, True, False, False],
                          "anchor": [0.0, 0.5, 1.5, 2.0]})
    truth = pl.DataFrame({"cell": ["a", "b", "c", "d"], "planted_cell": [True, False, True, False], "planted_ip": [1.0] * 4})
    summary = pl.DataFrame({"group": ["PCa"], "patient": ["P1"], "ip": [1.2], "ip_low": [0.9], "ip_high": [1.3],
                            "ip_calibrated": [0.95], "ip_calibrated_low": [1.01], "ip_calibrated_high": [1.1]})
    go = pl.DataFrame({"group": "PCa", "patient": "P1", "comparison": ["post_ip", "post_ip", "pre_ip"], "direction": "up",
                       "p_filter": "raw", "term": ["X", "Planted", "Immune"], "rank": [1, 2, 4], "score_genes": "kept"})
    row = recovery(cells, summary, truth, go, {"post_ip": ["Planted"], "pre_ip": ["Immune", "Other"]}).row(0, named=True)
    assert row["ip_error"] == pytest.approx(0.2) and row["planted_in_interval"]
    assert row["ip_calibrated_error"] == pytest.approx(-0.05) and not row["planted_in_calibrated_interval"]
    assert row["trivial_guess_error"] == pytest.approx(0.5)  # median of the detected anchor (1.5) - planted (1.0)
    assert row["jaccard_trep_planted"] == pytest.approx(1 / 3)
    assert row["post_ip_programme_best_rank"] == 2 and row["pre_ip_programme_best_rank"] == 4
    assert recovery(cells, summary, truth.clear(), go, {}).is_empty()


def test_theme_check_reads_the_raw_up_lists_with_and_without_the_score_genes():
    top = pl.DataFrame({"group": "PCa", "patient": ["P1"] * 5,
                        "comparison": ["pre_ip", "post_ip", "post_ip", "post_ip", "post_ip"],
                        "direction": ["up", "up", "down", "up", "up"], "p_filter": "raw",
                        "score_genes": ["kept", "kept", "kept", "removed", "kept"],
                        "immune": [True, False, False, False, False],
                        "translation_adhesion": [False, True, True, False, False]})
    row = theme_check(top).row(0, named=True)
    assert row["pre_ip_trep_immune"] and row["post_ip_trep_translation_adhesion"]
    # the post-IP theme came only from the lists that kept the score set's genes
    assert not row["post_ip_trep_translation_adhesion_without_score_genes"]
    down_only = theme_check(top.filter(pl.col("direction") == "down")).row(0, named=True)
    assert not down_only["post_ip_trep_translation_adhesion"]
