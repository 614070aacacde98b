"""Requests and responses: plain data, hashable to a stable key."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["chat", "choose"]
CHOICE_METHODS = ("loglik", "parsed")


@dataclass(frozen=True)
class Message:
    """One chat turn."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Decoding parameters that change what a model answers (all part of the request key).

    ``temperature == 0`` means greedy decoding; sampling uses ``seed``.
    """

    temperature: float = 0.0
    max_tokens: int = 256
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    top_p: float | None = None

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GenerationParams:
        """Parameters from a stored dict (a stop list becomes a tuple, as keys hash it)."""
        values = dict(values)
        if "stop" in values:
            values["stop"] = tuple(values["stop"] or ())
        return cls(**values)


@dataclass(frozen=True)
class Request:
    """Everything that determines an answer: backend, model, messages, parameters, options.

    Two requests with equal fields have the same :attr:`key`, whichever study built them, so
    the store answers both from one call.

    Attributes
    ----------
    kind
        ``"chat"`` (free text) or ``"choose"`` (pick one of ``options``).
    backend, model
        Which backend and model id answer it (``"local"``, ``"SmolLM2-135M-Instruct"``).
    messages
        The conversation, oldest first.
    params
        Decoding parameters.
    options
        For ``choose``: the answer options, verbatim.
    method
        For ``choose``: ``"loglik"`` (score each option's likelihood) or ``"parsed"``
        (generate, then parse the text strictly against the options).
    prefill
        Text the assistant's reply must start with (the reply continues it): constrains the
        answer, e.g. an answer sheet ``"1: 2" + newline + "2:"`` whose next option is scored. Part of the key
        when set; backends that cannot continue a reply refuse it.
    sample
        Tells apart repeated draws of an otherwise identical request (e.g. a published record
        of the same prompt sent twice, answered differently). Part of the key, never sent to
        the model; empty for ordinary requests, which are then asked once and shared.
    server
        What answers besides the model id: the normalised ``base_url`` of an OpenAI-compatible
        server, or the digest of a local model's weights file (``weights:sha256:...``). Part of
        the key, so a different server or weights file never replays another's answers; empty
        for OpenAI itself and for replayed records.
    """

    kind: Kind
    backend: str
    model: str
    messages: tuple[Message, ...]
    params: GenerationParams = field(default_factory=GenerationParams)
    options: tuple[str, ...] = ()
    method: str = ""
    prefill: str = ""
    sample: str = ""
    server: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("chat", "choose"):
            raise ValueError(f"request kind must be 'chat' or 'choose', got {self.kind!r}")
        if self.kind == "choose":
            if len(self.options) < 2:
                raise ValueError("a 'choose' request needs at least two options")
            if self.method not in CHOICE_METHODS:
                raise ValueError(f"choose method must be one of {CHOICE_METHODS}, got {self.method!r}")
        if not self.messages:
            raise ValueError("a request needs at least one message")

    def to_dict(self) -> dict[str, Any]:
        """The request as a plain dict (as stored and hashed)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Request:
        """The request a stored dict describes."""
        return cls(
            kind=values["kind"],
            backend=values["backend"],
            model=values["model"],
            messages=tuple(Message(**m) for m in values["messages"]),
            params=GenerationParams.from_dict(values.get("params", {})),
            options=tuple(values.get("options", ())),
            method=values.get("method", ""),
            prefill=values.get("prefill", ""),
            sample=values.get("sample", ""),
            server=values.get("server", ""),
        )

    @functools.cached_property
    def key(self) -> str:
        """SHA-256 of the canonical JSON of every field (computed once per request).

        An empty ``prefill``, ``sample`` or ``server`` is left out, so ordinary requests keep the
        keys they had before those fields existed.
        """
        fields = self.to_dict()
        for optional in ("prefill", "sample", "server"):
            if not fields[optional]:
                del fields[optional]
        canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def describe(self) -> str:
        """A short human description for error messages (never the whole conversation)."""
        last = " ".join(self.messages[-1].content.split())
        excerpt = last if len(last) <= 100 else f"{last[:40]} ... {last[-55:]}"
        where = f" at {self.server}" if self.server.startswith("http") else ""
        return f"{self.kind} request {self.key[:12]} to {self.backend}:{self.model}{where} ({excerpt!r})"


@dataclass(frozen=True)
class Completion:
    """What a backend returns for one request."""

    text: str
    parsed: Any = None
    model_version: str | None = None
    fingerprint: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    # parameters the request sent that the server was found to ignore (an OpenAI-compatible
    # server's seed: replisuite.llm.openai_compat.OpenAIBackend.probe_seed)
    server_ignores: tuple[str, ...] = ()


@dataclass(frozen=True)
class Response:
    """A stored answer: the request, the completion, and when and how it was obtained."""

    request: Request
    text: str
    parsed: Any
    model_version: str | None
    fingerprint: str | None
    usage: dict[str, Any]
    latency_s: float
    created_at: str
    origin: str = "live"
    server_ignores: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """The key of the request this response answers."""
        return self.request.key

    def to_dict(self) -> dict[str, Any]:
        """The response as the plain dict the store writes."""
        return {
            "key": self.key,
            "request": self.request.to_dict(),
            "text": self.text,
            "parsed": self.parsed,
            "model_version": self.model_version,
            "fingerprint": self.fingerprint,
            "usage": self.usage,
            "latency_s": self.latency_s,
            "created_at": self.created_at,
            "origin": self.origin,
            **({"server_ignores": list(self.server_ignores)} if self.server_ignores else {}),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Response:
        """The response a stored dict describes; ``ValueError`` when its key does not match its request."""
        request = Request.from_dict(values["request"])
        if "key" in values and values["key"] != request.key:
            raise ValueError(f"record key {values['key']} does not match its request ({request.key})")
        return cls(
            request=request,
            text=values["text"],
            parsed=values.get("parsed"),
            model_version=values.get("model_version"),
            fingerprint=values.get("fingerprint"),
            usage=values.get("usage") or {},
            latency_s=float(values.get("latency_s") or 0.0),
            created_at=values["created_at"],
            origin=values.get("origin", "imported"),
            server_ignores=tuple(values.get("server_ignores") or ()),
        )


@dataclass(frozen=True)
class Choice:
    """The answer to a ``choose`` request.

    ``option`` is ``None`` when a parsed answer matched no option (counted, never imputed).
    ``scores`` holds each option's summed log-likelihood (``loglik``) or is empty (``parsed``).
    """

    option: str | None
    index: int | None
    scores: tuple[float, ...]
    method: str
    response: Response

    @classmethod
    def from_response(cls, response: Response) -> Choice:
        """The choice a ``choose`` request's response holds (option, index, per-option scores)."""
        parsed = response.parsed or {}
        return cls(
            option=parsed.get("option"),
            index=parsed.get("index"),
            scores=tuple(parsed.get("scores") or ()),
            method=response.request.method,
            response=response,
        )
