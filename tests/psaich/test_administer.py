import json

import polars as pl
import pytest

from replisuite.instruments import shipped
from replisuite.llm import LLM, Message, ModelEntry, ScriptedBackend
from replisuite.psaich.administer import administer, stage1
from replisuite.psaich.analysis import mode_differences, scores, transcript_stats
from replisuite.psaich.protocol import load_protocol, parse_item_answer, parse_whole_answers
from replisuite.psaich.records import RecordError, import_transcripts

PROTOCOL = load_protocol("config/psaich/protocol.yaml")
PARAMS = {"temperature": 0.0, "max_tokens": 8, "seed": None}


@pytest.fixture(scope="module")
def library():
    return shipped()


def test_item_parser_is_strict(library):
    phq9 = library["phq9"]
    assert parse_item_answer("2", phq9) == 2 and parse_item_answer("(3) Nearly every day", phq9) == 3
    assert parse_item_answer("Several days.", phq9) == 1
    assert parse_item_answer("7", phq9) is None and parse_item_answer("I am not sure", phq9) is None
    assert parse_item_answer("", phq9) is None


def test_whole_parser_counts_conflicts_and_gaps(library):
    gad7 = library["gad7"]
    text = "1: 2\n2) 3\n3: 9\n4: 1\n4: 2\nSome words\n6 - 0\n7: 1 (several days)"
    answers = parse_whole_answers(text, gad7)
    assert answers == {"1": 2, "2": 3, "3": None, "4": None, "5": None, "6": 0, "7": 1}


class Recorder:
    """Scripted client: remembers every request it was sent."""

    def __init__(self, reply):
        self.requests, self.reply = [], reply

    def __call__(self, request):
        self.requests.append(request)
        return self.reply(request)


def reply(request):
    last = request.messages[-1].content
    if "Answer every item" in last:
        return "\n".join(f"{i}: 1" for i in range(1, 10))
    if "number only" in last:
        return "2"
    return "I remember the garden."


