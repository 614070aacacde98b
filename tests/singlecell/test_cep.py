"""Explanatory power, TREP calling, cross-validation and the inflection point."""

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from replisuite.singlecell.cep import (
    above_below_test,
    classifier_ranking,
    compare_pre_post,
    cross_validate,
    explanatory_power,
    inflection_point,
    one_sample_test,
    quadrants,
    top_cells,
    trep_cells,
)
from replisuite.singlecell.gam import deviance_explained, fit_anchor_gam


def test_explanatory_power_and_trep_count():
    y = np.array([1.0, 2.0, 3.0, 2.0])
    fitted = np.array([1.5, 2.0, 2.5, 2.1])
    ep = explanatory_power(y, fitted, 2.0)
    assert ep.tolist() == pytest.approx([1 - 0.25 / 1, 0.0, 1 - 0.25 / 1, 0.0])  # zero denominator gives 0
    ep, trep = trep_cells(y, fitted, 0.5)
    assert trep.sum() == 2 and trep[[0, 2]].all()
    assert top_cells(np.array([3.0, 1.0, 3.0, 2.0]), 2).tolist() == [True, False, True, False]


def planted(n=1500, seed=0, ip=1.3):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, n)
    well = rng.random(n) < 0.5
    curve = 1 + 0.5 * x
    y = curve + np.where(well, 0.1 * np.tanh((x - ip) / 0.3) + rng.normal(0, 0.01, n), rng.normal(0, 0.3, n))
    return x, y, well


def test_inflection_point_of_a_planted_sign_change():
    rng = np.random.default_rng(1)
    x = rng.uniform(0.2, 3, 800)
    residual = 0.1 * np.tanh((x - 1.3) / 0.3) + rng.normal(0, 0.03, 800)
    result = inflection_point(x, residual)
    assert result["ip"] == pytest.approx(1.3, abs=0.05)
    assert result["ip_low"] < 1.3 < result["ip_high"] and result["crossings"] >= 1
    none = inflection_point(x, 0.1 + 0.0 * x + rng.normal(0, 0.01, 800))
    assert np.isnan(none["ip"]) and none["crossings"] == 0


def test_a_crossing_in_the_undetected_gap_is_not_taken():
    rng = np.random.default_rng(2)
    x = np.concatenate([np.zeros(150), rng.uniform(1.0, 3.0, 600)])
    # undetected cells below the curve, the first detected ones above it: the data's first
    # negative-to-positive change is at x = 2, the whole range has another one inside the gap
    residual = np.where(x == 0, -0.1, np.where(x < 1.4, 0.1, 0.1 * np.tanh((x - 2.0) / 0.2))) + rng.normal(0, 0.01, x.size)
    assert inflection_point(x, residual)["ip"] == pytest.approx(2.0, abs=0.1)
    assert inflection_point(x, residual, detected_only=False)["ip"] < 1.0  # whole range: the gap's crossing comes first


def test_cross_validation_separates_ep_ranking_from_controls():
    x, y, _ = planted()
    cv = cross_validate(x, y, k=6, lam=1.0, repeats=10, train_fraction=0.7, seed=3, selections=("patient",))
    assert cv.height == 30 and set(cv["method"]) == {"explanatory_power", "random", "leverage"}
    ep = cv.filter(cv["method"] == "explanatory_power")["difference"].to_numpy()
    random = cv.filter(cv["method"] == "random")["difference"].to_numpy()
    assert ep.min() > 0 and abs(random.mean()) < ep.mean() / 3
    assert cv.filter(cv["method"] == "random")["n_trep"].to_list() == cv.filter(cv["method"] == "explanatory_power")["n_trep"].to_list()
    again = cross_validate(x, y, k=6, lam=1.0, repeats=10, train_fraction=0.7, seed=3, selections=("patient",))
    assert again.equals(cv)


def test_classifier_ranking_learns_the_training_labels():
    rng = np.random.default_rng(8)
    features = rng.normal(size=(400, 3))
    labels = features[:, 0] + 0.3 * rng.normal(size=400) > 0
    probability = classifier_ranking(features[:300], labels[:300], features[300:])
    assert stats.spearmanr(probability, features[300:, 0])[0] > 0.9
    assert not classifier_ranking(features[:300], np.zeros(300, dtype=bool), features[300:]).any()


def test_corrected_cv_needs_expression_that_marks_the_subpopulation():
    x, y, well = planted()
    rng = np.random.default_rng(9)
    marked = np.column_stack([well + rng.normal(0, 0.5, x.size), rng.normal(size=(x.size, 4))])
    noise = rng.normal(size=(x.size, 5))

    def gains(features):
        cv = cross_validate(x, y, k=6, lam=1.0, repeats=10, train_fraction=0.7, seed=3, selections=("patient",),
                            features=features)
        by = {m: cv.filter(pl.col("method") == m)["difference"].to_numpy() for m in ("explanatory_power", "classifier", "random")}
        return by["explanatory_power"] - by["random"], by["classifier"] - by["random"]

    ep, marked_gain = gains(marked)
    assert marked_gain.min() > 0
    ep_again, noise_gain = gains(noise)
    assert np.array_equal(ep, ep_again)  # the features touch only the classifier's calls
    assert abs(noise_gain.mean()) < 0.1 * ep.mean() < marked_gain.mean()
    with pytest.raises(ValueError, match="features have 3 rows"):
        cross_validate(x, y, k=6, lam=1.0, repeats=1, train_fraction=0.7, seed=3, features=noise[:3])


