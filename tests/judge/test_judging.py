"""Judging: the tolerant parser, the one repair pass, likelihood scoring, stored requests, and the
OpenAI-compatible path through the local fake server."""

import json

import numpy as np
import polars as pl
import pytest

from replisuite.judge.judging import extract_json, judge, parse_judgement, totals
from replisuite.judge.rubrics import shipped
from replisuite.judge.transcripts import TranscriptError, render, transcript
from replisuite.llm import LLM, ModelEntry, ScriptedBackend
from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer

from .conftest import LoglikDouble, json_reply, model

MITI = shipped()["miti_globals"]
IDS = [item.id for item in MITI.items]


def test_parser_accepts_fenced_wrapped_and_plain_scores():
    fenced = "Here you go:\n```json\n" + json_reply(dict.fromkeys(IDS, 4)) + "\n```"
    parsed, problem = parse_judgement(fenced, MITI)
    assert problem == "" and {v["score"] for v in parsed.values()} == {4} and parsed["empathy"]["rationale"] == "because"
    wrapped = json.dumps({"scores": {**dict.fromkeys(IDS, "3"), "empathy": 5.0}})
    parsed, problem = parse_judgement(wrapped, MITI)
    assert problem == "" and parsed["empathy"]["score"] == 5 and parsed["partnership"]["score"] == 3
    assert extract_json('noise {"a": 1} more {"b": 2}') == {"a": 1}


def test_out_of_range_and_missing_items_are_recorded_never_imputed():
    parsed, problem = parse_judgement(json.dumps({"empathy": 9, "partnership": 2.5, "cultivating_change_talk": 3}), MITI)
    assert parsed["empathy"] == {"score": None, "rationale": "", "status": "out_of_range"}
    assert parsed["partnership"]["status"] == "out_of_range" and parsed["softening_sustain_talk"]["status"] == "missing"
    assert parsed["cultivating_change_talk"]["status"] == "ok"
    assert "'empathy' scored 9" in problem and "no score for 'softening_sustain_talk'" in problem
    parsed, problem = parse_judgement("I would rate this session highly.", MITI)
    assert {v["status"] for v in parsed.values()} == {"unparseable"} and problem == "no JSON object in the reply"


def test_one_repair_pass_then_unparseable(store, scripted_env):
    def responder(request):
        unit = "good" if "session good" in request.messages[1].content else "bad"
        repairing = len(request.messages) > 2
        if unit == "good":  # broken first, fixed on repair (empathy only was missing)
            return json_reply({**dict.fromkeys(IDS, 4), "empathy": 5}) if repairing else json_reply(dict.fromkeys(IDS[:3], 4))
        return "no idea"  # never JSON
    llm = model(store, ScriptedBackend(responder))
    judge(llm, MITI, {"good": "session good"}, method="json")  # a run stopped after the first session
    assert llm.totals["new_calls"] == 2
    rows = judge(llm, MITI, {"good": "session good", "bad": "session bad"}, method="json")
    good, bad = rows.filter(pl.col("unit") == "good"), rows.filter(pl.col("unit") == "bad")
    assert good["status"].to_list() == ["ok"] * 4 and good["repaired"].all()
    assert dict(zip(good["item"], good["score"], strict=True))["empathy"] == 5
    assert dict(zip(good["item"], good["score"], strict=True))["partnership"] == 4  # kept from the first reply
    assert bad["status"].to_list() == ["unparseable"] * 4 and bad["score"].is_null().all()
    assert llm.totals["new_calls"] == 4  # two first passes, two repairs: one each, no more
    table = totals(rows, {"miti_globals": MITI})
    assert table.filter(pl.col("unit") == "good")["total"][0] == pytest.approx((3 * 3 + 4) * 2.5 / 4)
    assert table.filter(pl.col("unit") == "bad")["total"][0] is None
    again = judge(llm, MITI, {"good": "session good", "bad": "session bad"}, method="json")
    assert again.equals(rows) and llm.totals["new_calls"] == 4  # resumed from the store: nothing resent


