"""`make plan`'s table: the plan lines of many jobs summed per study and model entry."""

import json

from replisuite.plan import LLM_STUDIES, summarise


def test_plan_lines_are_summed_per_study_and_entry(tmp_path):
    path = tmp_path / "plan.jsonl"
    lines = [{"study": "stigma", "entry": "m", "backend": "openai", "stored": 0, "to_send": 5},
             {"study": "stigma", "entry": "m", "backend": "openai", "stored": 2, "to_send": 1},
             {"study": "care", "entry": "m", "backend": "openai", "stored": 4, "to_send": 0}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = summarise(path)
    assert table.rows() == [("care", "m", "openai", 4, 4, 0), ("stigma", "m", "openai", 8, 2, 6)]
    assert summarise(tmp_path / "none.jsonl").height == 0  # no job asked a model


def test_the_plan_covers_every_study_that_asks_models():
    assert set(LLM_STUDIES) == {"stigma", "psaich", "judge", "networks", "care", "roleplay", "reconstruct",
                                "preference", "trauma", "synthesis"}
