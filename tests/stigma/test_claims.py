"""Stigma's direction claims do not depend on the order of the rows they are computed from."""

import numpy as np
import polars as pl

from replisuite.stigma.claims import condition_contrast, humans_above_model


def _by_stimulus(rng):
    rows = []
    for condition, base in (("schizophrenia", 0.6), ("depression", 0.3)):
        for vignette in range(6):
            for model in ("gpt-4o", "llama"):
                rows.append({"condition": condition, "stimulus": f"{condition}-{vignette}", "model": model,
                             "steel_man": False, "rate": float(np.clip(base + rng.normal(0, 0.15), 0, 1)),
                             "n": int(rng.integers(5, 40))})
    for stimulus in range(8):
        for model, rate in (("human therapists", 0.9), ("gpt-4o", 0.6)):
            rows.append({"condition": "interjection", "stimulus": f"s{stimulus}", "model": model, "steel_man": False,
                         "rate": float(np.clip(rate + rng.normal(0, 0.1), 0, 1)), "n": 8})
    return pl.DataFrame(rows)


def test_intervals_are_the_same_whatever_the_row_order():
    frame = _by_stimulus(np.random.default_rng(3))
    claims = []
    for seed in (1, 2, 3):
        shuffled = frame.sample(fraction=1.0, shuffle=True, seed=seed)
        claims.append((
            condition_contrast(shuffled, ["gpt-4o", "llama"], higher="schizophrenia", lower="depression",
                               claim_id="c", level="A-direction", label="m", n_boot=500, seed=7),
            humans_above_model(shuffled, "gpt-4o", n_boot=500, seed=7),
        ))
    for contrast, humans in claims[1:]:
        assert (contrast.ci_low, contrast.ci_high) == (claims[0][0].ci_low, claims[0][0].ci_high)
        assert (humans.ci_low, humans.ci_high) == (claims[0][1].ci_low, claims[0][1].ci_high)
    assert claims[0][0].verdict == "direction reproduced" and claims[0][1].verdict == "direction reproduced"