def test_loglik_scores_each_item_and_samples_repeats_from_the_model(store):
    peaked = {"empathy": 4}  # the double prefers "4" for empathy, "2" elsewhere

    def scorer(request):
        wanted = next((v for k, v in peaked.items() if k.capitalize() in request.messages[1].content), 2)
        return [0.0 if int(o) == wanted else -1.5 for o in request.options]

    double = LoglikDouble(scorer)
    llm = LLM(ModelEntry(name="double", backend="local", model="double"), store, backend=double)
    rows = judge(llm, MITI, {"u1": "a session", "u2": "another"}, method="loglik", repeats=3, seed=5)
    assert double.calls == 8 and rows.height == 2 * 4 * 3
    first = rows.filter(pl.col("repeat") == 0)
    assert dict(zip(first["item"], first["score"], strict=False))["empathy"] == 4
    assert set(first.filter(pl.col("item") != "empathy")["score"]) == {2}
    again = judge(llm, MITI, {"u2": "another", "u1": "a session"}, method="loglik", repeats=3, seed=5)
    assert again.sort("unit", "item", "repeat").equals(rows.sort("unit", "item", "repeat")) and double.calls == 8
    sampled = rows.filter(pl.col("repeat") > 0)["score"].to_numpy()
    assert 0.2 < np.mean(sampled == 2) + np.mean(sampled == 4) < 1.0  # draws, not copies of the greedy answer


def test_transcripts_need_roles_and_render_within_a_budget():
    session = transcript("s1", [{"role": "therapist", "text": "How are you?"}, {"role": "client", "text": "Tired. " * 200}])
    text, left_out = render(session, max_chars=300)
    assert text.startswith("Counsellor: How are you?") and left_out > 0 and len(text) < 400
    assert render(session)[1] == 0
    with pytest.raises(TranscriptError, match="transcript s2: turn 2 has role None"):
        transcript("s2", [{"role": "client", "text": "hi"}, {"text": "no role"}])


def test_a_judge_behind_an_openai_compatible_server(store):
    """The path a lab uses with its own model: the local fake server answers the judge's prompts."""
    def respond(body):
        if len(body["messages"]) > 2:  # the repair pass
            return json_reply(dict.fromkeys(IDS, 3))
        return "Sure! " + json_reply({**dict.fromkeys(IDS, 3), "empathy": 7})  # one item out of range

    with FakeOpenAIServer(Behaviour(respond=respond)) as server:
        entry = ModelEntry(name="served", backend="openai", model="fake-model", base_url=server.base_url,
                           api_key_env="REPLISUITE_TEST_KEY", timeout=5.0)
        llm = LLM(entry, store)
        rows = judge(llm, MITI, {"u": "a session"}, method="json")
        assert server.counters.calls == 2
    assert rows["status"].to_list() == ["ok"] * 4 and rows["repaired"].all()
    assert dict(zip(rows["item"], rows["score"], strict=True))["empathy"] == 3
    assert llm.provenance()["backend"] == "openai" and llm.provenance()["new_calls"] == 2


def test_published_prompts_are_sent_per_item_and_answered_in_their_own_shape(tmp_path, store, scripted_env):
    from replisuite.judge.rubrics import PSYCHEVAL, published_prompts

    paths = []
    for key in ("empathy", "partnership"):
        path = tmp_path / f"{key}.txt"
        path.write_text(f"本维度的JSON键名 (Key) 定义为：{key}\n1分：低\n3分：中\n5分：高\n[咨询对话]:\n{{{{diag}}}}", encoding="utf-8")
        paths.append(path)
    rubric = published_prompts("toy_cn", paths, **PSYCHEVAL)
    seen = []

    def responder(request):
        seen.append(request.messages[-1].content)
        key = "empathy" if "empathy" in request.messages[-1].content else "partnership"
        return json.dumps({"items": [{"item": key, "score": 4 if key == "empathy" else 2}]})

    rows = judge(model(store, ScriptedBackend(responder)), rubric, {"u": "Counsellor: hi\nClient: hello"}, method="json")
    assert len(seen) == 2 and all("Counsellor: hi" in text and "{{diag}}" not in text for text in seen)
    assert dict(zip(rows["item"], rows["score"], strict=True)) == {"empathy": 4, "partnership": 2}
    assert totals(rows, {"toy_cn": rubric})["total"][0] == pytest.approx((7.5 + 2.5) / 2)
    prefilled = []

    def scorer(request):
        prefilled.append(request.prefill)
        return [0.0 if o == "5" else -2.0 for o in request.options]

    scored = judge(LLM(ModelEntry(name="d", backend="local", model="d"), store, backend=LoglikDouble(scorer)), rubric,
                   {"u": "Counsellor: hi"}, method="loglik")
    assert set(scored["score"]) == {5} and prefilled[0] == '{"items": [{"item": "empathy", "score": '