def test_modes_send_what_the_protocol_says(library, store, monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")
    recorder = Recorder(reply)
    llm = LLM(ModelEntry(name="client", backend="scripted", model="m"), store, ScriptedBackend(recorder))
    conversations, transcript = stage1(llm, PROTOCOL, sessions=2, params=PARAMS, seeds=[4])
    history = conversations[4]
    assert len(transcript) == 2 * len(PROTOCOL.therapy_prompts)
    assert transcript[4]["therapist"].startswith("Welcome to session 2.") and transcript[0]["request_key"]
    assert len(history) == 1 + 2 * len(transcript)
    before = len(recorder.requests)
    answers = administer(llm, [library["phq9"]], PROTOCOL, conversations, modes=["therapy_item", "stateless_item", "whole"],
                         method="generate", params=PARAMS, tokens_per_item=6)
    sent = recorder.requests[before:]
    therapy, stateless, whole = sent[:9], sent[9:18], sent[18]
    # the conversation grows item by item: each prompt carries all earlier items and answers
    assert [len(r.messages) for r in therapy] == [len(history) + 1 + 2 * k for k in range(9)]
    assert all(len(r.messages) == 2 and r.messages[0].role == "system" for r in stateless)
    assert len(whole.messages) == len(history) + 1 and whole.params.max_tokens == 54
    assert set(answers["seed"]) == {4}
    totals, _ = scores(answers, {"phq9": library["phq9"]})
    assert dict(zip(totals["mode"], totals["total"], strict=True)) == {"therapy_item": 18.0, "stateless_item": 18.0, "whole": 9.0}
    assert set(totals["band"]) == {"moderately severe", "mild"}


def test_seeds_advance_together_one_batch_per_turn(library, store, monkeypatch):
    from replisuite.llm import ScriptedBatchBackend

    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")
    backend = ScriptedBatchBackend(lambda r: f"seed {r.params.seed} says {len(r.messages)}", batch_size=8)
    llm = LLM(ModelEntry(name="client", backend="scripted", model="m"), store, backend)
    params = {"temperature": 0.7, "max_tokens": 8}
    conversations, transcript = stage1(llm, PROTOCOL, sessions=1, params=params, seeds=[1, 2, 3])
    turns = len(PROTOCOL.therapy_prompts)
    assert [len(batch) for batch in backend.batches] == [3] * turns  # turn t of every seed in one batch
    for seed, messages in conversations.items():
        replies = [m.content for m in messages if m.role == "assistant"]
        assert replies == [f"seed {seed} says {2 + 2 * t}" for t in range(turns)]  # each seed its own history
    backend.batches.clear()
    answers = administer(llm, [library["gad7"]], PROTOCOL, conversations, modes=["therapy_item", "stateless_item"],
                         method="generate", params=PARAMS, tokens_per_item=6)
    # therapy items: 7 batches of 3 seeds; stateless: one batch of 7 items shared by the seeds
    assert [len(batch) for batch in backend.batches] == [3] * 7 + [7]
    assert answers.group_by("seed", "mode").len()["len"].to_list() == [7] * 6


def test_mode_differences_over_seeds():
    totals = pl.DataFrame({
        "model": ["m"] * 6, "instrument": ["phq9"] * 6, "seed": [1, 1, 2, 2, 3, 3],
        "mode": ["therapy_item", "whole"] * 3, "total": [12.0, 8.0, 10.0, 9.0, 11.0, None],
    })
    [row] = mode_differences(totals, n_boot=500, seed=0).iter_rows(named=True)
    assert row["mean_difference"] == pytest.approx(2.5) and row["seeds"] == 2 and row["seeds_missing"] == 1
    assert row["ci_low"] <= 2.5 <= row["ci_high"]


def test_transcript_stats():
    frame = pl.DataFrame({"model": ["m"] * 3, "seed": [1] * 3, "session": [1, 1, 2], "client": ["a b c", "d", " "]})
    stats = transcript_stats(frame)
    assert stats["turns"].to_list() == [2, 1] and stats["mean_words_per_reply"][0] == 2.0 and stats["empty_replies"][1] == 1


def test_published_transcripts_replay_through_the_same_path(library, store, tmp_path):
    phq9 = library["phq9"]
    conversation = [{"role": "system", "content": PROTOCOL.client_system}, {"role": "user", "content": "Hello."},
                    {"role": "assistant", "content": "Hi."}]
    records = [{"model": "frontier", "instrument": "phq9", "mode": "stateless_item", "item": item.id, "answer": "3"}
               for item in phq9.items]
    records.append({"model": "frontier", "instrument": "phq9", "mode": "whole", "messages": conversation,
                    "answer": "\n".join(f"{i}: 0" for i in range(1, 10))})
    path = tmp_path / "published.json"
    path.write_text(json.dumps(records))
    frontier = LLM(ModelEntry(name="frontier", backend="replay", model="frontier-2025"), store)
    assert import_transcripts(path, {"frontier": frontier}, library, PROTOCOL, params=PARAMS, tokens_per_item=6) == 10
    history = [Message(**m) for m in conversation]
    answers = administer(frontier, [phq9], PROTOCOL, {1: history}, modes=["stateless_item", "whole"], method="generate",
                         params=PARAMS, tokens_per_item=6)
    totals, _ = scores(answers, {"phq9": phq9})
    assert dict(zip(totals["mode"], totals["total"], strict=True)) == {"stateless_item": 27.0, "whole": 0.0}
    assert frontier.provenance()["new_calls"] == 0

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{**records[-1], "messages": []}]))
    with pytest.raises(RecordError, match="record 0: mode whole needs the conversation"):
        import_transcripts(bad, {"frontier": frontier}, library, PROTOCOL, params=PARAMS, tokens_per_item=6)
    bad.write_text(json.dumps([{**records[0], "item": "42"}]))
    with pytest.raises(RecordError, match="phq9 has no item '42'"):
        import_transcripts(bad, {"frontier": frontier}, library, PROTOCOL, params=PARAMS, tokens_per_item=6)


def test_constrained_answer_sheet_continues_the_prefill(library, store, monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")
    recorder = Recorder(lambda request: "1")
    llm = LLM(ModelEntry(name="client", backend="scripted", model="m"), store, ScriptedBackend(recorder))
    history = [Message("system", PROTOCOL.client_system)]
    answers = administer(llm, [library["gad7"]], PROTOCOL, {1: history}, modes=["whole"], method="loglik",
                         params=PARAMS, tokens_per_item=6)
    prefills = [r.prefill for r in recorder.requests]
    assert prefills[0] == "1: " and prefills[2] == "1: 1\n2: 1\n3: " and len(prefills) == 7
    assert all(r.options == ("0", "1", "2", "3") for r in recorder.requests)
    assert answers["value"].to_list() == [1] * 7 and answers["answer_method"].unique().to_list() == ["loglik"]
    assert answers["reply"][0] == "\n".join(f"{i}: 1" for i in range(1, 8))
