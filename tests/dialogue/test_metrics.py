"""Dialogue measures, identifiability on planted transcripts, questionnaire recovery, transcripts files."""

import numpy as np
import polars as pl
import pytest

from replisuite.dialogue import metrics
from replisuite.dialogue.profiles import describe, generate_questionnaire_profiles
from replisuite.dialogue.recovery import rate_items, recovered_totals
from replisuite.dialogue.transcripts import TranscriptFileError, read_transcripts, turns_frame, write_transcripts
from replisuite.instruments import shipped
from replisuite.llm import LLM, ModelEntry, ScriptedBackend, embed

INSTRUMENTS = {"bdi2": shipped()["bdi2_topics"], "hama": shipped()["hama"]}


def record(conversation, turns, protocol="p", stop="farewell", profile=None):
    return {"id": conversation, "profile_id": profile or conversation, "protocol": protocol,
            "models": {"counsellor": "m", "client": "m"}, "stop_reason": stop, "premature_ends": 0,
            "turns": [{"role": role, "text": text, "session": 1, "exchange": i // 2 + 1, "attempts": 1, "filler": False,
                       "over_limit": len(text.split()) > 5, "rewritten": False} for i, (role, text) in enumerate(turns)]}


def test_distinct_n_and_repetition_by_hand():
    assert metrics.distinct_n(["a b a b"], 1) == 0.5
    assert metrics.distinct_n(["a b a b"], 2) == pytest.approx(2 / 3)
    assert np.isnan(metrics.distinct_n([""], 1))
    # turn 2 repeats one of its two trigrams from turn 1; turn 3 is new
    assert metrics.repetition(["x y z w", "y z w v", "p q r"]) == pytest.approx(1 / 3)


def test_conversation_stats_count_turns_words_and_compliance():
    stats = metrics.conversation_stats([record("c1", [("counsellor", "hello there"), ("client", "one two three four five six"),
                                                      ("counsellor", "go on")])])
    row = stats.row(0, named=True)
    assert (row["turns"], row["exchanges"], row["stop_reason"]) == (3, 2, "farewell")
    assert row["counsellor_words_per_turn"] == 2 and row["client_words_per_turn"] == 6
    assert row["over_limit_share"] == pytest.approx(1 / 3)


def test_retrieval_ranks_against_a_hand_computed_ranking():
    queries = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    targets = np.array([[1.0, 0.1], [1.0, 0.0], [0.0, 1.0]])
    # query 0's true target is 1 (cos 1.0, the best); query 1's is 2 (best); query 2's is 0 (cos .77; target 2 and 1 .71)
    assert metrics.retrieval_ranks(queries, targets, [1, 2, 0]).tolist() == [1, 1, 1]
    assert metrics.retrieval_ranks(queries, targets, [2, 0, 1]).tolist() == [3, 2, 3]


def test_a_client_that_quotes_its_profile_is_identified_and_the_shuffled_null_is_not():
    profiles = generate_questionnaire_profiles(20, seed=9, bdi2=INSTRUMENTS["bdi2"], hama=INSTRUMENTS["hama"],
                                               severities=[{"bdi2": "moderate", "hama": "mild"}])
    texts = [describe(p, instruments=INSTRUMENTS) for p in profiles]
    quoting = [f"Hello. {text.replace('You are', 'I am')} That is why I came." for text in texts]
    vectors = embed(quoting + texts)
    table = metrics.identifiability(vectors[:20], vectors[20:], protocol="p", n_boot=200, seed=1)
    true = table.filter(pl.col("pairing") == "true")
    shuffled = table.filter(pl.col("pairing") == "shuffled")
    assert true.filter(pl.col("k") == 1)["accuracy"].item() >= 0.9
    assert shuffled.filter(pl.col("k") == 1)["accuracy"].item() <= 0.25
    assert true["chance"].to_list() == [0.05, 0.25]


def test_recovery_metrics_on_planted_totals():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 60, size=30).astype(float)
    rows = pl.DataFrame({"protocol": "p", "instrument": "bdi2", "rater": "r", "profile_id": [f"p{i:02d}" for i in range(30)],
                         "true_total": truth, "true_band": ["a" if t < 30 else "b" for t in truth],
                         "total": truth + rng.normal(0, 2, size=30), "band": ["a" if t < 30 else "b" for t in truth],
                         "unanswered": 0})
    table = metrics.recovery_table(rows, n_boot=300, seed=2)
    true, shuffled = (table.filter(pl.col("pairing") == p).row(0, named=True) for p in ("true", "shuffled"))
    assert true["pearson_r"] > 0.95 and true["mae"] < 3 and true["gain_low"] > 5
    assert abs(shuffled["pearson_r"]) < 0.5 and shuffled["gain_low"] < 0
    assert true["mae_mean_guess"] == pytest.approx(np.mean(np.abs(truth - truth.mean())))
    assert true["band_accuracy"] == 1.0


def test_the_rater_answers_every_item_and_scores_are_the_instrument_totals(store, monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")
    profiles = generate_questionnaire_profiles(2, seed=1, bdi2=INSTRUMENTS["bdi2"], hama=INSTRUMENTS["hama"],
                                               severities=[{"bdi2": "mild", "hama": "mild"}])
    records = [record(f"p/{p.id}", [("counsellor", "hi"), ("client", "sad")], profile=p.id) for p in profiles]
    rater = LLM(ModelEntry(name="r", backend="scripted", model="r"), store, backend=ScriptedBackend(lambda r: "2 - moderate"))
    items = rate_items(rater, records, INSTRUMENTS, method="parsed", max_chars=500, params={})
    assert items.height == 2 * (21 + 14) and set(items["value"]) == {2}
    totals = recovered_totals(items, records, {p.id: p for p in profiles}, INSTRUMENTS, rater="r")
    assert sorted(set(zip(totals["instrument"], totals["total"], strict=True))) == [("bdi2", 42.0), ("hama", 28.0)]
    assert totals["true_total"].to_list() == [profiles[0].fields["totals"]["bdi2"]["total"],
                                              profiles[0].fields["totals"]["hama"]["total"],
                                              profiles[1].fields["totals"]["bdi2"]["total"],
                                              profiles[1].fields["totals"]["hama"]["total"]]
    unparseable = LLM(ModelEntry(name="u", backend="scripted", model="u"), store, backend=ScriptedBackend(lambda r: "maybe"))
    items = rate_items(unparseable, records, INSTRUMENTS, method="parsed", max_chars=500, params={})
    totals = recovered_totals(items, records, {p.id: p for p in profiles}, INSTRUMENTS, rater="u")
    assert totals["total"].is_null().all() and totals["unanswered"].to_list() == [21, 14, 21, 14]


def test_transcript_files_round_trip_and_bad_lines_are_named(tmp_path):
    records = [record("c1", [("counsellor", "hi"), ("client", "yes")])]
    path = tmp_path / "t.jsonl"
    write_transcripts(records, path)
    assert read_transcripts(path) == records
    assert turns_frame(records)["role"].to_list() == ["counsellor", "client"]
    path.write_text('{"id": "x"}\n')
    with pytest.raises(TranscriptFileError, match=r"t.jsonl:1: missing field\(s\)"):
        read_transcripts(path)
    path.write_text("not json\n")
    with pytest.raises(TranscriptFileError, match="t.jsonl:1: not JSON"):
        read_transcripts(path)
