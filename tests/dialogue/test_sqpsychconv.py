"""SQPsychConv in its released shape: one row per dialogue, a text of Therapist:/Client: lines."""

import polars as pl
import pytest

from replisuite.dialogue import metrics
from replisuite.dialogue.sqpsychconv import SQPsychConvError, read_sqpsychconv

DIALOGUE = "Therapist: Hello, what brings you here today?\n\nClient: I have felt low for weeks.\n" \
           "Therapist: That sounds heavy. How is your sleep?\nClient: Poor. [/END]"


def corpus(**changes):
    rows = {"file_id": ["a1", "a2"], "condition": ["mdd", "control"], "client_model": ["qwq"] * 2,
            "therapist_model": ["qwq"] * 2, "dialogue": [DIALOGUE, "Therapist: Hi.\nClient: Fine, thanks."]}
    return pl.DataFrame({**rows, **changes})


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_every_export_reads_into_transcript_records(tmp_path, suffix):
    path = tmp_path / f"sqpsychconv{suffix}"
    frame = corpus()
    {".csv": frame.write_csv, ".jsonl": frame.write_ndjson, ".parquet": frame.write_parquet}[suffix](path)
    records = read_sqpsychconv(path)
    first = records[0]
    assert [t["role"] for t in first["turns"]] == ["counsellor", "client", "counsellor", "client"]
    assert [t["exchange"] for t in first["turns"]] == [1, 1, 2, 2]
    assert first["condition"] == "mdd" and first["models"] == {"counsellor": "qwq", "client": "qwq"}
    assert [r["stop_reason"] for r in records] == ["end_token", "corpus_end"]
    stats = metrics.conversation_stats(records)
    assert stats["turns"].to_list() == [4, 2] and stats["client_words_per_turn"][1] == 2.0


@pytest.mark.parametrize(("change", "message"), [
    ({"condition": ["mdd", "anxious"]}, r"dialogue 'a2' \(row 2\): condition 'anxious' is not one of \['mdd', 'control'\]"),
    ({"dialogue": [DIALOGUE, "Therapist: Hi.\nand then nothing"]}, r"dialogue 'a2' \(row 2\): line 2 has no speaker"),
])
def test_a_bad_row_is_an_error_naming_the_dialogue_and_line(tmp_path, change, message):
    path = tmp_path / "c.csv"
    corpus(**change).write_csv(path)
    with pytest.raises(SQPsychConvError, match=message):
        read_sqpsychconv(path)


def test_a_missing_column_or_format_is_named(tmp_path):
    path = tmp_path / "c.csv"
    corpus().drop("therapist_model").write_csv(path)
    with pytest.raises(SQPsychConvError, match=r"c.csv: missing column\(s\) \['therapist_model'\]"):
        read_sqpsychconv(path)
    with pytest.raises(SQPsychConvError, match="expected a .csv, .jsonl"):
        read_sqpsychconv(tmp_path / "c.txt")


def test_the_reference_table_puts_the_corpus_beside_our_runs(tmp_path):
    from replisuite.roleplay.pipeline import reference_measures

    path = tmp_path / "c.parquet"
    corpus().write_parquet(path)
    ours = tmp_path / "dialogue.csv"
    pl.DataFrame({"protocol": ["sqpsych", "psycheval"], "counsellor_model": "m", "client_model": "m",
                  "measure": ["turns", "turns"], "mean": [6.0, 4.0], "ci_low": [5.0, 3.0], "ci_high": [7.0, 5.0],
                  "n": [5, 5]}).write_csv(ours)
    out = tmp_path / "reference.csv"
    reference_measures({"seed": 1, "n_boot": 100, "reference": {"limit": None}}, corpus=str(path), ours=str(ours), out=str(out))
    table = pl.read_csv(out)
    turns = {r["source"]: r["mean"] for r in table.filter(pl.col("measure") == "turns").iter_rows(named=True)}
    assert turns == {"SQPsychConv (released)": 3.0, "replisuite run": 6.0}
    stop = table.filter(pl.col("measure") == "stop: end token share").row(0, named=True)
    assert stop["mean"] == 0.5 and stop["n"] == 2
