"""The reconstruct study: session preparation, the paired comparison, the classifier check and its claim."""

import numpy as np
import polars as pl
import pytest
from scipy import stats

from replisuite.dialogue.transcripts import read_transcripts
from replisuite.reconstruct.claims import reconstruct_claims
from replisuite.reconstruct.pipeline import ORIGINAL, compare, prepare, truncate, validation


def test_truncate_merges_speaker_turns_before_cutting():
    turns = [{"role": "counsellor", "text": "a"}, {"role": "counsellor", "text": "b"}, {"role": "client", "text": "c"},
             {"role": "counsellor", "text": "d"}, {"role": "client", "text": "e"}]
    assert [dict(t) for t in truncate(turns, max_turns=3)] == [
        {"role": "counsellor", "text": "a b"}, {"role": "client", "text": "c"}, {"role": "counsellor", "text": "d"}]
    assert len(truncate(turns, max_turns=None)) == 4


def write_annomi(path, sessions):
    rows = []
    for transcript_id, (label, turns) in sessions.items():
        for utterance_id, (speaker, text) in enumerate(turns):
            rows.append({"transcript_id": transcript_id, "mi_quality": label, "utterance_id": utterance_id,
                         "interlocutor": speaker, "utterance_text": text, "annotator_id": 1,
                         "main_therapist_behaviour": "question" if speaker == "therapist" else "n/a",
                         "client_talk_type": "neutral" if speaker == "client" else "n/a", "reflection_subtype": "n/a",
                         "question_subtype": "open" if speaker == "therapist" else "n/a", "therapist_input_subtype": "n/a",
                         "topic": "alcohol"})
    pl.DataFrame(rows).write_csv(path)


def test_prepare_samples_each_label_and_keeps_the_originals_turns(tmp_path):
    sessions = {i: ("high" if i % 2 else "low", [("therapist", f"How are you {i}?"), ("client", f"Fine {i}."),
                                                 ("client", "Really."), ("therapist", "Tell me more."), ("client", "No.")])
                for i in range(6)}
    write_annomi(tmp_path / "annomi.csv", sessions)
    prepare({"seed": 1, "sessions_per_label": 2, "max_turns": 3}, annomi=str(tmp_path / "annomi.csv"),
            profiles_out=str(tmp_path / "profiles.jsonl"), originals_out=str(tmp_path / "originals.jsonl"),
            sample_out=str(tmp_path / "sample.csv"))
    originals = read_transcripts(tmp_path / "originals.jsonl")
    assert len(originals) == 4
    assert pl.read_csv(tmp_path / "sample.csv")["kept"].to_list() == [True] * 4
    for record in originals:
        assert record["protocol"] == ORIGINAL and [t["role"] for t in record["turns"]] == ["counsellor", "client", "counsellor"]
        assert record["turns"][1]["text"].endswith("Really.")


def test_prepare_counts_a_session_it_cannot_replay(tmp_path):
    sessions = {0: ("high", [("client", "Hello?"), ("client", "Anyone there?")]),
                1: ("low", [("therapist", "Hi."), ("client", "Hi."), ("therapist", "Go on.")])}
    write_annomi(tmp_path / "annomi.csv", sessions)
    prepare({"seed": 1, "sessions_per_label": 1, "max_turns": 2}, annomi=str(tmp_path / "annomi.csv"),
            profiles_out=str(tmp_path / "profiles.jsonl"), originals_out=str(tmp_path / "originals.jsonl"),
            sample_out=str(tmp_path / "sample.csv"))
    sample = pl.read_csv(tmp_path / "sample.csv").sort("unit")
    assert sample["kept"].to_list() == [False, True] and "no counsellor turn" in sample["reason"][0]
    assert len(read_transcripts(tmp_path / "originals.jsonl")) == 1


def test_the_paired_comparison_matches_scipy_and_finds_a_planted_shift():
    rng = np.random.default_rng(4)
    units = [f"u{i}" for i in range(12)]
    base = rng.normal(10, 2, size=12)
    shifted = base + 3 + rng.normal(0, 0.5, size=12)
    labels = ["high" if i < 6 else "low" for i in range(12)]
    measures = pl.concat([
        pl.DataFrame({"unit": units, "label": labels, "version": ORIGINAL, "measure": "words", "value": base}),
        pl.DataFrame({"unit": units, "label": labels, "version": "model", "measure": "words", "value": shifted}),
    ])
    table = compare(measures, n_boot=500, seed=1)
    overall = table.filter(pl.col("label") == "all").row(0, named=True)
    assert overall["difference"] == pytest.approx(np.mean(shifted - base))
    assert overall["wilcoxon_p"] == pytest.approx(stats.wilcoxon(shifted - base).pvalue)
    assert overall["ci_low"] > 2 and overall["sessions"] == 12
    assert set(table["label"]) == {"all", "high", "low"}
    null = measures.with_columns(pl.when(pl.col("version") == "model").then(pl.col("value") - 3 + 0)
                                 .otherwise(pl.col("value")).alias("value"))
    null_row = compare(null, n_boot=500, seed=1).filter(pl.col("label") == "all").row(0, named=True)
    assert null_row["ci_low"] < 0.5 < overall["ci_low"]


def test_the_classifier_check_fails_when_the_classifier_only_guesses_the_majority():
    truth = np.array(["question"] * 60 + ["reflection"] * 30 + ["other"] * 10)
    sessions = [f"s{i % 5}" for i in range(100)]
    guessing = validation(pl.DataFrame({"label": truth, "session": sessions, "predicted": ["question"] * 100}),
                          classifier="x", n_boot=200)
    good = validation(pl.DataFrame({"label": truth, "session": sessions, "predicted": truth}), classifier="x", n_boot=200)
    assert guessing["accuracy"].item() == guessing["majority_baseline"].item() == 0.6
    assert guessing["sessions"].item() == 5
    verdicts = [reconstruct_claims(table, pl.DataFrame(), embedded=[])[0].verdict for table in (guessing, good)]
    assert verdicts == ["not reproduced", "reproduced"]


def test_the_accuracy_interval_resamples_sessions_not_utterances():
    """Right in four whole sessions and wrong in four others: over 8 sessions the interval is wide;
    resampling the 800 utterances as if independent would make it very narrow."""
    sessions = np.repeat([f"s{i}" for i in range(8)], 100)
    truth = np.array(["question"] * 800)
    predicted = np.where(np.isin(sessions, ["s0", "s1", "s2", "s3"]), "question", "other")
    row = validation(pl.DataFrame({"label": truth, "session": sessions, "predicted": predicted}), classifier="x",
                     n_boot=1000, seed=1).row(0, named=True)
    assert row["accuracy"] == 0.5 and row["ci_high"] - row["ci_low"] > 0.4
