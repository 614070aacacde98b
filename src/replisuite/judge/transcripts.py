"""Transcripts to judge: counsellor and client turns, validated and rendered as text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ROLES = {"counsellor": "Counsellor", "therapist": "Counsellor", "counselor": "Counsellor", "client": "Client"}
TRUNCATION = "\n[... {count} characters of the session left out ...]\n"


class TranscriptError(ValueError):
    """A transcript is malformed (no turns, a turn without a role or text)."""


@dataclass(frozen=True)
class Turn:
    """One turn of a transcript: who speaks and what is said."""

    role: str  # "counsellor" or "client"
    text: str


@dataclass(frozen=True)
class Transcript:
    """A transcript to judge: its id and its turns in order."""

    id: str
    turns: tuple[Turn, ...]


def transcript(transcript_id: str, rows: Iterable[Mapping[str, str | None]]) -> Transcript:
    """A transcript from rows with ``role`` and ``text``; roles are counsellor/therapist or client.

    A turn with no role, an unknown role or no text is refused, naming the transcript and turn.
    """
    turns = []
    for index, row in enumerate(rows, start=1):
        role = (row.get("role") or "").strip().lower()
        if role not in ROLES:
            raise TranscriptError(f"transcript {transcript_id}: turn {index} has role {row.get('role')!r}; "
                                  f"expected one of {sorted(ROLES)}")
        text = " ".join(str(row.get("text") or "").split())
        if not text:
            raise TranscriptError(f"transcript {transcript_id}: turn {index} ({role}) has no text")
        turns.append(Turn("client" if role == "client" else "counsellor", text))
    if not turns:
        raise TranscriptError(f"transcript {transcript_id}: no turns")
    return Transcript(transcript_id, tuple(turns))


def render(session: Transcript, *, max_chars: int | None = None) -> tuple[str, int]:
    """The session as ``Counsellor: ...`` / ``Client: ...`` lines, and how many characters were left out.

    A session longer than ``max_chars`` keeps its opening and its end (two thirds and one third of
    the budget) with a marker between: judges see how it starts and where it got to.
    """
    text = "\n".join(f"{ROLES[turn.role]}: {turn.text}" for turn in session.turns)
    if max_chars is None or len(text) <= max_chars:
        return text, 0
    head, tail = (2 * max_chars) // 3, max_chars // 3
    left_out = len(text) - head - tail
    return text[:head] + TRUNCATION.format(count=left_out) + text[len(text) - tail:], left_out
