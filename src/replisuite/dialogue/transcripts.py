"""Transcripts as JSONL: one conversation per line (profile, protocol, models, turns, stop reason)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.atomic import atomic_path
from replisuite.tables import read_jsonl

RECORD_FIELDS = ("id", "profile_id", "protocol", "models", "turns", "stop_reason")
TURN_FIELDS = ("role", "text", "session", "exchange")
TURN_SCHEMA = {
    "conversation": pl.String, "protocol": pl.String, "profile_id": pl.String, "counsellor_model": pl.String,
    "client_model": pl.String, "session": pl.Int64, "exchange": pl.Int64, "position": pl.Int64, "role": pl.String,
    "text": pl.String, "words": pl.Int64, "attempts": pl.Int64, "filler": pl.Boolean, "over_limit": pl.Boolean,
    "rewritten": pl.Boolean, "scripted": pl.Boolean, "request_key": pl.String,
}


class TranscriptFileError(ValueError):
    """A transcript file is malformed."""


def write_transcripts(records: Iterable[Mapping[str, Any]], path: str | os.PathLike[str]) -> int:
    """Write records atomically (nothing partial is left if writing fails); returns how many."""
    count = 0
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def read_transcripts(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every record of a transcript file, checked: errors name the file, line (or record) and field."""
    records = read_jsonl(path, required=RECORD_FIELDS, error=TranscriptFileError)
    for number, record in enumerate(records, start=1):
        for index, turn in enumerate(record["turns"], start=1):
            absent = [key for key in TURN_FIELDS if key not in turn]
            if absent or turn["role"] not in ("counsellor", "client"):
                raise TranscriptFileError(f"{path}: record {number}, turn {index}: needs {list(TURN_FIELDS)} "
                                          f"with role counsellor/client")
    return records


def turns_frame(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per turn of every record."""
    rows = []
    for record in records:
        for position, turn in enumerate(record["turns"]):
            rows.append({
                "conversation": record["id"], "protocol": record["protocol"], "profile_id": record["profile_id"],
                "counsellor_model": record["models"].get("counsellor"), "client_model": record["models"].get("client"),
                "session": turn["session"], "exchange": turn["exchange"], "position": position, "role": turn["role"],
                "text": turn["text"], "words": len(turn["text"].split()), "attempts": turn.get("attempts", 1),
                "filler": turn.get("filler", False), "over_limit": turn.get("over_limit", False),
                "rewritten": turn.get("rewritten", False), "scripted": turn.get("scripted", False),
                "request_key": turn.get("request_key"),
            })
    return pl.DataFrame(rows, schema=TURN_SCHEMA)


def render(turns: Sequence[Mapping[str, Any]], *, role: str | None = None) -> str:
    """Turns as ``Counsellor: ...`` / ``Client: ...`` lines (only one role's texts when ``role`` is set)."""
    if role is not None:
        return " ".join(t["text"] for t in turns if t["role"] == role)
    return "\n".join(f"{t['role'].capitalize()}: {t['text']}" for t in turns)
