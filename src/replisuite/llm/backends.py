"""Backends answer a :class:`Request` (or a batch of them); the runner adds caching, concurrency and retries."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from replisuite.llm.requests import Completion, Request

SCRIPTED_ENV = "REPLISUITE_ALLOW_SCRIPTED"


class LLMError(RuntimeError):
    """A request failed and should not be retried (bad request, missing record, ...)."""


class TransientError(RuntimeError):
    """A request failed in a way worth retrying (429, 5xx, timeout, dropped connection).

    ``retry_after``: the seconds the server asked to wait (its ``Retry-After`` header), if any.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReplayMissingError(LLMError):
    """A replayed request is not in the published record."""


class Backend(Protocol):
    """What the runner needs from a backend."""

    name: str
    max_concurrency: int

    def complete(self, request: Request) -> Completion:
        """Answer one request, raising :class:`TransientError` or :class:`LLMError` on failure."""


@runtime_checkable
class BatchBackend(Protocol):
    """A backend that answers several requests in one computation (the embedded model).

    The runner hands it all missing requests; it groups them (:meth:`plan_batches`) and
    answers each group at once. ``complete`` answers a single request the same way.
    """

    name: str
    max_concurrency: int

    def complete(self, request: Request) -> Completion:
        """Answer one request (blocking)."""

    def plan_batches(self, requests: Sequence[Request]) -> list[list[Request]]:
        """Partition ``requests`` into batches (deterministically, from the requests alone)."""

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Answer a batch, in order."""


class ReplayBackend:
    """Answers only from records imported into the store; any other request is an error.

    The runner looks the request up in the store first, so this backend is reached only for a
    request that the published record does not contain.
    """

    name = "replay"
    max_concurrency = 1

    def complete(self, request: Request) -> Completion:
        """Never answers: raises :class:`ReplayMissingError` for a request the imported record lacks."""
        raise ReplayMissingError(
            f"{request.describe()} is not in the published record imported into the store; "
            "replay never falls back to a live model (check the prompt generation, or import "
            "the record that contains it)"
        )


class ScriptedBackend:
    """Test double: answers with ``responder(request)``.  Refused outside tests.

    Parameters
    ----------
    responder
        Returns the text for a request (it may raise :class:`TransientError` to test retries).
    """

    name = "scripted"

    def __init__(self, responder: Callable[[Request], str], *, max_concurrency: int = 4) -> None:
        if os.environ.get(SCRIPTED_ENV) != "1":
            raise LLMError(
                "the scripted backend is a test double and produces no results; "
                f"tests enable it with {SCRIPTED_ENV}=1"
            )
        self.responder = responder
        self.max_concurrency = max_concurrency

    def complete(self, request: Request) -> Completion:
        """The scripted responder's text for ``request`` (a choice parsed from it)."""
        text = self.responder(request)
        parsed = parse_choice(text, request.options) if request.kind == "choose" else None
        return Completion(text=text, parsed=parsed, model_version="scripted")


class ScriptedBatchBackend(ScriptedBackend):
    """Test double of a batching backend: fixed-size batches in the given order.

    ``batches`` records every batch it answered (the request keys), so tests can check how
    the runner fed it.
    """

    max_concurrency = 1

    def __init__(self, responder: Callable[[Request], str], *, batch_size: int = 4) -> None:
        super().__init__(responder, max_concurrency=1)
        self.batch_size = batch_size
        self.batches: list[list[str]] = []

    def plan_batches(self, requests: Sequence[Request]) -> list[list[Request]]:
        """``requests`` in consecutive batches of at most ``batch_size``."""
        return [list(requests[i : i + self.batch_size]) for i in range(0, len(requests), self.batch_size)]

    def complete_batch(self, requests: Sequence[Request]) -> list[Completion]:
        """Answer each request in turn, recording the batch's keys (what the tests inspect)."""
        self.batches.append([r.key for r in requests])
        return [self.complete(r) for r in requests]


def parse_choice(text: str, options: tuple[str, ...]) -> dict:
    """Match a free-text answer strictly to one option.

    Accepted: the option itself (case, surrounding whitespace, quotes and final punctuation
    ignored), or a reply that starts with it followed by a word boundary and names no other
    option ("Agree, because ..."). Anything else, such as "agree or disagree", is unparseable:
    ``{"option": None, ...}`` (counted by the studies, never imputed).
    """
    reply = _normalise(text)
    normalised = [_normalise(option) for option in options]
    chosen = [i for i, option in enumerate(normalised) if option == reply]
    if not chosen:
        starts = [i for i, option in enumerate(normalised) if re.match(re.escape(option) + r"(?:\W|$)", reply)]
        if starts:
            longest = max(starts, key=lambda i: len(normalised[i]))
            rest = reply[len(normalised[longest]) :]
            others = [o for o in normalised if o not in normalised[longest]]
            if not any(re.search(r"\b" + re.escape(o) + r"\b", rest) for o in others):
                chosen = [longest]
    if len(chosen) == 1:
        return {"option": options[chosen[0]], "index": chosen[0], "scores": []}
    return {"option": None, "index": None, "scores": []}


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().strip("\"'`*").rstrip(".!")).lower()


def without_stop(text: str, stop: tuple[str, ...] | list[str]) -> str:
    """``text`` cut before the first stop sequence: OpenAI leaves the sequence out of the reply,
    some servers (transformers serve) keep it; the local backend leaves it out too.
    """
    for sequence in stop:
        if sequence:
            text = text.split(sequence, 1)[0]
    return text
