"""The turn engine: conversations of a run advance together, one turn at a time.

At every step, each open conversation asks for its next turn; the requests of one step go to each
model as one batch (the local backend batches them, an HTTP backend sends them concurrently).
Every turn is a request in the study's response store, keyed by the conversation so far and a
``sample`` tag naming protocol, profile, session, exchange, role and attempt: a killed run resumes
turn by turn and a rerun regenerates nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from replisuite.dialogue.profiles import Profile, describe
from replisuite.dialogue.protocols import ROLES, Protocol
from replisuite.dialogue.reasoning import ReasonedReply, split_reasoning
from replisuite.llm import LLM, LLMError, Message, Request
from replisuite.stats import name_seed

ROLE_LABEL = re.compile(r"^\s*(?:\*\*)?(counsell?or|therapist|client|patient|user|assistant)(?:\*\*)?\s*:\s*(?:\*\*)?\s*", re.IGNORECASE)
NEXT_SPEAKER = re.compile(r"\n\s*(?:\*\*)?(counsell?or|therapist|client|patient|user)(?:\*\*)?\s*:", re.IGNORECASE)


@dataclass
class Conversation:
    """The state of one conversation while it runs; :meth:`record` is its transcript line."""

    id: str
    profile: Profile
    protocol: Protocol
    models: Mapping[str, str]
    profile_text: str
    turns: list[dict[str, Any]] = field(default_factory=list)
    session: int = 1
    exchange: int = 0
    next_role: str = ""
    summaries: list[str] = field(default_factory=list)
    session_stops: list[str] = field(default_factory=list)
    stop_reason: str | None = None
    premature_ends: int = 0
    script_position: int = 0
    needs_summary: bool = False

    @property
    def open(self) -> bool:
        """Whether the conversation can go on (no stop reason yet)."""
        return self.stop_reason is None

    def session_turns(self) -> list[dict[str, Any]]:
        """The turns of the current session."""
        return [t for t in self.turns if t["session"] == self.session]

    def record(self) -> dict[str, Any]:
        """The conversation as the JSON record written to the transcripts file."""
        return {
            "id": self.id, "profile_id": self.profile.id, "profile_kind": self.profile.kind,
            "language": self.protocol.language, "protocol": self.protocol.id, "models": dict(self.models),
            "sessions": len(self.session_stops) or 1, "session_stops": self.session_stops, "summaries": self.summaries,
            "stop_reason": self.stop_reason, "premature_ends": self.premature_ends, "turns": self.turns,
        }


def clean(text: str) -> str:
    """A reply as one turn: a leading role label removed, anything after the next speaker's label cut."""
    text = ROLE_LABEL.sub("", text.strip())
    match = NEXT_SPEAKER.search(text)
    if match:
        text = text[:match.start()]
    return " ".join(text.split())


def normalised(text: str) -> str:
    """``text`` lower-cased with punctuation removed (to compare turns for repetition)."""
    return re.sub(r"[^\w\s]", "", text.lower()).strip()


def words(text: str) -> int:
    """The number of whitespace-separated words in ``text``."""
    return len(text.split())


