"""Send a study's requests: cached, concurrent, rate-limited, retried, resumable."""

from __future__ import annotations

import json
import logging
import os
import random
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from replisuite.llm.backends import Backend, BatchBackend, LLMError, TransientError
from replisuite.llm.requests import Completion, Request, Response
from replisuite.llm.store import ResponseStore
from replisuite.provenance import utc_now

log = logging.getLogger("replisuite.llm")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base * 2**n)), or
    longer when the server says so (``Retry-After``); a request gives up after ``max_attempts``
    or once waiting again would take it past ``max_total_s`` since its first attempt.
    """

    max_attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 30.0
    max_total_s: float = 600.0

    def delay(self, attempt: int, rng: random.Random, *, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``attempt``: full jitter under an exponential cap, at least ``retry_after``."""
        jittered = rng.uniform(0, min(self.cap_s, self.base_s * 2**attempt))
        return max(jittered, retry_after or 0.0)


class GaveUpError(LLMError):
    """A request that failed after its retries, with how many attempts it had."""

    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass
class RunStats:
    """Counts for the manifest."""

    requests: int = 0
    unique: int = 0
    cache_hits: int = 0
    new_calls: int = 0
    failures: int = 0
    retries: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a dict (for the job log)."""
        return dict(vars(self))


@dataclass
class RunResult:
    """Answers in request order (``None`` where a request failed) and what it took."""

    responses: list[Response | None]
    stats: RunStats
    errors: dict[str, str] = field(default_factory=dict)


class RunFailedError(LLMError):
    """Some requests failed after their retries; everything received is in the store."""


class RateLimiter:
    """At most ``per_minute`` starts per minute, spaced evenly (thread-safe)."""

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until the next request may start under the configured rate (no wait without one)."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        time.sleep(max(0.0, start - now))


def run_requests(
    requests: Sequence[Request],
    backend: Backend,
    store: ResponseStore,
    *,
    concurrency: int | None = None,
    rate_limit_per_minute: float | None = None,
    retry: RetryPolicy = RetryPolicy(),
    progress: bool = True,
    description: str = "requests",
    raise_on_failure: bool = True,
    seed: int = 0,
) -> RunResult:
    """Answer every request, sending only those the store does not hold.

    Each answer (or each batch of a batching backend) is committed to the store the moment it
    arrives, in the calling thread, so Ctrl-C or a kill loses nothing received; the next run
    sends only what is still missing.

    Parameters
    ----------
    requests
        In the study's order; duplicates are sent once.
    backend
        Answers one request at a time (its ``max_concurrency`` caps ``concurrency``), or, if
        it is a :class:`BatchBackend` (the embedded model), batches it plans itself.
    store
        Where answers are looked up and kept.
    concurrency
        Requests in flight (default: the backend's ``max_concurrency``).
    rate_limit_per_minute
        Upper bound on request starts per minute.
    retry
        Backoff for :class:`TransientError` (429, 5xx, timeouts, dropped connections).
    progress
        Show a progress bar on stderr (done/total, rate, ETA, cache hits).
    raise_on_failure
        Raise :class:`RunFailedError` after the run if any request failed.
    seed
        Seeds the backoff jitter.

    Returns
    -------
    RunResult
        Responses in the order of ``requests``.
    """
    keys = [r.key for r in requests]
    unique = dict(zip(keys, requests, strict=True))
    cached = store.get_many(unique)
    missing = [request for key, request in unique.items() if key not in cached]
    stats = RunStats(requests=len(requests), unique=len(unique), cache_hits=len(cached))
    errors: dict[str, str] = {}
    workers = max(1, min(concurrency or backend.max_concurrency, backend.max_concurrency))
    limiter = RateLimiter(rate_limit_per_minute)
    rng = random.Random(seed)
    rng_lock = threading.Lock()
    retries = [0]

    # One backoff for all workers: a 429 or 5xx says the server is struggling, so every request in
    # flight waits until the same moment, rather than each retrying on its own schedule.
    resume_at = [0.0]

    def attempt(request: Request) -> tuple[Completion, float]:
        first = time.monotonic()
        for number in range(retry.max_attempts):
            time.sleep(max(0.0, resume_at[0] - time.monotonic()))
            limiter.wait()
            started = time.perf_counter()
            try:
                return backend.complete(request), time.perf_counter() - started
            except TransientError as error:
                with rng_lock:
                    pause = retry.delay(number, rng, retry_after=error.retry_after)
                waited = time.monotonic() - first
                if number + 1 == retry.max_attempts or waited + pause > retry.max_total_s:
                    raise GaveUpError(f"{request.describe()}: gave up after {number + 1} attempts in {waited:.1f} s: "
                                      f"{error}", attempts=number + 1) from None
                with rng_lock:
                    resume_at[0] = max(resume_at[0], time.monotonic() + pause)
                    retries[0] += 1
                log.info("retrying %s in %.2fs (%s)", request.key[:12], pause, error)
        raise AssertionError("unreachable")

    bar = tqdm(
        total=len(unique), initial=len(cached), desc=description, disable=not progress,
        unit="req", dynamic_ncols=True, mininterval=0.5,
    )
    bar.set_postfix(cached=len(cached), failed=0)

    def settle(request: Request, outcome: tuple[Completion, float] | LLMError) -> Response | None:
        """Count an outcome; a failure goes to the store's failure table, an answer is returned."""
        if isinstance(outcome, LLMError):
            errors[request.key] = str(outcome)
            store.record_failure(request, str(outcome), getattr(outcome, "attempts", 1))
            stats.failures += 1
            return None
        response = _response(request, *outcome)
        cached[request.key] = response
        stats.new_calls += 1
        return response

    def progressed(count: int) -> None:
        bar.update(count)
        bar.set_postfix(cached=stats.cache_hits, failed=stats.failures)

    try:
        if isinstance(backend, BatchBackend) and missing:
            _send_batches(backend, missing, store, settle, progressed, attempt)
        else:
            _send_concurrently(missing, attempt, workers, store, settle, progressed)
    finally:
        bar.close()
        stats.retries = retries[0]
    result = RunResult(responses=[cached.get(key) for key in keys], stats=stats, errors=errors)
    if errors and raise_on_failure:
        first = next(iter(errors.values()))
        raise RunFailedError(f"{len(errors)} of {len(unique)} requests failed (first: {first})")
    return result


# A plan run (`python -m replisuite.plan`) sets this to a file: requests are counted there, not sent.
PLAN_ENV = "REPLISUITE_LLM_PLAN"


def plan_requests(requests: Sequence[Request], store: ResponseStore, *, record: Mapping[str, Any],
                  seen: dict[str, Response], plan_path: str | os.PathLike[str]) -> RunResult:
    """What answering ``requests`` would send: nothing is sent and nothing stored.

    Stored answers are returned as in a real run; each missing request is counted and answered by
    a stand-in (``origin`` "plan": nothing parsed, and a marker text naming the request where it is
    not a choice among options, so studies treat it as an unusable answer and go on building their
    next requests, each distinct). ``seen`` holds what this model answered or stood in for in earlier calls of the job, which a
    real run would have stored by then: it is counted once. One JSON line per call, ``record``
    plus the counts, is appended to ``plan_path`` (one short write: lines from parallel jobs do not
    interleave).
    """
    keys = [r.key for r in requests]
    unique = dict(zip(keys, requests, strict=True))
    fresh = [key for key in unique if key not in seen]
    cached = store.get_many(fresh)
    seen.update(cached)
    missing = [unique[key] for key in fresh if key not in cached]
    for request in missing:
        # a chat stand-in names its request, so that requests built on it stay distinct; a choice has no text
        text = "" if request.options else f"(not sent: plan run, request {request.key[:16]})"
        seen[request.key] = Response(request=request, text=text, parsed=None, model_version=None, fingerprint=None,
                                     usage={}, latency_s=0.0, created_at=utc_now(), origin="plan")
    line = {**record, "stored": len(cached), "to_send": len(missing)}
    with open(plan_path, "a") as handle:
        handle.write(json.dumps(line) + "\n")
    stats = RunStats(requests=len(requests), unique=len(unique), cache_hits=len(unique) - len(missing))
    return RunResult(responses=[seen[key] for key in keys], stats=stats)


def _send_concurrently(missing, attempt, workers, store, settle, progressed) -> None:
    """One request per worker thread; each answer is committed the moment it arrives."""
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm")
    pending: dict[Future, Request] = {}
    queue = iter(missing)
    try:
        _fill(executor, pending, queue, attempt, workers * 2)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                request = pending.pop(future)
                try:
                    response = settle(request, future.result())
                except LLMError as error:
                    response = settle(request, error)
                if response is not None:
                    store.put(response)
                progressed(1)
            _fill(executor, pending, queue, attempt, workers * 2)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _send_batches(backend, missing, store, settle, progressed, attempt) -> None:
    """Batches planned by the backend, answered in this thread, each committed as it completes.

    A kill loses at most the batch being computed. A batch that fails is answered again one
    request at a time (each retried on a transient error), so a bad request fails alone.
    """
    for batch in backend.plan_batches(missing):
        started = time.perf_counter()
        try:
            completions = backend.complete_batch(batch)
        except (LLMError, TransientError):
            outcomes = [_one(attempt, request) for request in batch]
        else:
            share = (time.perf_counter() - started) / len(batch)
            outcomes = [(completion, share) for completion in completions]
        answered = [settle(request, outcome) for request, outcome in zip(batch, outcomes, strict=True)]
        store.put_many(r for r in answered if r is not None)
        progressed(len(batch))


def _one(attempt, request: Request) -> tuple[Completion, float] | LLMError:
    try:
        return attempt(request)
    except LLMError as error:
        return error


def _fill(executor, pending, queue, attempt, limit) -> None:
    while len(pending) < limit:
        request = next(queue, None)
        if request is None:
            return
        pending[executor.submit(attempt, request)] = request


def _response(request: Request, completion: Completion, latency: float) -> Response:
    return Response(
        request=request,
        text=completion.text,
        parsed=completion.parsed,
        model_version=completion.model_version,
        fingerprint=completion.fingerprint,
        usage=completion.usage,
        latency_s=latency,
        created_at=utc_now(),
        origin="live",
        server_ignores=completion.server_ignores,
    )
