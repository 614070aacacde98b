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
    assert verdicts == {"model_coder_agrees_good_a": "reproduced", "model_coder_agrees_poor_a": "not reproduced"}


def test_unparsed_excerpts_are_missing_not_coded_with_nothing():
    """Kappa over the excerpts the model coded: treating its 4 unparsed excerpts as 'no code' would
    pull the kappa of a coder that agrees wherever it answered down toward 0."""
    from replisuite.coding.agreement import agreement

    units = [f"u{i}" for i in range(10)]
    human = pl.DataFrame({"unit": units[:8], "coder": "a", "code": ["x", "y"] * 4})
    model = pl.DataFrame({"unit": units[:6], "coder": "m", "code": ["x", "y"] * 3})
    codings = pl.concat([human, model])
    zeros = agreement(codings, units=units, coders=["a", "m"], codes=["x", "y"], n_boot=50, seed=0)
    missing = agreement(codings, units=units, coders=["a", "m"], codes=["x", "y"], n_boot=50, seed=0,
                        missing={"m": {"u6", "u7"}})
    kappa = lambda t: t.filter((pl.col("code") == "overall") & (pl.col("statistic") == "cohen_kappa"))["value"][0]
    assert kappa(missing) == 1.0 and kappa(zeros) < 0.8


def test_a_coder_whose_replies_do_not_parse_is_below_the_floor():
    human = pl.DataFrame({"code": ["overall"], "statistic": ["cohen_kappa"], "value": [0.8], "ci_low": [0.7], "ci_high": [0.9]})
    versus = pl.DataFrame({"code": ["overall"], "statistic": "cohen_kappa", "value": [0.6], "ci_low": [0.4],
                           "ci_high": [0.8], "model": ["m"], "reference": "a", "data": "illustrative", "units": 192,
                           "unparsed": [20], "span_not_found": [2], "excerpts": [24]})
    claim = care_claims(model_agreement=versus, agreement=human, embedded=[])[0]
    assert claim.verdict == "not comparable" and "4 of 24 answers usable" in claim.note
    fine = care_claims(model_agreement=versus.with_columns(pl.lit(1).alias("unparsed")), agreement=human, embedded=[])[0]
    assert fine.verdict == "reproduced" and fine.task_floor == "passed" and "1 excerpts unparsed" in fine.note
