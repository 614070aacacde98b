"""Reasoned turns: a reply written as ``<think>reasoning</think> reply``, split and kept in parts;
the conditions and therapy frameworks a text names (a knowledge file written as data).

A reasoned turn's status is one of :data:`STATUSES`: ``closed`` (an opening and a closing marker),
``unclosed`` (an opening marker and no closing one: everything after it is reasoning, no reply),
``missing`` (no marker: everything is the reply). A stray closing marker without an opening one
counts as ``closed`` with the text before it as reasoning, as reasoning models often start
without the opening tag (the prompt's template supplies it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from replisuite.instruments import read_spec

KNOWLEDGE = Path(__file__).parent / "data" / "knowledge"
STATUSES = ("closed", "unclosed", "missing")
ACRONYM = re.compile(r"[A-Z0-9]+")


class KnowledgeError(ValueError):
    """A knowledge file is incomplete or a pattern does not compile."""


@dataclass(frozen=True)
class ReasonedReply:
    """One reply split into its reasoning and the words meant for the client."""

    reasoning: str
    reply: str
    status: str


def split_reasoning(text: str, *, open_tag: str = "<think>", close_tag: str = "</think>") -> ReasonedReply:
    """``text`` split at its reasoning markers (see the module docstring for the statuses)."""
    start, end = text.find(open_tag), text.find(close_tag)
    if end >= 0 and (start < 0 or start < end):
        reasoning = text[start + len(open_tag) if start >= 0 else 0:end]
        return ReasonedReply(_squash(reasoning), text[end + len(close_tag):].strip(), "closed")
    if start >= 0:
        return ReasonedReply(_squash(text[start + len(open_tag):]), "", "unclosed")
    return ReasonedReply("", text.strip(), "missing")


def _squash(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class Entry:
    """A condition or a framework: id, name, what it is, and the patterns that name it."""

    id: str
    name: str
    summary: str
    patterns: tuple[re.Pattern[str], ...]
    code: str = ""

    def named_in(self, text: str) -> bool:
        """Whether ``text`` names this entry."""
        return any(pattern.search(text) for pattern in self.patterns)


@dataclass(frozen=True)
class Knowledge:
    """The conditions and frameworks of one knowledge file."""

    id: str
    conditions: tuple[Entry, ...]
    frameworks: tuple[Entry, ...]
    source: str = ""

    def conditions_named(self, text: str) -> list[str]:
        """Ids of the conditions ``text`` names, in file order."""
        return [entry.id for entry in self.conditions if entry.named_in(text)]

    def frameworks_named(self, text: str) -> list[str]:
        """Ids of the frameworks ``text`` names, in file order."""
        return [entry.id for entry in self.frameworks if entry.named_in(text)]

    def strip_names(self, text: str) -> str:
        """``text`` with every condition and framework name (every pattern's match) deleted."""
        for entry in (*self.conditions, *self.frameworks):
            for pattern in entry.patterns:
                text = pattern.sub("", text)
        return _squash(text)

    def describe(self) -> str:
        """The conditions (with ICD-11 codes) and frameworks as prompt text."""
        conditions = "; ".join(f"{c.name} (ICD-11 {c.code}): {c.summary}" for c in self.conditions)
        frameworks = "; ".join(f"{f.name}: {f.summary}" for f in self.frameworks)
        return f"Conditions: {conditions}\nFrameworks: {frameworks}"


def _compile(where: str, pattern: str) -> re.Pattern[str]:
    flags = 0 if ACRONYM.fullmatch(pattern) else re.IGNORECASE
    try:
        return re.compile(rf"\b(?:{pattern})\b", flags)
    except re.error as problem:
        raise KnowledgeError(f"{where}: pattern {pattern!r} does not compile ({problem})") from None


def _entries(where: str, values: Any, kind: str) -> tuple[Entry, ...]:
    if not isinstance(values, list) or not values:
        raise KnowledgeError(f"{where}: {kind}: expected a non-empty list")
    entries, seen = [], set()
    for index, value in enumerate(values):
        at = f"{where}: {kind}[{index}]"
        missing = [k for k in ("id", "name", "summary", "patterns") if not (isinstance(value, Mapping) and value.get(k))]
        if kind == "conditions" and isinstance(value, Mapping) and not value.get("icd11"):
            missing.append("icd11")
        if missing:
            raise KnowledgeError(f"{at}: needs field(s) {missing}")
        if value["id"] in seen:
            raise KnowledgeError(f"{at}: duplicate id {value['id']!r}")
        seen.add(value["id"])
        entries.append(Entry(id=str(value["id"]), name=str(value["name"]), summary=_squash(str(value["summary"])),
                             patterns=tuple(_compile(f"{at} ({value['id']})", str(p)) for p in value["patterns"]),
                             code=str(value.get("icd11", ""))))
    return tuple(entries)


def load_knowledge(path: str | os.PathLike[str]) -> Knowledge:
    """Read and check a knowledge file (``conditions`` and ``frameworks`` lists)."""
    values, name = read_spec(path, ("id", "conditions", "frameworks"), error=KnowledgeError)
    where = f"{path} ({name})"
    return Knowledge(id=str(values["id"]), conditions=_entries(where, values["conditions"], "conditions"),
                     frameworks=_entries(where, values["frameworks"], "frameworks"), source=str(path))


def resolve_knowledge(name: str) -> Knowledge:
    """A shipped knowledge file by id (``psyllm``) or a path to one."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else KNOWLEDGE / f"{name}.yaml"
    if not path.exists():
        shipped = sorted(p.stem for p in KNOWLEDGE.glob("*.yaml"))
        raise KnowledgeError(f"no knowledge file {name!r}; shipped: {shipped} (or give a path to a YAML file)")
    return load_knowledge(path)


def render_reasoned(turns: Sequence[Mapping[str, Any]], *, reasoning: bool = True) -> str:
    """Turns as ``Client: ...`` / ``Counsellor: ...`` lines; with ``reasoning``, a counsellor turn's
    reasoning part on a line of its own before its reply.
    """
    lines = []
    for turn in turns:
        if reasoning and turn["role"] == "counsellor" and "reasoning" in turn:
            lines.append(f"Counsellor (reasoning): {turn['reasoning'] or '(none)'}")
            lines.append(f"Counsellor (reply): {turn['text']}")
        else:
            lines.append(f"{turn['role'].capitalize()}: {turn['text']}")
    return "\n".join(lines)
