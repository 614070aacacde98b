"""The judge study's tables do not depend on row order, and the AUC follows a planted judge."""

import numpy as np
import polars as pl
import pytest

from sklearn.metrics import roc_auc_score

from replisuite.judge.analysis import planted_contrast, reliability, validation
from replisuite.judge.claims import judge_claims
from replisuite.judge.judging import JUDGEMENT_SCHEMA
from replisuite.judge.rubrics import shipped

MITI = shipped()["miti_globals"]


def judgements(seed=0, units=24):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(units):
        label = "high" if u % 2 else "low"
        for repeat in range(2):
            for item in MITI.items:
                score = int(np.clip(3 + (1 if label == "high" else -1) + rng.integers(-1, 2), 1, 5))
                rows.append({"judge": "planted", "unit": f"s{u:02d}", "rubric": "miti_globals", "item": item.id,
                             "repeat": repeat, "score": score, "rationale": "", "status": "ok", "method": "json",
                             "repaired": False, "request_key": "k", "label": label,
                             "counsellor_words": int(rng.integers(100, 900)), "truncated_chars": 0})
    frame = pl.DataFrame(rows, schema={"judge": pl.String, **JUDGEMENT_SCHEMA, "label": pl.String,
                                       "counsellor_words": pl.Int64, "truncated_chars": pl.Int64})
    # one word count per session
    return frame.with_columns(pl.col("counsellor_words").first().over("unit"))


def test_tables_do_not_depend_on_row_order():
    rows = judgements()
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=3)
    rubrics = {"miti_globals": MITI}
    first = validation(rows, rubrics, n_boot=200, seed=1).sort("judge", "rubric")
    assert first.equals(validation(shuffled, rubrics, n_boot=200, seed=1).sort("judge", "rubric"))
    assert reliability(rows, rubrics).equals(reliability(shuffled.sort("judge", "rubric", "unit", "item", "repeat"), rubrics))


def test_a_planted_judge_beats_the_length_baseline():
    table = validation(judgements(), {"miti_globals": MITI}, n_boot=300, seed=1)
    judge = table.filter(pl.col("judge") == "planted").row(0, named=True)
    baseline = table.filter(pl.col("judge") == "baseline: counsellor words").row(0, named=True)
    assert judge["value"] > 0.9 and judge["ci_low"] > 0.5
    # the baseline is the AUC of the word counts, computed independently here
    units = judgements().unique("unit").sort("unit")
    expected = roc_auc_score((units["label"] == "high").to_numpy(), units["counsellor_words"].to_numpy())
    assert baseline["value"] == pytest.approx(expected, abs=1e-12)


def test_judge_claim_follows_the_auc_and_the_floor():
    rubrics = {"miti_globals": MITI}
    table = validation(judgements(), rubrics, n_boot=300, seed=1)
    floor = pl.DataFrame({"judge": "planted", "rubric": "miti_globals", "unit": ["a", "b", "c", "d"],
                          "original": [20.0, 18.0, 19.0, 21.0], "degraded": [8.0, 9.0, 19.0, 7.0], "distinct_totals": 9})
    claim = judge_claims(table, embedded=[], floor=floor)[0]
    assert claim.verdict == "reproduced" and claim.task_floor == "passed"
    # a judge blind to the label: scores drawn without it
    blind = judgements().with_columns(pl.Series("score", np.random.default_rng(9).integers(1, 6, judgements().height)))
    assert judge_claims(validation(blind, rubrics, n_boot=300, seed=1), embedded=[])[0].verdict == "not reproduced"
    # a judge that scores the degraded copies as high as the originals is below its floor
    flat = floor.with_columns(pl.col("original").alias("degraded"))
    below = judge_claims(table, embedded=[], floor=flat)[0]
    assert below.verdict == "not comparable" and "original above degraded in 0.50 of 4 units" in below.note


def test_planted_contrast_pairs_each_session_with_its_degraded_copy():
    rubrics = {"miti_globals": MITI}
    rows = judgements(units=4)
    copies = (rows.filter(pl.col("repeat") == 0).select("judge", *JUDGEMENT_SCHEMA)
              .with_columns((pl.col("unit") + "#degraded").alias("unit"), pl.lit(1).alias("score")))
    table = planted_contrast(rows, copies, rubrics)
    assert table.height == 4 and table["degraded"].n_unique() == 1   # every item scored 1: the lowest total
    assert (table["original"] > table["degraded"]).all() and table["distinct_totals"][0] >= 2


def test_degraded_sessions_keep_the_client_and_remove_the_counsellor():
    from replisuite.judge.pipeline import DEGRADED_REPLY, degraded
    from replisuite.judge.transcripts import transcript

    session = transcript("s", [{"role": "counsellor", "text": "What brings you here?"}, {"role": "client", "text": "Sleep."}])
    copy = degraded(session)
    assert [t.text for t in copy.turns] == [DEGRADED_REPLY, "Sleep."] and copy.id == "s#degraded"
