"""The released Thousand Voices of Trauma files (CC BY-NC 4.0), for users who have them, read into
the transcript records the generator writes, so extraction, benchmark and fidelity checks run on
either.

Layout, as the dataset card documents it (the only layout accepted)::

    conversations/{subjectID}_{phase}_conversations.json   one per subject and phase (3,000)
    metadata/{subjectID}_{phase}_metadata.json             matched metadata per conversation (3,000)
    README.md, croissant.json

with phases P5, P6, P7, P8, P10 and P11 (there is no P9). A subject's metadata are repeated per
conversation: they are merged per subject, and the client's demographics must agree across its
phases (a disagreement is an error naming both files and the field).

What the card does not list, and so remains our assumption (the files could not be downloaded
here): the field names inside the JSON files. A conversation file is a list of turns (or an object
holding one under ``conversation``, ``turns``, ``messages`` or ``dialogue``); a turn names its speaker
(``speaker`` or ``role``: therapist/counsellor/assistant or client/patient/user) and its text
(``text``, ``content`` or ``utterance``). A metadata file is an object whose client fields are read
from a ``client`` (or ``patient``) object when there is one, else from the top level: age, gender
(or sex), ethnicity (or race), trauma type (``trauma_type``, ``trauma``, ``traumatype``) and behaviour
(``behaviour``, ``behavior`` and plurals); therapist fields from a ``therapist`` object (age, gender,
profile). Fields the loader does not know are listed once in the job's log ("metadata fields not
read: ..."), never silently dropped without a word; a missing file, malformed JSON, an unknown
speaker or a non-numeric age is an error naming the file (and turn).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from replisuite.trauma.cases import CASE_SCHEMA

CONVERSATION = re.compile(r"^(?P<subject>.+)_(?P<phase>P\d+)_conversations\.json$")
METADATA = re.compile(r"^(?P<subject>.+)_(?P<phase>P\d+)_metadata\.json$")
RELEASED_PHASES = ("P5", "P6", "P7", "P8", "P10", "P11")
SPEAKERS = {"therapist": "counsellor", "counsellor": "counsellor", "counselor": "counsellor", "assistant": "counsellor",
            "client": "client", "patient": "client", "user": "client"}
TURN_LISTS = ("conversation", "turns", "messages", "dialogue")
CLIENT_FIELDS = {"age": ("age",), "gender": ("gender", "sex"), "ethnicity": ("ethnicity", "race"),
                 "trauma_type": ("trauma_type", "trauma", "traumatype", "trauma type"),
                 "behaviour": ("behaviour", "behavior", "behaviours", "behaviors")}
THERAPIST_FIELDS = ("age", "gender", "profile")
CLIENT_OBJECTS = ("client", "patient")


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


def _lowered(values: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k).lower().replace("-", "_"): v for k, v in values.items()}


def read_metadata(path: Path) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
    """One conversation's metadata: the client's fields, the therapist's, and the names not read."""
    values = _load_json(path)
    if not isinstance(values, dict):
        raise PublishedDataError(f"{path}: expected a JSON object of case attributes")
    top = _lowered(values)
    nested = next((k for k in CLIENT_OBJECTS if isinstance(top.get(k), dict)), None)
    client_values = _lowered(top[nested]) if nested else top
    client: dict[str, Any] = {}
    used = set()
    for field, names in CLIENT_FIELDS.items():
        name = next((n for n in names if n in client_values), None)
        value = client_values.get(name) if name else None
        used.add(name)
        client[field] = "; ".join(map(str, value)) if isinstance(value, list) else value
    try:
        client["age"] = int(client["age"]) if client["age"] is not None else None
    except (TypeError, ValueError):
        raise PublishedDataError(f"{path}: field 'age' must be a number, got {client['age']!r}") from None
    therapist_values = _lowered(top["therapist"]) if isinstance(top.get("therapist"), dict) else {}
    therapist = {field: therapist_values.get(field) for field in THERAPIST_FIELDS}
    unknown = {k for k in client_values if k not in used} | {f"therapist.{k}" for k in therapist_values
                                                             if k not in THERAPIST_FIELDS}
    if nested:
        unknown |= {k for k in top if k not in (nested, "therapist")}
    return client, therapist, unknown


def _listing(folder: Path, pattern: re.Pattern, what: str) -> dict[tuple[str, str], Path]:
    if not folder.is_dir():
        raise PublishedDataError(f"{folder}: missing (the released layout has {folder.name}/ with one {what} file "
                                 "per subject and phase)")
    found = {}
    for path in sorted(folder.iterdir()):
        if path.suffix != ".json":
            continue
        match = pattern.match(path.name)
        if not match:
            raise PublishedDataError(f"{path}: not a {what} file (expected {{subjectID}}_{{phase}}_{what}.json)")
        found[match.group("subject"), match.group("phase")] = path
    return found


def read_published(folder: str | os.PathLike[str], *, phases: Sequence[str],
                   log=print) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Cases (one per subject, its metadata merged over its conversations) and one transcript record
    per subject and phase, from the released layout (``conversations/`` and ``metadata/``).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PublishedDataError(f"{folder}: not a folder of the released dataset")
    unknown_phases = sorted(set(phases) - set(RELEASED_PHASES))
    if unknown_phases:
        raise PublishedDataError(f"phases {unknown_phases} are not in the released dataset (it has {list(RELEASED_PHASES)})")
    conversations = _listing(folder / "conversations", CONVERSATION, "conversations")
    metadata = _listing(folder / "metadata", METADATA, "metadata")
    subjects = sorted({subject for subject, _ in conversations}, key=lambda s: (len(s), s))
    if not subjects:
        raise PublishedDataError(f"{folder / 'conversations'}: no {{subjectID}}_{{phase}}_conversations.json files")
    cases, records, unknown = [], [], set()
    for subject in subjects:
        merged: dict[str, Any] = {}
        source: dict[str, Path] = {}
        for phase in phases:
            conversation, meta = conversations.get((subject, phase)), metadata.get((subject, phase))
            if conversation is None:
                raise PublishedDataError(f"{folder / 'conversations' / f'{subject}_{phase}_conversations.json'}: missing "
                                         f"(subject {subject} has other phases)")
            if meta is None:
                raise PublishedDataError(f"{folder / 'metadata' / f'{subject}_{phase}_metadata.json'}: missing (every "
                                         "conversation has matched metadata)")
            client, therapist, not_read = read_metadata(meta)
            unknown |= not_read
            for field, value in client.items():
                if field in merged and value is not None and merged[field] is not None and merged[field] != value:
                    raise PublishedDataError(f"subject {subject}: field {field!r} is {merged[field]!r} in "
                                             f"{source[field]} but {value!r} in {meta}; a subject's phases must agree "
                                             "on its demographics")
                if merged.get(field) is None:
                    merged[field], source[field] = value, meta
            records.append({"id": f"published/{subject}_{phase}", "profile_id": f"{subject}_{phase}", "case_id": subject,
                            "phase": phase, "protocol": "published", "scenario": "published",
                            "models": {"counsellor": "published", "client": "published"}, "therapist": therapist,
                            "language": "en", "sessions": 1, "stop_reason": "published",
                            "turns": _turns(conversation, _load_json(conversation))})
        cases.append({"case_id": subject, **merged, "baseline_suds": None})
    orphans = sorted(str(path) for key, path in metadata.items() if key[0] not in subjects)
    if orphans:
        raise PublishedDataError(f"metadata without a conversation: {orphans[:5]}")
    if unknown:
        log(f"metadata fields not read: {sorted(unknown)}")
    return pl.DataFrame(cases, schema=CASE_SCHEMA), records
