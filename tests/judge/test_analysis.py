"""The judge study's tables do not depend on row order, and the AUC follows a planted judge."""

import numpy as np
import polars as pl
import pytest

from replisuite.judge.analysis import reliability, validation
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
    assert baseline["value"] == pytest.approx(0.5, abs=0.3)  # word counts were drawn independently of the label
