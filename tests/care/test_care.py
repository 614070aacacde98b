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


def test_summary_keeps_codes_whose_span_was_not_found_and_treats_unparsed_excerpts_as_missing(tmp_path):
    """Model rows of every status through the whole care summary: a valid code whose quote was not
    found counts for presence kappa (its span has no offsets, so span scores leave it out); an
    unparsed excerpt is missing for that coder."""
    import yaml

    from replisuite.care.pipeline import summarise
    from replisuite.care.pipeline import load
    from replisuite.coding.coders import CODER_SCHEMA
    from tests.conftest import REPO

    study = yaml.safe_load((REPO / "config/config.yaml").read_text())["care"]
    study = {**study, "n_boot": 50, "excerpts": str(REPO / study["excerpts"]), "codings": str(REPO / study["codings"])}
    _, frame, _, human = load(study, excerpts=study["excerpts"], codings=study["codings"])
    reference = human.filter(pl.col("coder") == "coder_a")
    units = frame["unit"].to_list()
    rows = []
    for index, unit in enumerate(units):
        codes = reference.filter(pl.col("unit") == unit)["code"].to_list()
        if index == 0:
            rows.append({"unit": unit, "coder": "m", "status": "unparseable"})
        elif index == 1 and codes:
            rows += [{"unit": unit, "coder": "m", "code": c, "span": "not in the text", "status": "span_not_found"}
                     for c in codes]
        else:
            rows += [{"unit": unit, "coder": "m", "code": c, "span": "x", "start": 0, "end": 5, "status": "ok"} for c in codes] \
                or [{"unit": unit, "coder": "m", "status": "no_codes"}]
    path = tmp_path / "m.parquet"
    pl.DataFrame(rows, schema={k: v for k, v in CODER_SCHEMA.items() if k in ("unit", "coder", "code", "span", "start", "end",
                                                                         "status")}).write_parquet(path)
    tables = {name: str(tmp_path / f"{name}.csv") for name in ("agreement", "model_agreement", "model_spans", "frequencies",
                                                                "cooccurrence", "journeys")}
    summarise(study, excerpts=study["excerpts"], codings=study["codings"], model_codings=[str(path)], tables=tables,
              figure_stems={"cooccurrence": str(tmp_path / "co"), "timelines": str(tmp_path / "tl")})
    versus = pl.read_csv(tables["model_agreement"]).filter((pl.col("code") == "overall") & (pl.col("reference") == "coder_a"))
    row = versus.row(0, named=True)
    assert (row["unparsed"], row["excerpts"]) == (1, len(units)) and row["span_not_found"] >= 1
    assert row["value"] == 1.0   # agrees with coder_a wherever it answered: the missing excerpt is not "no code"
