"""The response store: a folder of append-only shards, one per writing process, keyed by request hash.

One store per study (``data/llm/<study>/``).  Every process that stores something appends to a
shard of its own (``<host>-<pid>-<time>-<random>.shard``); nobody ever writes to another's file, and
readers see the union of all shards.  A shard line is ``kind <TAB> key <TAB> created_at <TAB> JSON``:
opening a store reads the keys only, and a record's JSON is parsed when it is asked for.  That is what makes the store safe where SQLite's locking is
not: jobs on different nodes of a cluster writing one study's store over NFS, Lustre or GPFS.

* Each batch of answers is written with one ``write`` and ``fsync``-ed before the call returns, so
  a killed job loses nothing it had received; a line cut short by the kill (no final newline) is
  ignored on reading.
* A rerun reads the shards, sends only the requests with no stored answer, and writes a new shard.
* Two jobs that answered the same request both keep their line; every reader takes the same
  one (earliest ``created_at``, then shard name), so the first answer wins everywhere.
* Failed requests are lines of their own and are never returned as answers.
* ``python -m replisuite.llm compact`` merges the shards into one when no job is writing.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from replisuite.atomic import atomic_open
from replisuite.llm.requests import Request, Response
from replisuite.provenance import utc_now

SHARD_SUFFIX = ".shard"


class StoreError(RuntimeError):
    """The store cannot be used (a file where the folder should be, a corrupt shard)."""


class ResponseStore:
    """Answers by request key, persisted as a folder of append-only shards.

    Parameters
    ----------
    path
        The store's folder; created (with its parents) if missing.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise StoreError(
                f"{self.path}: not a usable response store (a store is a folder of {SHARD_SUFFIX} shards; this is a "
                f"file{' (an SQLite store of an earlier version: `python -m replisuite.llm import` reads it)' if _is_sqlite(self.path) else ''})")
        self.path.mkdir(parents=True, exist_ok=True)
        # key -> ((created_at, shard name), the record's JSON, parsed into a Response when asked for)
        self._responses: dict[str, tuple[tuple[str, str], bytes | Response]] = {}
        self._failures: list[tuple[tuple[str, str], dict[str, Any]]] = []
        self._embeddings: dict[str, tuple[str, int, bytes]] = {}
        self._read_up_to: dict[Path, int] = {}
        self._shard: Path | None = None
        self._handle = None
        self.refresh()

    # reading ------------------------------------------------------------------------------

    def shards(self) -> list[Path]:
        """The shard files of the store, in name order."""
        return sorted(self.path.glob(f"*{SHARD_SUFFIX}"))

    def refresh(self) -> None:
        """Read what the shards gained since the last read (other jobs write while this one runs)."""
        for shard in self.shards():
            start = self._read_up_to.get(shard, 0)
            with open(shard, "rb") as handle:
                handle.seek(start)
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]  # a line being written (or cut by a kill) waits
            offset = start
            for line in complete.splitlines(keepends=True):
                self._read_line(shard, offset, line)
                offset += len(line)
            self._read_up_to[shard] = offset

    def _read_line(self, shard: Path, offset: int, line: bytes) -> None:
        if not line.strip():
            return
        try:
            kind, key, created, payload = line.rstrip(b"\n").split(b"\t", 3)
            key, created = key.decode(), created.decode()
            if kind == b"response":
                order = (created, shard.name)
                held = self._responses.get(key)
                if held is None or order < held[0]:
                    self._responses[key] = (order, payload)
            elif kind == b"failure":
                self._failures.append(((created, shard.name), json.loads(payload)))
            elif kind == b"embedding":
                if key not in self._embeddings:
                    record = json.loads(payload)
                    self._embeddings[key] = (record["model"], record["dim"], base64.b64decode(record["vector"]))
            else:
                raise ValueError(f"unknown record kind {kind!r}")
        except (ValueError, KeyError, TypeError) as error:
            raise StoreError(f"{shard} (byte {offset}): not a store record ({error}); move the shard aside "
                             "and rerun (its answers are requested again)") from error

    def _response(self, key: str) -> Response:
        held = self._responses[key]
        if isinstance(held[1], Response):
            return held[1]
        try:
            response = Response.from_dict(json.loads(held[1]))
        except (ValueError, KeyError, TypeError) as error:
            raise StoreError(f"{self.path}: the stored answer {key} is not a response record ({error})") from error
        self._responses[key] = (held[0], response)
        return response

    def __len__(self) -> int:
        return len(self._responses)

    def get(self, key: str) -> Response | None:
        """The stored response to ``key``, or ``None``."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Iterable[str]) -> dict[str, Response]:
        """Stored answers for ``keys`` (missing keys are absent from the result)."""
        keys = list(dict.fromkeys(keys))
        if any(key not in self._responses for key in keys):
            self.refresh()
        return {key: self._response(key) for key in keys if key in self._responses}

    def failures(self) -> list[dict[str, Any]]:
        """Every recorded failure (key, backend, model, error, attempts, time), oldest first."""
        names = ("key", "backend", "model", "error", "attempts", "created_at")
        return [{name: record[name] for name in names} for _, record in sorted(self._failures, key=lambda f: f[0])]

    def iter_responses(self, *, backend: str | None = None, model: str | None = None) -> Iterator[Response]:
        """Stored responses, oldest first, optionally only one backend's or model's."""
        for key in sorted(self._responses, key=lambda k: (self._responses[k][0][0], k)):
            response = self._response(key)
            if (backend is None or response.request.backend == backend) and (model is None or response.request.model == model):
                yield response

    # writing ------------------------------------------------------------------------------

    def put(self, response: Response) -> bool:
        """Store an answer; returns False if the key was already stored (first answer wins)."""
        return self.put_many([response]) == 1

    def put_many(self, responses: Iterable[Response]) -> int:
        """Store several answers in one write; returns how many were new."""
        new: dict[str, Response] = {}
        for response in responses:
            if response.key not in self._responses and response.key not in new:
                new[response.key] = response
        if not new:
            return 0
        self._append([_line("response", key, response.created_at, response.to_dict()) for key, response in new.items()])
        for key, response in new.items():
            self._responses[key] = ((response.created_at, self._shard.name), response)
        return len(new)

    def record_failure(self, request: Request, error: str, attempts: int) -> None:
        """Append a failed request (after ``attempts`` tries) to this writer's shard."""
        record = {"key": request.key, "backend": request.backend, "model": request.model,
                  "request": request.to_dict(), "error": error, "attempts": attempts, "created_at": utc_now()}
        self._append([_line("failure", request.key, record["created_at"], record)])
        self._failures.append(((record["created_at"], self._shard.name), record))

    def _append(self, lines: list[bytes]) -> None:
        if self._handle is None:
            name = f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}-{secrets.token_hex(4)}{SHARD_SUFFIX}"
            self._shard = self.path / name
            # a new file in append mode: the mode the user's umask gives, one writer
            self._handle = open(self._shard, "ab")
        data = b"".join(lines)
        self._handle.write(data)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._read_up_to[self._shard] = self._read_up_to.get(self._shard, 0) + len(data)

    def close(self) -> None:
        """Close this writer's shard file (what is written stays)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # moving answers -----------------------------------------------------------------------

    def export_jsonl(self, path: str | os.PathLike[str], **filters: str | None) -> int:
        """Write stored answers (optionally one backend/model) as JSON lines; returns the count."""
        count = 0
        with atomic_open(path) as handle:
            for response in self.iter_responses(**filters):
                handle.write(json.dumps(response.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        return count

    def import_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Add the answers of an exported JSONL file (or of an earlier version's SQLite store)."""
        if _is_sqlite(Path(path)):
            return self.put_many(_sqlite_responses(Path(path)))
        responses = []
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    responses.append(Response.from_dict(json.loads(line)))
                except (ValueError, KeyError, TypeError) as error:
                    raise StoreError(f"{path}:{number}: not a response record ({error})") from error
        return self.put_many(responses)

    def compact(self) -> int:
        """Merge every shard into one (run it when no job writes to the store); returns the shards merged.

        The merged shard is complete on disk before the others are removed, so an interruption
        leaves duplicates (harmless: the same answer wins) and never a loss.
        """
        self.refresh()
        shards = self.shards()
        if len(shards) < 2:
            return len(shards)
        self.close()
        lines = [_line("response", r.key, r.created_at, r.to_dict()) for r in self.iter_responses()]
        lines += [_line("failure", f["key"], f["created_at"], f) for _, f in sorted(self._failures, key=lambda f: f[0])]
        lines += [_embedding_line(key, *held) for key, held in sorted(self._embeddings.items())]
        merged = self.path / f"compacted-{time.time_ns()}{SHARD_SUFFIX}"
        with atomic_open(merged, "wb") as handle:
            handle.writelines(lines)
        for shard in shards:
            shard.unlink()
        self._read_up_to = {merged: merged.stat().st_size}
        return len(shards)

    # embeddings ---------------------------------------------------------------------------

    def get_embeddings(self, keys: list[str]) -> dict[str, bytes]:
        """The stored vectors (raw bytes) of the ``keys`` held, rereading the shards for any missing."""
        if any(key not in self._embeddings for key in keys):
            self.refresh()
        return {key: self._embeddings[key][2] for key in keys if key in self._embeddings}

    def put_embeddings(self, model: str, items: Iterable[tuple[str, int, bytes]]) -> None:
        """Append new vectors ``(key, dimension, bytes)`` of ``model`` to this writer's shard (held keys are skipped)."""
        fresh = {key: (model, dim, vector) for key, dim, vector in items if key not in self._embeddings}
        if fresh:
            self._append([_embedding_line(key, *held) for key, held in fresh.items()])
            self._embeddings.update(fresh)


def _line(kind: str, key: str, created_at: str, record: dict[str, Any]) -> bytes:
    return f"{kind}\t{key}\t{created_at}\t".encode() + json.dumps(record, ensure_ascii=False, sort_keys=True).encode() + b"\n"


def _embedding_line(key: str, model: str, dim: int, vector: bytes) -> bytes:
    return _line("embedding", key, "", {"model": model, "dim": dim, "vector": base64.b64encode(vector).decode()})


def _is_sqlite(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def _sqlite_responses(path: Path) -> list[Response]:
    """The answers of an SQLite store written by an earlier version (read-only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT request, text, parsed, model_version, fingerprint, usage, latency_s, created_at, origin "
                          "FROM responses").fetchall()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path}: not a readable SQLite response store ({error})") from error
    finally:
        db.close()
    return [Response(request=Request.from_dict(json.loads(request)), text=text,
                     parsed=json.loads(parsed) if parsed is not None else None, model_version=version,
                     fingerprint=fingerprint, usage=json.loads(usage), latency_s=latency, created_at=created, origin=origin)
            for request, text, parsed, version, fingerprint, usage, latency, created, origin in rows]
