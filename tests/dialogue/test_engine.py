"""The turn engine on scripted backends: each protocol's stop rules, retries, rewrite, sessions, resume."""

import os
import re
import signal
import subprocess
import sys
from dataclasses import replace

import pytest

from replisuite.dialogue.engine import Engine, clean
from replisuite.dialogue.profiles import generate_questionnaire_profiles, scripted
from replisuite.dialogue.protocols import resolve, with_overrides
from replisuite.instruments import shipped
from replisuite.llm import LLM, LLMError, ModelEntry, ResponseStore, ScriptedBackend, ScriptedBatchBackend
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def scripted_allowed(monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")


def instruments():
    found = shipped()
    return {"bdi2": found["bdi2_topics"], "hama": found["hama"]}


def profiles(n=2):
    found = instruments()
    return generate_questionnaire_profiles(n, seed=1, bdi2=found["bdi2"], hama=found["hama"],
                                           severities=[{"bdi2": "mild", "hama": "mild"}])


def role_of(request):
    return "client" if request.messages[0].content.startswith("You are a client") else "counsellor"


def exchange_of(request):
    return int(re.search(r"/x(\d+)/", request.sample).group(1))


def llm_for(store, responder, *, name="fake", batch=False):
    backend = ScriptedBatchBackend(responder, batch_size=8) if batch else ScriptedBackend(responder)
    return LLM(ModelEntry(name=name, backend="scripted", model=name), store, backend=backend)


def run(protocol, responder, store, *, people=None, plan=(), batch=False):
    llm = llm_for(store, responder, batch=batch)
    return Engine(protocol, {"counsellor": llm, "client": llm}, seed=5, plan=plan,
                  instruments=instruments()).run(people or profiles())


def test_interactive_agents_stops_on_the_clients_farewell_and_never_on_the_counsellors(store):
    protocol = resolve("interactive_agents")

    def responder(request):
        exchange = exchange_of(request)
        if role_of(request) == "counsellor":
            return f"Goodbye is not mine to say, turn {exchange}."  # the counsellor's farewell must not stop
        return "Thank you, goodbye." if exchange == 3 else f"I feel low, part {exchange}."

    records = run(protocol, responder, store)
    assert protocol.opener == "client" and protocol.max_exchanges == 49
    for record in records:
        assert record["stop_reason"] == "farewell"
        assert record["turns"][0]["role"] == "client"
        assert record["turns"][-1] == {**record["turns"][-1], "role": "client", "exchange": 3}


def test_interactive_agents_hard_limit_without_farewell(store):
    protocol = with_overrides(resolve("interactive_agents"), {"max_exchanges": 4}, where="test")
    records = run(protocol, lambda r: f"{role_of(r)} says something new at {exchange_of(r)}.", store)
    assert [r["stop_reason"] for r in records] == ["max_exchanges", "max_exchanges"]
    assert all(len(r["turns"]) == 8 for r in records)


def test_sqpsych_ignores_end_before_the_allowed_turn_and_wraps_up(store):
    protocol = with_overrides(resolve("sqpsych"), {"max_exchanges": 10, "end_allowed_from": 4, "wrap_up_from": 3},
                              where="test")
    protocol = replace(protocol, rewrite=None)
    seen_wrap_up = {}

    def responder(request):
        exchange = exchange_of(request)
        if role_of(request) == "counsellor":
            seen_wrap_up[exchange] = protocol.wrap_up in request.messages[0].content
            return f"How has week {exchange} been? [/END]" if exchange in (2, 5) else f"Tell me about week {exchange}."
        return f"Week {exchange} was hard."

    records = run(protocol, responder, store)
    assert protocol.opener == "counsellor"
    for record in records:
        assert record["stop_reason"] == "end_token"
        assert record["premature_ends"] == 1  # the [/END] of exchange 2 was ignored
        assert record["turns"][-1]["exchange"] == 5 and record["turns"][-1]["role"] == "counsellor"
        assert all("[/END]" not in t["text"] for t in record["turns"])
    assert seen_wrap_up == {1: False, 2: False, 3: True, 4: True, 5: True}


def test_sqpsych_hard_stop_at_the_published_turn(store):
    protocol = replace(resolve("sqpsych"), rewrite=None)
    records = run(protocol, lambda r: f"{role_of(r)} {exchange_of(r)} [/END]" if exchange_of(r) < 16 else
                  f"{role_of(r)} {exchange_of(r)}", store, people=profiles(1))
    assert protocol.max_exchanges == 33 and protocol.end_allowed_from == 16
    record = records[0]
    # [/END] at every exchange before 16 is ignored; none after, so the hard stop ends it
    assert record["premature_ends"] == 30 and record["stop_reason"] == "max_exchanges"
    assert record["turns"][-1]["exchange"] == 33


def test_duplicates_are_retried_then_a_filler_is_used(store):
    protocol = with_overrides(resolve("sqpsych"), {"max_exchanges": 3, "end_allowed_from": 3, "wrap_up_from": 3,
                                                   "retries": 2}, where="test")
    protocol = replace(protocol, rewrite=None)
    calls = []

    def responder(request):
        calls.append(request.sample)
        if role_of(request) == "client":
            return "I keep saying the same thing."  # a duplicate from the second exchange on
        attempt = int(request.sample.rsplit("/a", 1)[1])
        return "" if attempt == 0 else f"Second try at {exchange_of(request)}."  # empty first, then fine

    record = run(protocol, responder, store, people=profiles(1))[0]
    client = [t for t in record["turns"] if t["role"] == "client"]
    counsellor = [t for t in record["turns"] if t["role"] == "counsellor"]
    assert [t["filler"] for t in client] == [False, True, True]
    assert [t["text"] for t in client[1:]] == [protocol.filler, protocol.filler]
    assert [t["attempts"] for t in client] == [1, 3, 3]
    assert all(t["attempts"] == 2 and not t["filler"] for t in counsellor)
    assert len(set(calls)) == len(calls)  # every retry is its own request


def test_the_rewrite_pass_touches_about_p_of_the_turns_seeded(store):
    protocol = with_overrides(resolve("sqpsych"), {"max_exchanges": 20, "end_allowed_from": 20, "wrap_up_from": 20},
                              where="test")

    def responder(request):
        if request.messages[0].content.startswith("Rewrite"):
            return "REWRITTEN " + request.messages[1].content
        return f"{role_of(request)} turn {exchange_of(request)} {request.sample}"

    first = run(protocol, responder, store, people=profiles(4))
    share = sum(t["rewritten"] for r in first for t in r["turns"] if t["role"] == "counsellor") / 80
    assert 0.15 < share < 0.45
    for record in first:
        for turn in record["turns"]:
            assert turn["rewritten"] == turn["text"].startswith("REWRITTEN")
            assert not turn["rewritten"] or turn["role"] == "counsellor"
    again = run(protocol, responder, store, people=profiles(4))
    assert again == first


def test_multi_session_summaries_are_carried_into_the_next_session(store):
    protocol = with_overrides(resolve("psycheval"), {"sessions": 3, "max_exchanges": 2}, where="test")
    summaries_seen = []

    def responder(request):
        system = request.messages[0].content
        if system.startswith("Summarise"):
            session = request.sample.split("/s")[1].split("/")[0]
            return f"SUMMARY-{session}"
        if role_of(request) == "counsellor":
            summaries_seen.append((request.sample.split("/")[2], re.search(r"before: (\S+)", system).group(1),
                                   re.search(r"session: (.*?) What", system).group(1)))
        return f"{role_of(request)} {request.sample}"

    plan = [{"goals": "goal one."}, {"goals": "goal two."}, {"goals": "goal three."}]
    record = run(protocol, responder, store, people=profiles(1), plan=plan)[0]
    assert record["summaries"] == ["SUMMARY-1", "SUMMARY-2", "SUMMARY-3"]
    assert record["session_stops"] == ["max_exchanges"] * 3 and record["sessions"] == 3
    assert sorted(set(summaries_seen)) == [("s1", "This", "goal one."), ("s2", "SUMMARY-1", "goal two."),
                                           ("s3", "SUMMARY-2", "goal three.")]
    assert {t["session"] for t in record["turns"]} == {1, 2, 3}


def test_a_scripted_client_is_replayed_and_only_the_counsellor_is_asked(store):
    asked = []

    def responder(request):
        asked.append(request)
        return f"Counsellor reply {len(asked)}."

    person = scripted("s1", [{"role": "counsellor", "text": "Hi."}, {"role": "client", "text": "I drink too much."},
                             {"role": "client", "text": "Every night."}, {"role": "counsellor", "text": "Go on."},
                             {"role": "client", "text": "That's it."}])
    record = run(resolve("helpert"), responder, store, people=[person])[0]
    assert [t["role"] for t in record["turns"]] == ["counsellor", "client", "counsellor", "client"]
    assert [t["text"] for t in record["turns"] if t["role"] == "client"] == ["I drink too much. Every night.", "That's it."]
    assert record["stop_reason"] == "script_end" and len(asked) == 2
    # the model's second turn saw the original client turns and its own first turn
    assert [m.content for m in asked[1].messages[2:]] == ["Counsellor reply 1.", "I drink too much. Every night."]


def test_turns_of_all_open_conversations_go_to_the_model_as_one_batch(store):
    llm = llm_for(store, lambda r: f"{role_of(r)} {r.sample}", batch=True)
    protocol = with_overrides(resolve("interactive_agents"), {"max_exchanges": 2}, where="test")
    Engine(protocol, {"counsellor": llm, "client": llm}, seed=1, instruments=instruments()).run(profiles(6))
    assert [len(batch) for batch in llm.backend.batches] == [6, 6, 6, 6]  # one batch per step: 2 exchanges x 2 roles


def test_a_rerun_regenerates_nothing(store):
    protocol = with_overrides(resolve("interactive_agents"), {"max_exchanges": 3}, where="test")
    calls = []

    def responder(request):
        calls.append(request.key)
        return f"{role_of(request)} {request.sample}"

    first = run(protocol, responder, store)
    count = len(calls)
    assert run(protocol, responder, store) == first and len(calls) == count


def test_a_role_without_a_model_is_refused(store):
    llm = llm_for(store, lambda r: "x")
    with pytest.raises(LLMError, match="client"):
        Engine(resolve("sqpsych"), {"counsellor": llm}, seed=1)


def test_clean_cuts_role_labels_and_the_other_speakers_lines():
    assert clean("Counsellor: How are you?\nClient: fine") == "How are you?"
    assert clean("  **Therapist:** Tell me more.  ") == "Tell me more."


KILLED_RUN = """
import os, signal, sys
os.environ["REPLISUITE_ALLOW_SCRIPTED"] = "1"
sys.path.insert(0, {repo!r})
from tests.dialogue.test_engine import profiles, role_of, instruments
from replisuite.dialogue.engine import Engine
from replisuite.dialogue.protocols import resolve, with_overrides
from replisuite.llm import LLM, ModelEntry, ResponseStore, ScriptedBatchBackend
calls = []
def responder(request):
    calls.append(1)
    if len(calls) > {kill_after}:
        os.kill(os.getpid(), signal.SIGKILL)
    return role_of(request) + " " + request.sample
store = ResponseStore({store!r})
llm = LLM(ModelEntry(name="fake", backend="scripted", model="fake"), store, backend=ScriptedBatchBackend(responder, batch_size=3))
protocol = with_overrides(resolve("interactive_agents"), {{"max_exchanges": 4}}, where="test")
Engine(protocol, {{"counsellor": llm, "client": llm}}, seed=5, instruments=instruments()).run(profiles(3))
"""


def test_a_killed_run_resumes_turn_by_turn_without_resending_stored_turns(tmp_path):
    path = tmp_path / "roleplay"
    script = KILLED_RUN.format(repo=str(REPO), kill_after=10, store=str(path))
    completed = subprocess.run([sys.executable, "-c", script], cwd=REPO, check=False,
                               env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert completed.returncode == -signal.SIGKILL
    with ResponseStore(path) as store:
        stored = len(store)
        assert 0 < stored < 24  # batches of three committed before the kill; 3 profiles x 8 turns in all
        calls = []

        def responder(request):
            calls.append(request.key)
            return f"{role_of(request)} {request.sample}"

        records = run(with_overrides(resolve("interactive_agents"), {"max_exchanges": 4}, where="test"), responder,
                      store, people=profiles(3), batch=True)
        assert len(calls) == 24 - stored and len(store) == 24
        assert all(r["stop_reason"] == "max_exchanges" for r in records)


def test_the_published_chinese_prompts_carry_the_profile_where_they_expect_it(store, tmp_path):
    from replisuite.dialogue.profiles import interactive_agents_posts

    protocol = with_overrides(resolve("interactive_agents_zh", prompts={"client_prompt": "来访者：{user_profile}",
                                                                      "counselor_prompt": "咨询师"}),
                              {"max_exchanges": 1}, where="test")
    seen = []

    def responder(request):
        seen.append(request.messages[0].content)
        return f"回复 {len(seen)}"

    path = tmp_path / "test.json"
    path.write_text('["我睡不着。"]', encoding="utf-8")
    posts = interactive_agents_posts(path, prefix="ia")
    record = run(protocol, responder, store, people=posts)[0]
    assert seen[0] == "来访者：我睡不着。" and seen[1] == "咨询师"
    assert record["language"] == "zh" and record["turns"][0]["role"] == "client"