class Engine:
    """Runs one protocol over profiles with a model per role.

    Parameters
    ----------
    protocol
        The rules (:func:`replisuite.dialogue.protocols.load_protocol`).
    models
        ``{"counsellor": LLM, "client": LLM}``; the same entry may play both. A scripted profile's
        client turns come from its script, so only the counsellor is asked.
    seed
        Run seed; each request's sampling seed derives from it and the request's names.
    plan
        Session goals for profiles without a global plan (multi-session protocols).
    instruments
        Used to describe questionnaire profiles to the client model.
    """

    def __init__(self, protocol: Protocol, models: Mapping[str, LLM], *, seed: int,
                 plan: Sequence[Mapping[str, Any]] = (), instruments: Mapping[str, Any] | None = None,
                 progress: bool = False) -> None:
        missing = [role for role in ROLES if role not in models]
        if missing:
            raise LLMError(f"protocol {protocol.id}: no model for role(s) {missing}")
        self.protocol, self.models, self.seed, self.plan = protocol, models, seed, list(plan)
        self.instruments = instruments
        self.progress = progress

    # --- building requests --------------------------------------------------------------------

    def _goals(self, conversation: Conversation) -> str:
        plan = conversation.profile.plan or self.plan
        if not plan:
            return "explore the client's concerns"
        step = plan[min(conversation.session, len(plan)) - 1]
        return str(step.get("goals", ""))

    def _system(self, conversation: Conversation, role: str) -> str:
        spec = self.protocol.role(role)
        summary = conversation.summaries[-1] if conversation.summaries else (
            self.protocol.sessions.first_summary if self.protocol.sessions else "")
        values = {"profile": conversation.profile_text, "max_words": spec.max_words or "", "goals": self._goals(conversation),
                  "summary": summary}
        system = spec.system.replace(self.protocol.profile_placeholder, conversation.profile_text)
        for key, value in values.items():
            system = system.replace(f"{{{key}}}", str(value))
        if role == "counsellor" and self.protocol.wrap_up_from is not None \
                and self._exchange_of(conversation, role) >= self.protocol.wrap_up_from:
            system = f"{system} {self.protocol.wrap_up}"
        for cue in self._cues(conversation, role, self._exchange_of(conversation, role)):
            system = f"{system} {cue}"
        return system

    def _cues(self, conversation: Conversation, role: str, exchange: int) -> list[str]:
        """The protocol's cues for ``role`` that the profile schedules at ``exchange``, filled in."""
        cues = []
        for cue in self.protocol.cues:
            schedule = conversation.profile.fields.get(cue.field) or {}
            if cue.role == role and str(exchange) in schedule:
                cues.append(cue.text.replace("{value}", str(schedule[str(exchange)])))
        return cues

    def _messages(self, conversation: Conversation, role: str) -> list[Message]:
        messages = [Message("system", self._system(conversation, role))]
        if role == self.protocol_opener(conversation):
            messages.append(Message("user", self.protocol.opening))
        for turn in conversation.session_turns():
            messages.append(Message("assistant" if turn["role"] == role else "user", turn["text"]))
        return messages

    def protocol_opener(self, conversation: Conversation) -> str:
        """The role that speaks first: the script's first speaker for a scripted profile, else the protocol's opener."""
        if conversation.profile.kind == "scripted":
            return conversation.profile.script[0]["role"]
        return self.protocol.opener

    def _exchange_of(self, conversation: Conversation, role: str) -> int:
        """The exchange the next turn of ``role`` belongs to (the opener's turn starts a new one)."""
        return conversation.exchange + (role == self.protocol_opener(conversation))

    def _request(self, conversation: Conversation, role: str, attempt: int) -> Request:
        spec = self.protocol.role(role)
        exchange = self._exchange_of(conversation, role)
        tag = f"{self.protocol.id}/{conversation.profile.id}/s{conversation.session}/x{exchange}/{role}/a{attempt}"
        temperature = self.protocol.temperature if attempt == 0 else self.protocol.retry_temperature
        return self.models[role].request(
            self._messages(conversation, role), max_tokens=spec.max_tokens, temperature=temperature,
            seed=name_seed(self.seed, tag) % (2**31), sample=tag,
        )

    # --- running --------------------------------------------------------------------------------

    def start(self, profiles: Sequence[Profile]) -> list[Conversation]:
        """One open conversation per profile, each with the models that play its roles recorded."""
        conversations = []
        for profile in profiles:
            conversation = Conversation(
                id=f"{self.protocol.id}/{profile.id}", profile=profile, protocol=self.protocol,
                models={role: "script" if role == "client" and profile.kind == "scripted" else llm.entry.name
                        for role, llm in self.models.items()},
                profile_text=describe(profile, instruments=self.instruments),
            )
            conversation.next_role = self.protocol_opener(conversation)
            conversations.append(conversation)
        return conversations

    def run(self, profiles: Sequence[Profile]) -> list[dict[str, Any]]:
        """Every conversation to its end, then the rewrite pass; one transcript record each."""
        conversations = self.start(profiles)
        while any(c.open for c in conversations):
            self.step([c for c in conversations if c.open])
        if self.protocol.rewrite is not None:
            self.rewrite(conversations)
        return [c.record() for c in conversations]

    def _answer(self, requests: Sequence[tuple[Conversation, str, Request]]) -> list[str]:
        """Texts for (conversation, role, request) triples, one batch per model entry."""
        texts: list[str | None] = [None] * len(requests)
        by_model: dict[int, list[int]] = {}
        for index, (_, role, _) in enumerate(requests):
            by_model.setdefault(id(self.models[role]), []).append(index)
        for indices in by_model.values():
            llm = self.models[requests[indices[0]][1]]
            result = llm.run([requests[i][2] for i in indices], progress=self.progress)
            for i, response in zip(indices, result.responses, strict=True):
                texts[i] = response.text
        return [t or "" for t in texts]

    def step(self, conversations: Sequence[Conversation]) -> None:
        """One turn of each open conversation (scripted client turns need no request)."""
        asking = []
        for conversation in conversations:
            if self.protocol.first_turn and not conversation.turns:
                self._open_with_profile(conversation)
            elif conversation.next_role == "client" and conversation.profile.kind == "scripted":
                self._replay(conversation)
            else:
                asking.append(conversation)
        attempts = {c.id: 0 for c in asking}
        pending = list(asking)
        while pending:
            triples = [(c, c.next_role, self._request(c, c.next_role, attempts[c.id])) for c in pending]
            texts = self._answer(triples)
            retry = []
            for (conversation, role, request), raw in zip(triples, texts, strict=True):
                reasoned = self._split(role, raw)
                text = clean(reasoned.reply if reasoned else raw)
                if self._acceptable(conversation, role, text):
                    self._add(conversation, role, text, request, attempts[conversation.id], filler=False,
                              reasoned=reasoned)
                elif attempts[conversation.id] < self.protocol.retries:
                    attempts[conversation.id] += 1
                    retry.append(conversation)
                else:
                    self._add(conversation, role, self.protocol.filler, request, attempts[conversation.id], filler=True,
                              reasoned=reasoned)
            pending = retry
        self._close_sessions([c for c in conversations if c.needs_summary])

    def _split(self, role: str, raw: str) -> ReasonedReply | None:
        """A reasoning role's reply split into reasoning and reply; None for other roles."""
        spec = self.protocol.reasoning
        if spec is None or role != spec.role:
            return None
        return split_reasoning(raw, open_tag=spec.open, close_tag=spec.close)

    def _open_with_profile(self, conversation: Conversation) -> None:
        """The opener's first turn taken from the profile (a post is the client's opening), no request."""
        text = conversation.profile.fields.get(self.protocol.first_turn)
        if not isinstance(text, str) or not text.strip():
            raise LLMError(f"protocol {self.protocol.id}: profile {conversation.profile.id} has no text in field "
                           f"{self.protocol.first_turn!r} for the opening turn")
        self._add(conversation, conversation.next_role, " ".join(text.split()), None, 0, filler=False)

    def _acceptable(self, conversation: Conversation, role: str, text: str) -> bool:
        stripped = text.replace(self.protocol.end_token, "") if self.protocol.end_token else text
        if not normalised(stripped):
            return False
        earlier = {normalised(t["text"]) for t in conversation.turns if t["role"] == role}
        return normalised(text) not in earlier

    def _replay(self, conversation: Conversation) -> None:
        script = conversation.profile.script
        turn = script[conversation.script_position]
        self._add(conversation, "client", turn["text"], None, 0, filler=False)

    def _add(self, conversation: Conversation, role: str, text: str, request: Request | None, attempt: int,
             *, filler: bool, reasoned: ReasonedReply | None = None) -> None:
        opener = self.protocol_opener(conversation)
        if role == opener:
            conversation.exchange += 1
        ended = False
        if self.protocol.end_token and self.protocol.end_token in text:
            text = " ".join(text.replace(self.protocol.end_token, " ").split()) or self.protocol.filler
            if conversation.exchange >= self.protocol.end_allowed_from:
                ended = True
            else:
                conversation.premature_ends += 1
        limit = self.protocol.role(role).max_words
        conversation.turns.append({
            "role": role, "text": text, "session": conversation.session, "exchange": conversation.exchange,
            "request_key": request.key if request is not None else None, "attempts": attempt + 1,
            "filler": filler, "over_limit": bool(limit and words(text) > limit), "scripted": request is None,
            "rewritten": False,
            **({"cued": bool(self._cues(conversation, role, conversation.exchange))} if self.protocol.cues else {}),
            **({"reasoning": reasoned.reasoning, "reasoning_status": reasoned.status} if reasoned is not None else {}),
        })
        if conversation.profile.kind == "scripted":
            conversation.script_position += 1
        conversation.next_role = "client" if role == "counsellor" else "counsellor"
        reason = self._stop(conversation, role, text, ended)
        if reason is not None:
            self._end_session(conversation, reason)

    def _stop(self, conversation: Conversation, role: str, text: str, ended: bool) -> str | None:
        if ended:
            return "end_token"
        if conversation.profile.kind == "scripted":
            return "script_end" if conversation.script_position >= len(conversation.profile.script) else None
        lowered = text.lower()
        if role in self.protocol.farewell_roles and any(
                re.search(rf"\b{re.escape(phrase.lower())}\b", lowered) for phrase in self.protocol.farewells):
            return "farewell"
        responder_spoke = role != self.protocol_opener(conversation)
        if responder_spoke and conversation.exchange >= self.protocol.max_exchanges:
            return "max_exchanges"
        return None

    def _end_session(self, conversation: Conversation, reason: str) -> None:
        conversation.session_stops.append(reason)
        conversation.needs_summary = self.protocol.sessions is not None
        sessions = self.protocol.sessions.count if self.protocol.sessions else 1
        conversation.stop_reason = "session_end" if conversation.session < sessions else reason

    def _close_sessions(self, conversations: Sequence[Conversation]) -> None:
        """Summaries of the sessions just ended, in one batch; each conversation with sessions left
        then opens its next one (the last session's summary is kept too, as PsychEval's cases do).
        """
        if not conversations:
            return
        spec = self.protocol.sessions
        triples = []
        for conversation in conversations:
            rendered = "\n".join(f"{t['role'].capitalize()}: {t['text']}" for t in conversation.session_turns())
            tag = f"{self.protocol.id}/{conversation.profile.id}/s{conversation.session}/summary"
            request = self.models[spec.summariser].request(
                [Message("system", spec.summary_instruction), Message("user", rendered)],
                max_tokens=spec.max_tokens, temperature=0.0, seed=name_seed(self.seed, tag) % (2**31), sample=tag)
            triples.append((conversation, spec.summariser, request))
        for (conversation, _, _), text in zip(triples, self._answer(triples), strict=True):
            conversation.summaries.append(" ".join(text.split()))
            conversation.needs_summary = False
            if conversation.stop_reason != "session_end":
                continue
            conversation.session += 1
            conversation.exchange = 0
            conversation.stop_reason = None
            conversation.next_role = self.protocol_opener(conversation)

    def rewrite(self, conversations: Sequence[Conversation]) -> None:
        """One rewrite pass: each turn of the rewrite role with probability p (seeded by its position)."""
        spec = self.protocol.rewrite
        triples, targets = [], []
        for conversation in conversations:
            for index, turn in enumerate(conversation.turns):
                tag = f"{self.protocol.id}/{conversation.profile.id}/t{index}/rewrite"
                draw = (name_seed(self.seed, tag) % 10**6) / 10**6
                if turn["role"] != spec.role or turn["filler"] or draw >= spec.p:
                    continue
                request = self.models[spec.role].request(
                    [Message("system", spec.instruction), Message("user", turn["text"])],
                    max_tokens=self.protocol.role(spec.role).max_tokens, temperature=0.0, sample=tag,
                    seed=name_seed(self.seed, tag) % (2**31))
                triples.append((conversation, spec.role, request))
                targets.append(turn)
        for turn, (_, _, request), text in zip(targets, triples, self._answer(triples), strict=True):
            rewritten = clean(text)
            if normalised(rewritten):
                limit = self.protocol.role(spec.role).max_words
                turn.update(original_text=turn["text"], text=rewritten, rewritten=True, rewrite_key=request.key,
                            over_limit=bool(limit and words(rewritten) > limit))
