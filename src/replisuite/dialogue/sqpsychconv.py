"""SQPsychConv, the released corpus of the SQPsych protocol (``AIMH/SQPsychConv_<model>``, Apache-2.0
per the authors' ethics statement), read into the transcript records the dialogue engine writes, so
the same dialogue measures run on it as on our own SQPsych runs.

Layout (as a public third-party reader of the corpus reads it; the corpus itself could not be
downloaded here): one row per dialogue with ``file_id``, ``condition`` (``mdd`` or ``control``),
``client_model``, ``therapist_model`` and ``dialogue``, a single text of ``Therapist: ...`` /
``Client: ...`` lines. Any CSV, JSON Lines or Parquet export of that table is read. A missing
column, an unknown condition or a line with no speaker is an error naming the file, the dialogue
and the line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import polars as pl

COLUMNS = ("file_id", "condition", "client_model", "therapist_model", "dialogue")
CONDITIONS = ("mdd", "control")
SPEAKER = re.compile(r"^\s*(?P<speaker>therapist|counsel+or|client|patient)\s*:\s*(?P<text>.*)$", re.IGNORECASE)
ROLES = {"therapist": "counsellor", "counsellor": "counsellor", "counselor": "counsellor", "client": "client",
         "patient": "client"}
END = "[/END]"
PROTOCOL = "sqpsychconv"


class SQPsychConvError(ValueError):
    """A file of the corpus is not in the released shape (names the file, dialogue and line)."""


def read_table(path: str | os.PathLike[str]) -> pl.DataFrame:
    """The corpus table from a CSV, JSON Lines (or JSON) or Parquet export, its columns checked."""
    path = Path(path)
    readers = {".csv": pl.read_csv, ".jsonl": pl.read_ndjson, ".ndjson": pl.read_ndjson, ".json": pl.read_json,
               ".parquet": pl.read_parquet}
    if path.suffix.lower() not in readers:
        raise SQPsychConvError(f"{path}: expected a .csv, .jsonl, .json or .parquet export of SQPsychConv")
    try:
        frame = readers[path.suffix.lower()](path)
    except (pl.exceptions.PolarsError, OSError, ValueError) as problem:
        raise SQPsychConvError(f"{path}: could not be read as {path.suffix} ({problem})") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise SQPsychConvError(f"{path}: missing column(s) {missing}; SQPsychConv rows have {list(COLUMNS)}")
    return frame


def parse_dialogue(text: str, *, where: str) -> list[dict[str, Any]]:
    """``Therapist: ...`` / ``Client: ...`` lines as turns (blank lines skipped; a line without a
    speaker is an error naming ``where`` and the line number).
    """
    turns, exchange = [], 0
    for number, line in enumerate(str(text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = SPEAKER.match(line)
        if not match:
            raise SQPsychConvError(f"{where}: line {number} has no speaker (expected 'Therapist: ...' or 'Client: ...'): "
                                   f"{line[:80]!r}")
        role = ROLES[match.group("speaker").lower()]
        exchange += role == "counsellor" or not turns
        turns.append({"role": role, "text": " ".join(match.group("text").split()), "session": 1, "exchange": exchange})
    if not turns:
        raise SQPsychConvError(f"{where}: the dialogue is empty")
    return turns


def read_sqpsychconv(path: str | os.PathLike[str], *, limit: int | None = None) -> list[dict[str, Any]]:
    """Every dialogue of the corpus file as a transcript record (protocol ``sqpsychconv``; the stop
    reason ``end_token`` when the last turn carries ``[/END]``, else ``corpus_end``).
    """
    frame = read_table(path)
    if limit is not None:
        frame = frame.head(limit)
    records = []
    for index, row in enumerate(frame.iter_rows(named=True), start=1):
        where = f"{path}: dialogue {row['file_id']!r} (row {index})"
        condition = str(row["condition"] or "").strip().lower()
        if condition not in CONDITIONS:
            raise SQPsychConvError(f"{where}: condition {row['condition']!r} is not one of {list(CONDITIONS)}")
        turns = parse_dialogue(row["dialogue"], where=where)
        records.append({"id": f"{PROTOCOL}/{row['file_id']}", "profile_id": str(row["file_id"]), "protocol": PROTOCOL,
                        "condition": condition, "language": "en", "sessions": 1,
                        "models": {"counsellor": str(row["therapist_model"]), "client": str(row["client_model"])},
                        "stop_reason": "end_token" if END in turns[-1]["text"] else "corpus_end", "turns": turns})
    return records
