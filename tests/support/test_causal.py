"""ATT estimators against independent references (statsmodels) and planted confounded data."""

import numpy as np
import pytest
import statsmodels.api as sm

from replisuite.support.causal import (CausalInputError, att_doubly_robust, att_ipw, att_table, balance_table, logistic_fit,
                                       match_pairs, pooled_sd, propensity_scores)
from tests.support.conftest import confounded


def test_logistic_fit_equals_statsmodels_logit(planted):
    x, treated, _ = planted
    design = sm.add_constant(x)
    ours = logistic_fit(design, treated.astype(float))
    reference = sm.Logit(treated.astype(float), design).fit(disp=0).params
    np.testing.assert_allclose(ours, reference, rtol=1e-8, atol=1e-10)


def test_matching_pairs_nearest_controls_with_and_without_replacement():
    score = np.array([0.0, 0.1, 0.5, 0.52, 0.9, 3.0])
    treated = np.array([False, True, False, True, True, True])
    t_rows, c_rows = match_pairs(score, treated, caliper=0.5, replace=True)
    # unit 1 -> control 0 (0.1 away), unit 3 -> control 2, unit 4 -> control 2 (0.4), unit 5: no control within 0.5
    assert dict(zip(t_rows.tolist(), c_rows.tolist(), strict=True)) == {1: 0, 3: 2, 4: 2}
    t_rows, c_rows = match_pairs(score, treated, caliper=0.5, replace=False)
    # greedy from the highest score: 5 finds none, 4 takes control 2, 3 is then 0.52 from control 0 (outside), 1 takes 0
    pairs = dict(zip(t_rows.tolist(), c_rows.tolist(), strict=True))
    assert pairs == {4: 2, 1: 0} and len(set(c_rows.tolist())) == len(c_rows)


def test_matching_ipw_and_dr_remove_the_confounding_the_naive_estimate_has(planted):
    x, treated, y = planted
    table = att_table({"y": y}, treated, x, caliper_sd=0.2, n_boot=50, seed=1)
    estimates = dict(zip(table["method"], table["estimate"], strict=True))
    assert estimates["naive"] - 2.0 > 1.5  # treated users have higher x1, which raises y
    for method in ("matching_replace", "matching_no_replace", "ipw", "doubly_robust"):
        assert estimates[method] == pytest.approx(2.0, abs=0.25), method
    assert (table["ci_low"] <= table["estimate"]).all() and (table["estimate"] <= table["ci_high"]).all()


def test_ipw_equals_weighted_least_squares_on_the_treatment(planted):
    x, treated, y = planted
    e = propensity_scores(x, treated)
    weights = np.where(treated, 1.0, e / (1 - e))
    reference = sm.WLS(y, sm.add_constant(treated.astype(float)), weights=weights).fit().params[1]
    assert att_ipw(y, treated, e) == pytest.approx(reference, rel=1e-10)


def test_doubly_robust_is_right_when_either_model_is():
    x, treated, y = confounded(n=20000, seed=3, nonlinear=True)
    e_right = propensity_scores(x, treated)
    e_wrong = np.full(len(y), treated.mean())  # ignores the confounders
    outcome_right = np.column_stack([x, x[:, 0] ** 2])
    outcome_wrong = x[:, 1:]  # misses x1
    assert att_doubly_robust(y, treated, e_right, outcome_wrong) == pytest.approx(2.0, abs=0.2)
    assert att_doubly_robust(y, treated, e_wrong, outcome_right) == pytest.approx(2.0, abs=0.1)
    # both wrong: the bias of the naive comparison stays
    assert abs(att_doubly_robust(y, treated, e_wrong, outcome_wrong) - 2.0) > 1.0
    # and IPW alone with the wrong propensity is the naive difference
    assert att_ipw(y, treated, e_wrong) == pytest.approx(y[treated].mean() - y[~treated].mean())


def test_balance_improves_after_matching(planted):
    x, treated, _ = planted
    balance = balance_table(x, ["x1", "x2"], treated, caliper_sd=0.2)
    before = balance.filter(balance["sample"] == "before matching")["smd"].abs()
    assert before.max() > 0.5
    for sample in ("matched (with replacement)", "IPW (ATT weights)"):
        assert balance.filter(balance["sample"] == sample)["smd"].abs().max() < 0.1, sample
    # greedy matching without replacement runs short of close controls for the highest scores
    without = balance.filter(balance["sample"] == "matched (without replacement)")["smd"].abs()
    assert without.max() < before.max() / 4


def test_att_table_is_reproducible_from_its_seed(planted):
    x, treated, y = planted
    first = att_table({"y": y}, treated, x, caliper_sd=0.2, n_boot=20, seed=5)
    assert first.equals(att_table({"y": y}, treated, x, caliper_sd=0.2, n_boot=20, seed=5))
    assert not first.equals(att_table({"y": y}, treated, x, caliper_sd=0.2, n_boot=20, seed=6))


def test_entry_points_refuse_a_0_1_integer_treatment_and_an_empty_group(planted):
    """~np.array([1, 0]) is [-2, -1]: an integer mask would silently select the wrong rows."""
    x, treated, y = planted[:3]
    as_int = treated.astype(int)
    for call in (lambda: propensity_scores(x, as_int), lambda: match_pairs(x[:, 0], as_int, caliper=0.1, replace=True),
                 lambda: balance_table(x, ["x1", "x2"], as_int, caliper_sd=0.2),
                 lambda: att_table({"y": y}, as_int, x, caliper_sd=0.2, n_boot=2, seed=1)):
        with pytest.raises(CausalInputError, match="boolean"):
            call()
    with pytest.raises(CausalInputError, match="no control"):
        propensity_scores(x, np.ones(len(treated), dtype=bool))
    with pytest.raises(CausalInputError, match="1-D array of"):
        match_pairs(x[:, 0], treated[:-1], caliper=0.1, replace=True)
    with pytest.raises(CausalInputError, match="outcome 'y' has shape"):
        att_table({"y": y[:-1]}, treated, x, caliper_sd=0.2, n_boot=2, seed=1)


def test_the_caliper_is_a_share_of_the_pooled_sd_of_the_logit():
    score = np.array([0.0, 1.0, 2.0, 10.0, 11.0, 12.0])
    treated = np.array([True, True, True, False, False, False])
    # pooled: each group's variance is 1, so the pooled SD is 1 (the whole sample's SD is about 5)
    assert pooled_sd(score, treated) == pytest.approx(1.0)
    assert score.std() > 4
