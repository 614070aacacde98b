"""The released Thousand Voices of Trauma files (CC BY-NC 4.0), for users who have them: per case
``{id}_metadata.json`` and one ``{id}_P{n}_conversations.json`` per phase, read into the transcript
records the generator writes, so extraction, benchmark and fidelity checks run on either.

A conversation file is a list of turns (or an object holding one under ``conversation``, ``turns``
or ``messages``); a turn names its speaker (``speaker`` or ``role``: therapist/counsellor/assistant
or client/patient/user) and its text (``text``, ``content`` or ``utterance``). A missing phase file,
malformed JSON or an unknown speaker is an error naming the file (and turn).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from replisuite.trauma.cases import CASE_SCHEMA

METADATA = re.compile(r"^(?P<case>.+)_metadata\.json$")
SPEAKERS = {"therapist": "counsellor", "counsellor": "counsellor", "counselor": "counsellor", "assistant": "counsellor",
            "client": "client", "patient": "client", "user": "client"}
TURN_LISTS = ("conversation", "turns", "messages", "dialogue")
METADATA_FIELDS = {"age": ("age",), "gender": ("gender", "sex"), "ethnicity": ("ethnicity", "race"),
                   "trauma_type": ("trauma_type", "trauma", "traumatype"), "behaviour": ("behaviour", "behavior",
                                                                                      "behaviours", "behaviors")}


class PublishedDataError(ValueError):
    """A file of the released dataset is missing or malformed (names the file and what was expected)."""


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as problem:
        raise PublishedDataError(f"{path}: not valid JSON ({problem.msg}, line {problem.lineno})") from None


def _turns(path: Path, values: Any) -> list[dict[str, Any]]:
    if isinstance(values, dict):
        values = next((values[k] for k in TURN_LISTS if isinstance(values.get(k), list)), None)
    if not isinstance(values, list) or not values:
        raise PublishedDataError(f"{path}: expected a list of turns (or an object with one of {list(TURN_LISTS)})")
    turns, exchange = [], 0
    for number, turn in enumerate(values, start=1):
        speaker = str((turn or {}).get("speaker", turn.get("role", "")) if isinstance(turn, dict) else "").lower()
        text = next((turn[k] for k in ("text", "content", "utterance") if isinstance(turn, dict) and k in turn), None)
        if speaker not in SPEAKERS or not isinstance(text, str):
            raise PublishedDataError(f"{path}: turn {number} needs a speaker of {sorted(SPEAKERS)} and a text")
        role = SPEAKERS[speaker]
        exchange += role == "counsellor" or not turns
        turns.append({"role": role, "text": " ".join(text.split()), "session": 1, "exchange": exchange})
    return turns


def _metadata(path: Path, case_id: str) -> dict[str, Any]:
    values = _load_json(path)
    if not isinstance(values, dict):
        raise PublishedDataError(f"{path}: expected a JSON object of case attributes")
    lowered = {str(k).lower(): v for k, v in values.items()}
    row: dict[str, Any] = {"case_id": case_id}
    for field, names in METADATA_FIELDS.items():
        value = next((lowered[n] for n in names if n in lowered), None)
        if isinstance(value, list):
            value = "; ".join(map(str, value))
        row[field] = value
    try:
        row["age"] = int(row["age"]) if row["age"] is not None else None
    except (TypeError, ValueError):
        raise PublishedDataError(f"{path}: field 'age' must be a number, got {row['age']!r}") from None
    row["baseline_suds"] = None
    return row


def read_published(folder: str | os.PathLike[str], *, phases: Sequence[str]) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Cases (from the metadata files) and one transcript record per case and phase."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PublishedDataError(f"{folder}: not a folder of the released dataset")
    case_ids = sorted(m.group("case") for p in folder.iterdir() if (m := METADATA.match(p.name)))
    if not case_ids:
        raise PublishedDataError(f"{folder}: no *_metadata.json files")
    cases, records = [], []
    for case_id in case_ids:
        cases.append(_metadata(folder / f"{case_id}_metadata.json", case_id))
        for phase in phases:
            path = folder / f"{case_id}_{phase}_conversations.json"
            if not path.is_file():
                raise PublishedDataError(f"{path}: missing (case {case_id} has metadata but no {phase} conversation)")
            records.append({"id": f"published/{case_id}_{phase}", "profile_id": f"{case_id}_{phase}", "case_id": case_id,
                            "phase": phase, "protocol": "published", "models": {"counsellor": "published",
                                                                                "client": "published"},
                            "language": "en", "sessions": 1, "stop_reason": "published",
                            "turns": _turns(path, _load_json(path))})
    return pl.DataFrame(cases, schema=CASE_SCHEMA), records
