import numpy as np
import pytest
from scipy.stats import chi2_contingency
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.multitest import multipletests

from replisuite.stats import bh_fdr, bootstrap_mean_ci, cluster_bootstrap_mean_ci, cohen_kappa


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.binomial(1, 0.3, 50).astype(float)
    large = rng.binomial(1, 0.3, 5000).astype(float)
    mean, low, high = bootstrap_mean_ci(small, seed=1)
    assert low < mean < high and mean == pytest.approx(small.mean())
    _, low_l, high_l = bootstrap_mean_ci(large, seed=1)
    assert high_l - low_l < (high - low) / 5
    # normal approximation of a proportion's interval
    se = np.sqrt(large.mean() * (1 - large.mean()) / large.size)
    assert high_l - low_l == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_bootstrap_ignores_nan_and_handles_empty():
    mean, low, high = bootstrap_mean_ci([1.0, np.nan, 0.0, 1.0], seed=0)
    assert mean == pytest.approx(2 / 3)
    assert all(np.isnan(bootstrap_mean_ci([np.nan])))


def test_bh_matches_statsmodels_and_keeps_nan():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    expected = multipletests(p[~np.isnan(p)], method="fdr_bh")[1]
    adjusted = bh_fdr(p)
    assert np.isnan(adjusted[2]) and np.allclose(adjusted[~np.isnan(p)], expected)


def test_kappa_matches_sklearn():
    rng = np.random.default_rng(3)
    a = rng.choice(["yes", "no"], 200)
    b = np.where(rng.random(200) < 0.8, a, rng.choice(["yes", "no"], 200))
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa(["x", None, "y"], ["x", "y", "y"]) == pytest.approx(cohen_kappa_score(["x", "y"], ["x", "y"]))


def test_condition_tests_match_scipy():
    import polars as pl

    from replisuite.stigma.analysis import condition_tests

    rows = [("m", True, c, float(s)) for c, yes, no in (("a", 10, 30), ("b", 25, 15), ("c", 5, 5)) for s in [1] * yes + [0] * no]
    frame = pl.DataFrame(rows, schema=["model", "steel_man", "condition", "stigma"], orient="row")
    result = condition_tests(frame)
    chi2, p, dof, _ = chi2_contingency(np.array([[10, 30], [25, 15], [5, 5]]))
    assert result["chi2"][0] == pytest.approx(chi2) and result["p_value"][0] == pytest.approx(p) and result["dof"][0] == dof


def test_cluster_bootstrap_equals_the_plain_one_for_singletons_and_widens_for_clusters():
    rng = np.random.default_rng(0)
    values = rng.normal(size=300)
    plain = bootstrap_mean_ci(values, n_boot=4000, seed=1)
    singletons = cluster_bootstrap_mean_ci(values, np.arange(300), n_boot=4000, seed=1)
    assert singletons[0] == pytest.approx(plain[0]) and singletons[2] - singletons[1] == pytest.approx(plain[2] - plain[1], rel=0.1)
    # 30 clusters of 10 identical values: the information of 30 draws, not 300
    clustered = np.repeat(rng.normal(size=30), 10)
    wide = cluster_bootstrap_mean_ci(clustered, np.repeat(np.arange(30), 10), n_boot=4000, seed=1)
    naive = bootstrap_mean_ci(clustered, n_boot=4000, seed=1)
    assert (wide[2] - wide[1]) > 2.5 * (naive[2] - naive[1])
    assert np.isnan(cluster_bootstrap_mean_ci([np.nan], ["a"])[0])


def test_kappa_is_nan_when_undefined_in_both_entry_points():
    from replisuite.judge.reliability import cohen_kappa as judge_kappa
    assert np.isnan(cohen_kappa(["x", "x"], ["x", "x"])) and np.isnan(judge_kappa(np.ones(3), np.ones(3)))


def test_weighted_kappa_counts_a_scale_point_no_rater_used():
    # nobody used 3 or 4: on the observed values alone, 2 and 5 would look one step apart
    a, b = [1, 2, 2, 5, 1], [1, 2, 5, 5, 2]
    full = cohen_kappa(a, b, weights="quadratic", categories=[1, 2, 3, 4, 5])
    assert full == pytest.approx(cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5]))
    assert full != pytest.approx(cohen_kappa(a, b, weights="quadratic"))
    with pytest.raises(ValueError, match="not in the categories"):
        cohen_kappa(a, b, categories=[1, 2])


def test_wilson_interval_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    from replisuite.stats import wilson_interval
    for k, n in ((0, 8), (3, 8), (8, 8), (41, 100)):
        p, low, high = wilson_interval(k, n)
        assert p == k / n
        assert (low, high) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)
    assert all(np.isnan(wilson_interval(0, 0)))


def test_corrected_resampled_ttest_is_the_t_test_without_correction_and_widens_with_it():
    from scipy import stats

    from replisuite.stats import corrected_resampled_ttest

    values = np.random.default_rng(3).normal(0.3, 1.0, 20)
    plain = corrected_resampled_ttest(values, test_train_ratio=0.0)
    assert plain["p_value"] == pytest.approx(stats.ttest_1samp(values, 0.0, alternative="greater").pvalue)
    assert corrected_resampled_ttest(values, test_train_ratio=0.0, alternative="two-sided")["p_value"] == pytest.approx(
        stats.ttest_1samp(values, 0.0).pvalue)
    corrected = corrected_resampled_ttest(values, test_train_ratio=0.3 / 0.7)
    # Nadeau & Bengio: the variance is (1/J + n_test/n_train) s^2 instead of s^2 / J
    assert corrected["statistic"] == pytest.approx(plain["statistic"] / np.sqrt(1 + 20 * 0.3 / 0.7))
    assert corrected["p_value"] > plain["p_value"]
    assert np.isnan(corrected_resampled_ttest([1.0, 1.0], test_train_ratio=0.5)["p_value"])
    with pytest.raises(ValueError, match="alternative 'up'"):
        corrected_resampled_ttest(values, test_train_ratio=0.5, alternative="up")


def test_the_correction_keeps_its_level_where_resampled_splits_share_units():
    """Two equally good predictors (a null) compared over 20 random 70/30 splits of the same 60
    units: the plain t-test over splits rejects far more often than 5%, the corrected one does not."""
    from scipy import stats

    from replisuite.stats import corrected_resampled_ttest

    rng = np.random.default_rng(11)
    plain_rejections = corrected_rejections = 0
    for _ in range(200):
        units = rng.normal(0, 1, 60)  # a per-unit difference in loss between the two predictors, mean 0
        differences = [units[rng.permutation(60)[42:]].mean() for _ in range(20)]
        plain_rejections += stats.ttest_1samp(differences, 0.0, alternative="greater").pvalue < 0.05
        corrected_rejections += corrected_resampled_ttest(differences, test_train_ratio=18 / 42)["p_value"] < 0.05
    assert plain_rejections / 200 > 0.2
    assert corrected_rejections / 200 < 0.1