def test_nested_selection_chooses_k_and_lambda_on_the_training_cells_only():
    x, y, _ = planted()
    grid = np.logspace(-2, 2, 5)
    cv = cross_validate(x, y, k=3, lam=100.0, repeats=3, train_fraction=0.7, seed=5, lam_grid=grid)
    assert cv.height == 3 * 2 * 3 and set(cv["selection"]) == {"nested", "patient"}
    # the same split, rebuilt: the nested fit is the full search on its training cells alone
    order = np.random.default_rng(5).permutation(x.size)
    train, test = order[:int(round(x.size * 0.7))], order[int(round(x.size * 0.7)):]
    gam, _ = fit_anchor_gam(x[train], y[train], lam_grid=grid)
    fitted = gam.predict(x[test][:, None])
    count = int(round(deviance_explained(y[train], gam.predict(x[train][:, None])) * test.size))
    mask = top_cells(explanatory_power(y[test], fitted, float(y[train].mean())), count)
    residual = y[test] - fitted
    row = cv.filter((pl.col("repeat") == 0) & (pl.col("selection") == "nested") & (pl.col("method") == "explanatory_power"))
    assert row["n_trep"][0] == count
    assert row["rmse_trep"][0] == pytest.approx(np.sqrt(np.mean(residual[mask] ** 2)))
    with pytest.raises(ValueError, match="unknown CV selection"):
        cross_validate(x, y, k=3, lam=1.0, repeats=1, train_fraction=0.7, seed=5, selections=("all",))


def exact_signed_rank_p(values):
    """Two-sided exact Wilcoxon signed-rank p-value by counting every sign assignment (no ties)."""
    ranks = stats.rankdata(np.abs(values)).astype(int)
    w_plus = int(ranks[values > 0].sum())
    counts = np.zeros(ranks.sum() + 1)
    counts[0] = 1
    for rank in ranks:  # the number of sign assignments reaching each positive-rank sum
        counts[rank:] = counts[rank:] + counts[:-rank].copy()
    cdf = np.cumsum(counts) / counts.sum()
    tail = min(w_plus, ranks.sum() - w_plus)
    return min(1.0, 2 * cdf[tail])


def test_one_sample_test_picks_t_or_wilcoxon():
    rng = np.random.default_rng(4)
    normal = rng.normal(0.5, 1, 20)
    result = one_sample_test(normal)  # one-sided by default: the study predicts a positive difference
    assert result["test"] == "t-test"
    assert result["p_value"] == pytest.approx(DescrStatsW(normal).ttest_mean(0.0, alternative="larger")[1])  # statsmodels
    assert one_sample_test(-normal)["p_value"] > 0.9  # the wrong direction is not evidence
    assert one_sample_test(normal, alternative="two-sided")["p_value"] == pytest.approx(DescrStatsW(normal).ttest_mean(0.0)[1])
    skewed = np.concatenate([rng.exponential(1, 18), [40.0, 60.0]])
    result = one_sample_test(skewed, alternative="two-sided")
    assert result["test"] == "wilcoxon" and result["p_value"] == pytest.approx(exact_signed_rank_p(skewed))
    assert one_sample_test(skewed)["p_value"] == pytest.approx(exact_signed_rank_p(skewed) / 2)
    assert result["effect_size"] == pytest.approx(skewed.mean() / skewed.std(ddof=1))


def test_pre_post_and_quadrant_tests():
    rng = np.random.default_rng(5)
    pre, post = rng.normal(-0.1, 0.05, 100), rng.normal(0.1, 0.05, 120)
    result = compare_pre_post(pre, post)
    assert result["test"] == "welch-t"
    assert result["p_value"] == pytest.approx(stats.ttest_ind(post, pre, equal_var=False, alternative="greater").pvalue)
    assert compare_pre_post(rng.exponential(1, 50), rng.exponential(1, 50) ** 3)["test"] == "mann-whitney"
    x = np.array([0.5, 0.6, 0.7, 1.5, 1.6, 1.7])
    residual = np.array([-1, -1, 1, 1, 1, -1.0])
    counts = above_below_test(x, residual, 1.0)
    assert (counts["pre_above"], counts["pre_below"], counts["post_above"], counts["post_below"]) == (1, 2, 2, 1)
    assert counts["p_value"] == pytest.approx(stats.chi2_contingency([[1, 2], [2, 1]])[1])
    assert quadrants(x[:2], np.array([True, False]), 0.55).tolist() == ["pre_trep", "post_non_trep"]
