"""The care study's journeys and its claim rule."""

import polars as pl

from replisuite.care.claims import care_claims
from replisuite.care.pipeline import journey_table


def test_journeys_follow_the_order_told():
    excerpts = pl.DataFrame({"unit": ["p1-2", "p1-1", "p2-1"], "case": ["p1", "p1", "p2"], "order": [2, 1, 1],
                             "text": ["b", "a", "c"]})
    codings = pl.DataFrame({"unit": ["p1-2", "p1-1", "p1-1", "p2-1"], "case": ["p1", "p1", "p1", "p2"],
                            "code": ["withdrawal", "seeking_formal", "aspiration", "crisis"]})
    journeys = journey_table(codings, excerpts, codes=["withdrawal", "seeking_formal", "crisis"])
    assert journeys.rows() == [("p1", "seeking_formal > withdrawal", 2), ("p2", "crisis", 1)]


def test_the_model_coder_claim_needs_agreement_beyond_chance():
    human = pl.DataFrame({"code": ["overall"], "statistic": ["cohen_kappa"], "value": [0.8], "ci_low": [0.7], "ci_high": [0.9]})
    versus = pl.DataFrame({"code": ["overall", "overall"], "statistic": "cohen_kappa", "value": [0.4, 0.02],
                           "ci_low": [0.2, -0.1], "ci_high": [0.6, 0.1], "model": ["good", "poor"], "reference": "a",
                           "data": "illustrative", "units": 192})
    verdicts = {c.claim_id: c.verdict for c in care_claims(model_agreement=versus, agreement=human, embedded=["poor"])}
    assert verdicts == {"model_coder_agrees_good_a": "reproduced", "model_coder_agrees_poor_a": "direction reproduced"}
