"""Role-play protocols as data: prompts, who opens, word limits, stop rules, retries, memory.

A protocol file (YAML) holds every rule a published generator applies, each with the source it
comes from (``citations``). Limits count *exchanges*: one counsellor turn and one client turn.
Impossible rules (a hard stop before the earliest allowed end, wrap-up after the hard stop) are
refused when the file is loaded, naming the file and field.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from replisuite.instruments import read_spec

DATA = Path(__file__).parent / "data"
ROLES = ("counsellor", "client")
KNOWN_FIELDS = {
    "id", "name", "language", "citations", "counsellor", "client", "opener", "opening", "max_exchanges", "end_token",
    "end_allowed_from", "farewells", "farewell_roles", "wrap_up_from", "wrap_up", "retries", "retry_temperature",
    "filler", "rewrite", "sessions", "temperature", "profile_placeholder", "cues", "first_turn", "reasoning",
}


class ProtocolError(ValueError):
    """A protocol file is incomplete or its rules contradict each other."""


@dataclass(frozen=True)
class RoleSpec:
    """One side's instructions: system prompt (``{profile}``, ``{max_words}``, ``{goals}``,
    ``{summary}`` are filled in), word limit (None: none) and generation length.
    """

    system: str
    max_words: int | None = None
    max_tokens: int = 96


@dataclass(frozen=True)
class Rewrite:
    """One rewrite pass after the session: each turn of ``role`` is rewritten with probability ``p``."""

    role: str
    p: float
    instruction: str


@dataclass(frozen=True)
class Cue:
    """An instruction added to ``role``'s system prompt at the exchanges a profile schedules:
    ``profile.fields[field]`` maps exchange numbers to a value that fills ``{value}`` (e.g. the
    SUDS rating a planted client reports when the therapist asks for it).
    """

    role: str
    field: str
    text: str


@dataclass(frozen=True)
class Reasoning:
    """``role`` writes each turn as reasoning inside ``open``/``close`` markers, then the reply: the
    engine keeps both parts, and the other role (and later prompts) see only the reply.
    """

    role: str = "counsellor"
    open: str = "<think>"
    close: str = "</think>"


@dataclass(frozen=True)
class Sessions:
    """Multi-session memory: ``count`` sessions, each closed by a summary the ``summariser`` writes."""

    count: int
    summary_instruction: str
    summariser: str = "counsellor"
    first_summary: str = "This is the first session."
    max_tokens: int = 120


@dataclass(frozen=True)
class Protocol:
    """Every rule of one generator (see :func:`load_protocol`)."""

    id: str
    name: str
    language: str
    citations: Mapping[str, str]
    counsellor: RoleSpec
    client: RoleSpec
    opener: str
    opening: str
    max_exchanges: int
    end_token: str | None = None
    end_allowed_from: int = 1
    farewells: tuple[str, ...] = ()
    farewell_roles: tuple[str, ...] = ("client",)
    wrap_up_from: int | None = None
    wrap_up: str = ""
    retries: int = 0
    retry_temperature: float = 0.8
    filler: str = "..."
    rewrite: Rewrite | None = None
    sessions: Sessions | None = None
    temperature: float = 0.7
    source: str = ""
    profile_placeholder: str = "{profile}"
    cues: tuple[Cue, ...] = ()
    first_turn: str | None = None
    reasoning: Reasoning | None = None

    def role(self, name: str) -> RoleSpec:
        """The role specification of ``name`` (``"counsellor"`` or ``"client"``)."""
        return self.counsellor if name == "counsellor" else self.client

    def describe(self) -> dict[str, Any]:
        """Provenance: the rules (not the prompt texts)."""
        return {"id": self.id, "language": self.language, "opener": self.opener, "max_exchanges": self.max_exchanges,
                "end_token": self.end_token, "end_allowed_from": self.end_allowed_from, "wrap_up_from": self.wrap_up_from,
                "retries": self.retries, "rewrite_p": self.rewrite.p if self.rewrite else None,
                "sessions": self.sessions.count if self.sessions else 1, "source": self.source,
                **({"first_turn": self.first_turn} if self.first_turn else {}),
                **({"reasoning_role": self.reasoning.role} if self.reasoning else {})}


def _role(where: str, values: Any) -> RoleSpec:
    if not isinstance(values, Mapping) or not values.get("system"):
        raise ProtocolError(f"{where}: needs a 'system' prompt")
    return RoleSpec(system=str(values["system"]).strip(), max_words=values.get("max_words"),
                    max_tokens=int(values.get("max_tokens", 96)))


def load_protocol(path: str | os.PathLike[str], *, prompts: Mapping[str, str] | None = None) -> Protocol:
    """Read and check one protocol file.

    ``prompts`` maps a placeholder (``{file:counselor_prompt}``) to text read elsewhere: the
    published prompts are fetched as sources, never copied into the repository.
    """
    values, name = read_spec(path, ("id", "name", "language", "citations", "counsellor", "client", "opener",
                                    "opening", "max_exchanges"), error=ProtocolError)
    where = f"{path} ({name})"
    unknown = sorted(set(values) - KNOWN_FIELDS)
    if unknown:
        raise ProtocolError(f"{where}: unknown field(s) {unknown}")
    for role in ROLES:
        system = (values[role] or {}).get("system", "") if isinstance(values[role], Mapping) else ""
        for placeholder, text in (prompts or {}).items():
            system = system.replace(f"{{file:{placeholder}}}", text)
        if "{file:" in system:
            raise ProtocolError(f"{where}: {role}.system names a prompt file that was not supplied")
        values[role] = {**values[role], "system": system}
    rewrite = values.get("rewrite")
    sessions = values.get("sessions")
    try:
        protocol = Protocol(
            id=str(values["id"]), name=values["name"], language=values["language"], citations=dict(values["citations"]),
            counsellor=_role(f"{where}: counsellor", values["counsellor"]), client=_role(f"{where}: client", values["client"]),
            opener=values["opener"], opening=str(values["opening"]).strip(), max_exchanges=int(values["max_exchanges"]),
            end_token=values.get("end_token"), end_allowed_from=int(values.get("end_allowed_from", 1)),
            farewells=tuple(values.get("farewells") or ()), farewell_roles=tuple(values.get("farewell_roles") or ("client",)),
            wrap_up_from=values.get("wrap_up_from"), wrap_up=str(values.get("wrap_up", "")).strip(),
            retries=int(values.get("retries", 0)), retry_temperature=float(values.get("retry_temperature", 0.8)),
            filler=str(values.get("filler", "...")),
            rewrite=Rewrite(**rewrite) if rewrite else None,
            sessions=Sessions(**sessions) if sessions else None,
            temperature=float(values.get("temperature", 0.7)), source=str(path),
            profile_placeholder=str(values.get("profile_placeholder", "{profile}")),
            cues=tuple(Cue(**cue) for cue in values.get("cues") or ()),
            first_turn=values.get("first_turn"),
            reasoning=Reasoning(**values["reasoning"]) if values.get("reasoning") else None,
        )
    except TypeError as problem:
        raise ProtocolError(f"{where}: {problem}") from None
    check(protocol, where=where)
    return protocol


def check(protocol: Protocol, *, where: str) -> None:
    """Refuse rules that contradict each other or cannot apply."""
    if protocol.opener not in ROLES:
        raise ProtocolError(f"{where}: opener must be one of {ROLES}, got {protocol.opener!r}")
    if protocol.max_exchanges < 1:
        raise ProtocolError(f"{where}: max_exchanges must be at least 1")
    if protocol.end_token and protocol.end_allowed_from > protocol.max_exchanges:
        raise ProtocolError(f"{where}: max_exchanges ({protocol.max_exchanges}) is before end_allowed_from "
                            f"({protocol.end_allowed_from}): the end token could never be honoured")
    if protocol.wrap_up_from is not None and not 1 <= protocol.wrap_up_from <= protocol.max_exchanges:
        raise ProtocolError(f"{where}: wrap_up_from ({protocol.wrap_up_from}) must lie in 1..max_exchanges "
                            f"({protocol.max_exchanges})")
    if protocol.wrap_up_from is not None and not protocol.wrap_up:
        raise ProtocolError(f"{where}: wrap_up_from is set but no wrap_up instruction is given")
    bad_roles = sorted(set(protocol.farewell_roles) - set(ROLES))
    if bad_roles:
        raise ProtocolError(f"{where}: farewell_roles has unknown role(s) {bad_roles}")
    if protocol.rewrite is not None:
        if protocol.rewrite.role not in ROLES:
            raise ProtocolError(f"{where}: rewrite.role must be one of {ROLES}")
        if not 0 <= protocol.rewrite.p <= 1:
            raise ProtocolError(f"{where}: rewrite.p must lie in [0, 1], got {protocol.rewrite.p}")
    if protocol.sessions is not None:
        if protocol.sessions.count < 1:
            raise ProtocolError(f"{where}: sessions.count must be at least 1")
        if protocol.sessions.summariser not in ROLES:
            raise ProtocolError(f"{where}: sessions.summariser must be one of {ROLES}")
    for cue in protocol.cues:
        if cue.role not in ROLES or not cue.field or not cue.text.strip():
            raise ProtocolError(f"{where}: every cue needs a role of {ROLES}, a profile field and a text")
    if protocol.reasoning is not None and (protocol.reasoning.role not in ROLES or not protocol.reasoning.open
                                           or not protocol.reasoning.close):
        raise ProtocolError(f"{where}: reasoning needs a role of {ROLES} and non-empty open and close markers")
    if protocol.first_turn is not None and not str(protocol.first_turn).strip():
        raise ProtocolError(f"{where}: first_turn must name the profile field the opener's first turn is taken from")
    for role in ROLES:
        spec = protocol.role(role)
        if spec.max_words is not None and spec.max_words < 1:
            raise ProtocolError(f"{where}: {role}.max_words must be positive")


def with_overrides(protocol: Protocol, overrides: Mapping[str, Any], *, where: str) -> Protocol:
    """The protocol with a run's scaled-down limits (``max_exchanges``, ``end_allowed_from``,
    ``wrap_up_from``, ``retries``, ``sessions``: a count; ``max_tokens``: the generation length of
    every turn and summary), checked again.
    """
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        if key == "max_tokens":
            changes["counsellor"] = replace(protocol.counsellor, max_tokens=int(value))
            changes["client"] = replace(protocol.client, max_tokens=int(value))
            if protocol.sessions is not None:
                changes["sessions"] = replace(changes.get("sessions", protocol.sessions), max_tokens=int(value))
        elif key == "sessions":
            if protocol.sessions is None:
                raise ProtocolError(f"{where}: protocol {protocol.id} has no sessions to override")
            changes["sessions"] = replace(changes.get("sessions", protocol.sessions), count=int(value))
        elif key in ("max_exchanges", "end_allowed_from", "wrap_up_from", "retries"):
            changes[key] = int(value)
        else:
            raise ProtocolError(f"{where}: cannot override {key!r} (allowed: max_exchanges, end_allowed_from, "
                                "wrap_up_from, retries, sessions, max_tokens)")
    scaled = replace(protocol, **changes)
    check(scaled, where=where)
    return scaled


def shipped_path(name: str) -> Path:
    """A protocol shipped with the layer (``interactive_agents``, ``sqpsych``, ``psycheval``, ...)."""
    path = DATA / f"{name}.yaml"
    if not path.exists():
        raise ProtocolError(f"no shipped protocol {name!r}; shipped: {sorted(p.stem for p in DATA.glob('*.yaml'))}")
    return path


def resolve(name: str, *, prompts: Mapping[str, str] | None = None) -> Protocol:
    """A protocol by shipped name or file path."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else shipped_path(name)
    return load_protocol(path, prompts=prompts)
