import json
import multiprocessing

import pytest

from replisuite.llm import Message, Request, Response, ResponseStore, StoreError


def response(i, text="t"):
    request = Request(kind="chat", backend="replay", model="m", messages=(Message("user", f"q{i}"),))
    return Response(request, f"{text}{i}", None, "v1", "fp", {"total_tokens": 3}, 0.01, "2026-01-01T00:00:00+00:00")


def test_put_get_and_first_answer_wins(tmp_path):
    with ResponseStore(tmp_path / "s.sqlite") as store:
        assert store.put(response(1)) is True
        assert store.put(response(1, text="other")) is False
        got = store.get(response(1).key)
        assert got.text == "t1" and got.model_version == "v1" and got.usage == {"total_tokens": 3}
        assert store.get("nope") is None
        assert len(store) == 1


def test_wal_mode(tmp_path):
    with ResponseStore(tmp_path / "s.sqlite") as store:
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_export_then_import_round_trip(tmp_path):
    with ResponseStore(tmp_path / "a.sqlite") as a:
        a.put_many([response(i) for i in range(5)])
        assert a.export_jsonl(tmp_path / "out.jsonl") == 5
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["key"]
    with ResponseStore(tmp_path / "b.sqlite") as b:
        assert b.import_jsonl(tmp_path / "out.jsonl") == 5
        assert b.import_jsonl(tmp_path / "out.jsonl") == 0
        assert b.get(response(3).key).text == "t3"


def test_import_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(response(0).to_dict()) + "\n{not json\n")
    with ResponseStore(tmp_path / "s.sqlite") as store, pytest.raises(StoreError, match="bad.jsonl:2"):
        store.import_jsonl(path)


def test_corrupt_file_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken.sqlite"
    path.write_bytes(b"this is not a database" * 200)
    with pytest.raises(StoreError, match="broken.sqlite: not a usable response store"):
        ResponseStore(path)


def _writer(path, start, count, barrier):
    barrier.wait()
    with ResponseStore(path) as store:
        for i in range(start, start + count):
            store.put(response(i))


def run_together(target, argument_lists, timeout=120):
    """Start one spawned process per argument list at the same moment (a shared barrier is the
    last argument); every one must exit cleanly."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(argument_lists))
    workers = [context.Process(target=target, args=(*arguments, barrier)) for arguments in argument_lists]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout)
        assert worker.exitcode == 0


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "shared.sqlite"
    ResponseStore(path).close()
    run_together(_writer, [(path, s, 300) for s in (0, 200)])
    with ResponseStore(path) as store:
        assert len(store) == 500
        assert store.get(response(250).key).text == "t250"


def _opener(path, index, rounds, barrier):
    barrier.wait()
    for round_ in range(rounds):
        with ResponseStore(path) as store:
            store.put(response(index * 100 + round_))


def test_many_jobs_open_a_new_store_at_the_same_moment(tmp_path):
    """Jobs of one study start together on a store nobody created yet (the CI failure: 'database is locked')."""
    for attempt in range(3):
        path = tmp_path / f"fresh{attempt}.sqlite"
        run_together(_opener, [(path, index, 5) for index in range(8)])
        with ResponseStore(path) as store:
            assert len(store) == 40


def test_failures_are_kept_apart_from_answers(tmp_path):
    with ResponseStore(tmp_path / "s.sqlite") as store:
        store.record_failure(response(1).request, "HTTP 400", 1)
        assert store.get(response(1).key) is None
        assert store.failures()[0]["error"] == "HTTP 400"
