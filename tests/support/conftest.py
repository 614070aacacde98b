"""A planted confounded dataset: treatment depends on x, the outcome on x, the effect on the treated is known."""

import numpy as np
import pytest


def confounded(n=4000, *, effect=2.0, seed=0, nonlinear=False):
    """Users with two confounders; uptake and outcome both rise with x1 (naive estimate biased upwards)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    logit = -0.3 + 1.0 * x[:, 0] - 0.5 * x[:, 1]
    treated = rng.random(n) < 1 / (1 + np.exp(-logit))
    base = 3.0 * x[:, 0] + 1.0 * x[:, 1] + (1.5 * x[:, 0] ** 2 if nonlinear else 0.0)
    y = base + effect * treated + rng.normal(0, 1.0, n)
    return x, treated, y


@pytest.fixture
def planted():
    return confounded()
