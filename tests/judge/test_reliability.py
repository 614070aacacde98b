"""Agreement statistics against reference implementations and published worked examples."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score, roc_auc_score

from replisuite.judge.reliability import auc, auc_ci, cohen_kappa, icc_2_1, krippendorff_alpha, spearman


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_scikit_learn(weights):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 200)
    b = np.clip(a + rng.integers(-1, 2, 200), 0, 4)
    assert cohen_kappa(a, b, weights=weights) == pytest.approx(cohen_kappa_score(a, b, weights=weights), abs=1e-12)


def test_icc_2_1_of_the_shrout_fleiss_example():
    # Shrout & Fleiss (1979), Table 2: six targets rated by four judges; ICC(2,1) = 0.29
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    assert icc_2_1(ratings) == pytest.approx(0.29, abs=0.005)
    assert icc_2_1(np.column_stack([ratings[:, 0], ratings[:, 0]])) == pytest.approx(1.0)


def test_krippendorff_alpha_of_the_published_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers x 12 units
    nan = np.nan
    data = np.array([[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
                     [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
                     [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
                     [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]])
    assert krippendorff_alpha(data, level="nominal") == pytest.approx(0.743, abs=0.001)
    assert krippendorff_alpha(data, level="interval") == pytest.approx(0.849, abs=0.001)
    assert np.isnan(krippendorff_alpha(np.ones((2, 5))))
    # a bootstrap resample of units that one coder left missing: no unit is rated twice
    assert np.isnan(krippendorff_alpha(np.array([[0, 1, 1, 0], [nan, nan, nan, nan]]), level="nominal"))
    assert not np.isnan(krippendorff_alpha(np.array([[0, 1, 1, 0], [0, 1, nan, nan]]), level="nominal"))


def test_auc_matches_scikit_learn_and_its_interval_covers_it():
    rng = np.random.default_rng(1)
    labels = rng.random(80) < 0.5
    scores = rng.integers(0, 6, 80) + labels * 1.0  # ties included
    assert auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    estimate, low, high = auc_ci(scores, labels, n_boot=500, seed=2)
    assert low < estimate < high and 0.5 < estimate
    shuffled = auc_ci(scores, rng.permutation(labels), n_boot=500, seed=2)
    assert shuffled[1] < 0.5 < shuffled[2]  # a permuted label: the interval contains chance
    assert np.isnan(auc([1.0, 2.0], [True, True]))


def test_spearman_drops_missing_pairs():
    assert spearman([1, 2, 3, np.nan, 5], [2, 4, 6, 1, 10]) == pytest.approx(1.0)
    assert np.isnan(spearman([1, 1, 1], [1, 2, 3]))
