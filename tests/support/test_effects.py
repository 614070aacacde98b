"""Skill regression: OLS with HC3 errors against statsmodels; planted skills recovered."""

import numpy as np
import polars as pl
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests

from replisuite.support.effects import ols_hc3, skill_effects


def test_ols_hc3_equals_statsmodels():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 3))
    y = x @ [1.0, -2.0, 0.5] + rng.standard_normal(300) * (1 + np.abs(x[:, 0]))  # heteroskedastic
    design = sm.add_constant(x)
    coef, se = ols_hc3(design, y)
    reference = sm.OLS(y, design).fit(cov_type="HC3")
    np.testing.assert_allclose(coef, reference.params, rtol=1e-10)
    np.testing.assert_allclose(se, reference.bse, rtol=1e-10)


def test_skill_effects_recover_planted_coefficients_and_adjust_across_skills():
    rng = np.random.default_rng(1)
    n = 3000
    frame = pl.DataFrame({
        "empathy": rng.random(n) * 0.4, "advice": rng.random(n) * 0.2, "noise_skill": rng.random(n) * 0.3,
        "experience": rng.geometric(0.05, n), "pre": rng.integers(5, 25, n).astype(float),
    })
    change = (-6 * frame["empathy"] + 8 * frame["advice"] - 0.5 * np.log1p(frame["experience"]) - 0.3 * frame["pre"]
              + rng.normal(0, 2, n))
    frame = frame.with_columns(change=change)
    table = skill_effects(frame, outcome="phq9", change="change",
                          skill_columns={"empathy": "empathy", "advice": "advice", "noise_skill": "noise_skill"},
                          adjust=["pre"], experience="experience", skills_from="annotated")
    rows = {r["term"]: r for r in table.iter_rows(named=True)}
    for term, planted in (("empathy", -6), ("advice", 8), ("noise_skill", 0), ("log_supporter_experience", -0.5)):
        assert rows[term]["ci_low"] <= planted <= rows[term]["ci_high"], term
    assert rows["empathy"]["p_bh"] < 0.001 and rows["noise_skill"]["p_bh"] > 0.05
    assert np.isnan(rows["log_supporter_experience"]["p_bh"])  # outside the skills' BH family
    skills = table.filter(pl.col("term") != "log_supporter_experience")
    np.testing.assert_allclose(skills["p_bh"], multipletests(skills["p_value"].to_numpy(), method="fdr_bh")[1])
