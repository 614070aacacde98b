"""GAM fitting: basis choice by penalised RSS, deviance explained, standard errors, leverage."""

import numpy as np
import pytest

from replisuite.singlecell.gam import (
    TooFewAnchorValuesError,
    _model,
    fit_anchor_gam,
    fit_fixed,
    leverage,
    penalised_rss,
    predict_with_se,
)


def smooth_data(n=600, seed=0, noise=0.1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 3, n)
    return x, np.sin(1.5 * x) + noise * rng.normal(size=n)


def test_fit_recovers_a_smooth_curve_and_records_its_choice():
    x, y = smooth_data()
    gam, fit = fit_anchor_gam(x, y)
    truth = 1 - 0.1**2 / np.var(np.sin(1.5 * x))
    assert fit.deviance_explained == pytest.approx(truth, abs=0.02)
    assert 3 <= fit.k <= 10 and fit.edf < fit.k + 1 and fit.n_cells == 600
    # pygam's own explained deviance of the same fit (an independent computation)
    assert fit.deviance_explained == pytest.approx(gam.statistics_["pseudo_r2"]["explained_deviance"], rel=1e-6)


def test_k_is_the_minimum_penalised_rss_over_the_range():
    x, y = smooth_data(seed=1)
    grid = np.logspace(-3, 3, 7)
    _, fit = fit_anchor_gam(x, y, lam_grid=grid)
    candidates = {}
    for k in range(3, 11):
        gam = _model(k).gridsearch(x[:, None], y, lam=grid, progress=False)
        coef = gam.coef_
        candidates[k] = ((y - gam.predict(x[:, None])) ** 2).sum() + coef @ (gam._P() @ coef)
    assert fit.k == min(candidates, key=candidates.get)
    assert fit.penalised_rss == pytest.approx(candidates[fit.k])


def test_basis_range_is_capped_by_unique_anchor_values():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 5, 300).astype(float)  # 5 unique values: k in 3..4
    _, fit = fit_anchor_gam(x, x**2 + rng.normal(size=300))
    assert fit.k in (3, 4) and fit.unique_anchor == 5
    with pytest.raises(TooFewAnchorValuesError, match="3 distinct values"):
        fit_anchor_gam(rng.integers(0, 3, 100).astype(float), rng.normal(size=100))


def test_standard_errors_match_pygam_intervals_and_leverage_sums_to_edf():
    x, y = smooth_data(seed=3)
    gam = fit_fixed(x, y, k=8, lam=1.0)
    grid = np.linspace(0.1, 2.9, 25)
    mean, se = predict_with_se(gam, grid)
    interval = gam.confidence_intervals(grid[:, None], width=0.95)
    assert mean == pytest.approx(gam.predict(grid[:, None]))
    assert (interval[:, 1] - interval[:, 0]) / 2 == pytest.approx(1.96 * se, rel=0.01)
    assert leverage(gam, x, train=x).sum() == pytest.approx(gam.statistics_["edof"], rel=1e-6)
    assert penalised_rss(gam, x, y) > ((y - gam.predict(x[:, None])) ** 2).sum()


def test_leverage_at_held_out_cells_uses_the_training_design():
    """Brute force, independent of the matrix algebra: add a held-out cell to the training set and
    measure how much its own prediction moves per unit change of its score (h / (1 + h))."""
    x, y = smooth_data(n=240, seed=5)
    train, y_train = x[:200], y[:200]
    # inside the training range: a cell beyond it would move pygam's edge knots when added
    held_out = x[200:][(x[200:] > train.min()) & (x[200:] < train.max())][:12]
    gam = fit_fixed(train, y_train, k=8, lam=1.0)
    ours = leverage(gam, held_out, train=train)
    brute = []
    for cell in held_out:
        cells = np.append(train, cell)
        moved = [fit_fixed(cells, np.append(y_train, value), k=8, lam=1.0).predict(np.array([[cell]]))[0] for value in (0.0, 1.0)]
        influence = moved[1] - moved[0]
        brute.append(influence / (1 - influence))
    assert ours == pytest.approx(np.array(brute), rel=1e-6)
    # the Gram matrix of the held-out cells themselves gives another, larger quantity
    assert leverage(gam, held_out, train=held_out).mean() > 1.5 * ours.mean()


@pytest.mark.parametrize("seed, noise", [(0, 0.1), (7, 1.0), (11, 3.0), (13, 0.01)])
def test_the_choice_equals_pygams_own_gridsearch(seed, noise):
    """The reference: pygam's gridsearch (GCV) for every k, then the smallest penalised RSS."""
    x, y = smooth_data(n=400, seed=seed, noise=noise)
    grid = np.logspace(-3, 3, 11)
    gam, fit = fit_anchor_gam(x, y, lam_grid=grid)
    reference = {}
    for k in range(3, 11):
        searched = _model(k).gridsearch(x[:, None], y, lam=grid, objective="GCV", progress=False)
        reference[k] = (penalised_rss(searched, x, y), searched)
    k = min(reference, key=lambda key: reference[key][0])
    searched = reference[k][1]
    assert (fit.k, fit.lam) == (k, float(np.ravel(searched.lam)[0]))
    assert fit.gcv == pytest.approx(searched.statistics_["GCV"], rel=1e-9)
    assert fit.edf == pytest.approx(searched.statistics_["edof"], rel=1e-9)
    assert gam.coef_ == pytest.approx(searched.coef_, rel=1e-7, abs=1e-10)
