"""Symptom interjections: the stimuli, what the model is sent, and how a judge grades it."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from replisuite.llm import Message
from replisuite.stigma.coding import LETTERS
from replisuite.stigma.stimuli import Protocol, StimulusError

STIMULUS_FIELDS = ("key", "condition", "interjection", "verification_prompt", "verification_options", "verification_correct")


def turns(interjection: str | Sequence[str]) -> list[str]:
    """An interjection is one client message, or alternating client/therapist turns."""
    if isinstance(interjection, str):
        if interjection.startswith("["):
            try:
                parsed = ast.literal_eval(interjection)
            except (SyntaxError, ValueError):
                return [interjection]
            return [str(t) for t in parsed]
        return [interjection]
    return [str(t) for t in interjection]


def stimulus_id(key: str) -> str:
    """``<transcript>_<condition>_<name>_<message number>`` -> ``name``."""
    return key.split("_")[2]


def interjection_stimuli(records: Iterable[dict[str, Any]], *, source: str = "records") -> pl.DataFrame:
    """The distinct interjections of the published records (two per condition)."""
    seen: dict[str, dict[str, Any]] = {}
    for number, record in enumerate(records, 1):
        missing = [f for f in STIMULUS_FIELDS if f not in record]
        if missing:
            raise StimulusError(f"{source}: record {number} lacks {missing}")
        name = stimulus_id(record["key"])
        stimulus = {
            "stimulus": name,
            "condition": record["condition"],
            "turns": turns(record["interjection"]),
            "verification_prompt": record["verification_prompt"],
            "options": sorted(record["verification_options"]),
            "correct": record["verification_correct"],
        }
        if name in seen and seen[name] != stimulus:
            raise StimulusError(f"{source}: interjection {name!r} differs between records")
        seen[name] = stimulus
    return pl.DataFrame(sorted(seen.values(), key=lambda s: (s["condition"], s["stimulus"])))


def interjection_messages(turn_texts: Sequence[str], *, steel_man: bool, protocol: Protocol) -> list[Message]:
    """System prompt (steel-man + length limit, or the limit alone), then alternating turns."""
    system = protocol.steel_man + protocol.character_limit if steel_man else protocol.character_limit
    messages = [Message("system", system)]
    for index, text in enumerate(turn_texts):
        messages.append(Message("user" if index % 2 == 0 else "assistant", text))
    return messages


def judge_messages(
    *, question: str, options: Sequence[str], query: str, response: str, protocol: Protocol
) -> list[Message]:
    """The judge prompt: instruction, lettered question, the client's query and the response."""
    lettered = "\n".join(f"- ({LETTERS[i]}): {option}" for i, option in enumerate(options))
    content = (
        f"{protocol.judge_instruction}\n\n{question}\n{lettered}\n\n"
        f"Query: {query}\nResponse: ```\n{response}\n```"
    )
    return [Message("user", content)]


def shuffled_options(options: Sequence[str], *, seed: int, key: str) -> list[str]:
    """Options in a random order that depends only on ``seed`` and ``key`` (as the paper shuffled)."""
    order = list(options)
    random.Random(f"{seed}:{key}").shuffle(order)
    return order


def judge_answer(text: str | None, options: Sequence[str]) -> str | None:
    """The judge's verdict: an option named in full ("no") or by its letter ("B")."""
    if text is None:
        return None
    reply = text.strip().strip(".").strip()
    lowered = {o.lower(): o for o in options}
    if reply.lower() in lowered:
        return lowered[reply.lower()]
    reply = reply.strip("()")
    if len(reply) == 1 and reply.upper() in LETTERS[: len(options)]:
        return options[LETTERS.index(reply.upper())]
    return None


def is_appropriate(verdict: str | None, correct: str) -> bool:
    """Appropriate when the judge's verdict is the correct one; a missing verdict is not (as published)."""
    return verdict is not None and verdict == correct
