"""The response store: SQLite in WAL mode, keyed by the request hash.

One store per study (``data/llm/<study>.sqlite``).  Each answer is committed as soon as it
arrives, so an interrupted run loses nothing it had received, and several Snakemake jobs may
write to one store at once (WAL plus a busy timeout serialise their short transactions).
Failed requests go to a separate table and are never returned as answers.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from replisuite.atomic import atomic_open
from replisuite.llm.requests import Request, Response
from replisuite.provenance import utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    kind TEXT NOT NULL,
    request TEXT NOT NULL,
    text TEXT NOT NULL,
    parsed TEXT,
    model_version TEXT,
    fingerprint TEXT,
    usage TEXT NOT NULL,
    latency_s REAL NOT NULL,
    created_at TEXT NOT NULL,
    origin TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_model ON responses (backend, model);
CREATE TABLE IF NOT EXISTS failures (
    key TEXT NOT NULL,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    request TEXT NOT NULL,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS embeddings (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    dim INTEGER NOT NULL,
    vector BLOB NOT NULL
);
"""


class StoreError(RuntimeError):
    """The store file cannot be used (corrupt, not a database, wrong schema)."""


class ResponseStore:
    """Answers by request key, persisted in SQLite.

    Parameters
    ----------
    path
        The database file; created (with its folder) if missing.
    timeout
        Seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._db = self._open(timeout)
                return
            except sqlite3.OperationalError as error:
                # Switching to WAL and creating the schema can fail at once with "database is
                # locked" while another job does the same (SQLite's busy handler does not cover
                # it): jobs opening one study's store together retry until the timeout.
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise self._unusable(error) from error
                time.sleep(random.uniform(0.05, 0.3))
            except sqlite3.DatabaseError as error:
                raise self._unusable(error) from error

    def _open(self, timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            db.execute("SELECT key FROM responses LIMIT 1").fetchall()
        except BaseException:
            db.close()
            raise
        return db

    def _unusable(self, error: Exception) -> StoreError:
        return StoreError(
            f"{self.path}: not a usable response store ({error}). If the file is corrupt, "
            "move it aside (answers can be re-imported from an exported JSONL) and rerun."
        )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResponseStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def get(self, key: str) -> Response | None:
        row = self._db.execute(f"SELECT {_COLUMNS} FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else _row_to_response(row)

    def get_many(self, keys: Iterable[str]) -> dict[str, Response]:
        """Stored answers for ``keys`` (missing keys are absent from the result)."""
        keys = list(dict.fromkeys(keys))
        found: dict[str, Response] = {}
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT {_COLUMNS} FROM responses WHERE key IN ({marks})", chunk
            ):
                found[row[0]] = _row_to_response(row)
        return found

    def put(self, response: Response) -> bool:
        """Store an answer; returns False if the key was already stored (first answer wins)."""
        return self.put_many([response]) == 1

    def put_many(self, responses: Iterable[Response]) -> int:
        """Store several answers in one transaction; returns how many were new."""
        rows = [_response_to_row(r) for r in responses]
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany(
                f"INSERT OR IGNORE INTO responses ({_COLUMNS}) VALUES ({','.join('?' * 13)})", rows
            )
            return self._db.total_changes - before

    def record_failure(self, request: Request, error: str, attempts: int) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    request.key,
                    request.backend,
                    request.model,
                    json.dumps(request.to_dict()),
                    error,
                    attempts,
                    utc_now(),
                ),
            )

    def failures(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT key, backend, model, error, attempts, created_at FROM failures ORDER BY rowid"
        ).fetchall()
        names = ("key", "backend", "model", "error", "attempts", "created_at")
        return [dict(zip(names, row)) for row in rows]

    def iter_responses(self, *, backend: str | None = None, model: str | None = None) -> Iterator[Response]:
        query, args = f"SELECT {_COLUMNS} FROM responses", []
        conditions = []
        if backend is not None:
            conditions.append("backend = ?")
            args.append(backend)
        if model is not None:
            conditions.append("model = ?")
            args.append(model)
        if conditions:
            query += " WHERE " + " AND ".join(conditions)
        for row in self._db.execute(query + " ORDER BY created_at, key", args):
            yield _row_to_response(row)

    def export_jsonl(self, path: str | os.PathLike[str], **filters: str | None) -> int:
        """Write stored answers (optionally one backend/model) as JSON lines; returns the count."""
        count = 0
        with atomic_open(path) as handle:
            for response in self.iter_responses(**filters):
                handle.write(json.dumps(response.to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
                count += 1
        return count

    def import_jsonl(self, path: str | os.PathLike[str]) -> int:
        """Add the answers of an exported JSONL file; returns how many were new."""
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

    # embeddings ---------------------------------------------------------------------------

    def get_embeddings(self, keys: list[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 900):
            chunk = keys[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for key, vector in self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", chunk
            ):
                found[key] = vector
        return found

    def put_embeddings(self, model: str, items: Iterable[tuple[str, int, bytes]]) -> None:
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO embeddings VALUES (?, ?, ?, ?)",
                [(key, model, dim, vector) for key, dim, vector in items],
            )

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


_COLUMNS = (
    "key, backend, model, kind, request, text, parsed, model_version, fingerprint, usage, "
    "latency_s, created_at, origin"
)


def _response_to_row(response: Response) -> tuple:
    request = response.request
    return (
        request.key,
        request.backend,
        request.model,
        request.kind,
        json.dumps(request.to_dict(), ensure_ascii=False, sort_keys=True),
        response.text,
        json.dumps(response.parsed),
        response.model_version,
        response.fingerprint,
        json.dumps(response.usage),
        response.latency_s,
        response.created_at,
        response.origin,
    )


def _row_to_response(row: tuple) -> Response:
    (_, _, _, _, request, text, parsed, version, fingerprint, usage, latency, created, origin) = row
    return Response(
        request=Request.from_dict(json.loads(request)),
        text=text,
        parsed=json.loads(parsed) if parsed is not None else None,
        model_version=version,
        fingerprint=fingerprint,
        usage=json.loads(usage),
        latency_s=latency,
        created_at=created,
        origin=origin,
    )
