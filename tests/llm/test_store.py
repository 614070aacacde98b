import json
import multiprocessing
import os
import sqlite3
import stat

import pytest

from replisuite.llm import Message, Request, Response, ResponseStore, StoreError


def response(i, text="t"):
    request = Request(kind="chat", backend="replay", model="m", messages=(Message("user", f"q{i}"),))
    return Response(request, f"{text}{i}", None, "v1", "fp", {"total_tokens": 3}, 0.01, "2026-01-01T00:00:00+00:00")


def test_put_get_and_first_answer_wins(tmp_path):
    with ResponseStore(tmp_path / "s") as store:
        assert store.put(response(1)) is True
        assert store.put(response(1, text="other")) is False
        got = store.get(response(1).key)
        assert got.text == "t1" and got.model_version == "v1" and got.usage == {"total_tokens": 3}
        assert store.get("nope") is None
        assert len(store) == 1


def test_each_writer_appends_to_a_shard_of_its_own_and_readers_see_the_union(tmp_path):
    path = tmp_path / "study"
    with ResponseStore(path) as first, ResponseStore(path) as second:
        first.put(response(1))
        second.put(response(2))
        assert len(list(path.glob("*.shard"))) == 2
        assert second.get(response(1).key).text == "t1"  # written by the other process after this one opened
    with ResponseStore(path) as reader:
        assert len(reader) == 2 and not list(path.glob("*.tmp"))


def test_the_same_request_answered_twice_reads_as_the_first_answer_everywhere(tmp_path):
    path = tmp_path / "study"
    late = Response(response(1).request, "late", None, "v1", "fp", {}, 0.01, "2026-01-02T00:00:00+00:00")
    with ResponseStore(path) as a, ResponseStore(path) as b:
        b.put(late)
        a.put(response(1))  # a had not seen b's answer: both lines are kept
    with ResponseStore(path) as reader:
        assert reader.get(response(1).key).text == "t1" and len(reader) == 1


def test_a_line_cut_short_by_a_kill_is_ignored_and_a_corrupt_line_is_named(tmp_path):
    path = tmp_path / "study"
    with ResponseStore(path) as store:
        store.put_many([response(i) for i in range(3)])
        shard = store.shards()[0]
    with open(shard, "ab") as handle:
        handle.write(f"response\t{response(9).key}\t2026\t".encode() + json.dumps(response(9).to_dict()).encode()[:40])
    with ResponseStore(path) as store:
        assert len(store) == 3 and store.get(response(9).key) is None
    shard.write_bytes(shard.read_bytes().replace(b"response\t", b"nonsense\t", 1))
    with pytest.raises(StoreError, match=r"\.shard \(byte 0\): not a store record"):
        ResponseStore(path)
    shard.write_bytes(shard.read_bytes().replace(b"nonsense\t", b"response\t", 1).replace(b'"text": "t0"', b'"text": t0'))
    with ResponseStore(path) as store, pytest.raises(StoreError, match="is not a response record"):
        store.get(response(0).key)  # a record is parsed when it is asked for


def test_shards_get_the_mode_the_umask_gives(tmp_path):
    previous = os.umask(0o027)
    try:
        with ResponseStore(tmp_path / "study") as store:
            store.put(response(1))
            assert stat.S_IMODE(store.shards()[0].stat().st_mode) == 0o640
    finally:
        os.umask(previous)


def test_compact_merges_the_shards_and_keeps_every_answer_failure_and_vector(tmp_path):
    path = tmp_path / "study"
    for i in range(3):
        with ResponseStore(path) as store:
            store.put(response(i))
            store.put_embeddings("e", [(f"k{i}", 2, bytes([i, i]))])
    with ResponseStore(path) as store:
        store.record_failure(response(7).request, "HTTP 500", 6)
        assert len(store.shards()) == 4
        assert store.compact() == 4 and len(store.shards()) == 1
    with ResponseStore(path) as store:
        assert len(store) == 3 and store.failures()[0]["error"] == "HTTP 500"
        assert store.get_embeddings(["k2"]) == {"k2": bytes([2, 2])}


def test_an_sqlite_store_of_an_earlier_version_is_imported(tmp_path):
    legacy = tmp_path / "old"
    db = sqlite3.connect(legacy)
    db.execute("CREATE TABLE responses (key TEXT, backend TEXT, model TEXT, kind TEXT, request TEXT, text TEXT, parsed TEXT, "
               "model_version TEXT, fingerprint TEXT, usage TEXT, latency_s REAL, created_at TEXT, origin TEXT)")
    old = response(4)
    db.execute("INSERT INTO responses VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
               (old.key, "replay", "m", "chat", json.dumps(old.request.to_dict()), "t4", "null", "v1", "fp", "{}", 0.1,
                old.created_at, "live"))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="SQLite store of an earlier version"):
        ResponseStore(legacy)
    with ResponseStore(tmp_path / "study") as store:
        assert store.import_jsonl(legacy) == 1 and store.get(old.key).text == "t4"


def test_export_then_import_round_trip(tmp_path):
    with ResponseStore(tmp_path / "a") as a:
        a.put_many([response(i) for i in range(5)])
        assert a.export_jsonl(tmp_path / "out.jsonl") == 5
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert len(lines) == 5 and json.loads(lines[0])["key"]
    with ResponseStore(tmp_path / "b") as b:
        assert b.import_jsonl(tmp_path / "out.jsonl") == 5
        assert b.import_jsonl(tmp_path / "out.jsonl") == 0
        assert b.get(response(3).key).text == "t3"


def test_import_names_the_bad_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(response(0).to_dict()) + "\n{not json\n")
    with ResponseStore(tmp_path / "s") as store, pytest.raises(StoreError, match="bad.jsonl:2"):
        store.import_jsonl(path)


def test_a_file_where_the_store_folder_should_be_gives_a_clear_error(tmp_path):
    path = tmp_path / "broken"
    path.write_bytes(b"this is not a store" * 200)
    with pytest.raises(StoreError, match="broken: not a usable response store"):
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


def test_four_processes_write_at_once(tmp_path):
    path = tmp_path / "shared"
    run_together(_writer, [(path, s, 300) for s in (0, 200, 400, 600)])
    with ResponseStore(path) as store:
        assert len(store) == 900
        assert store.get(response(250).key).text == "t250"
        assert len(store.shards()) == 4


def _opener(path, index, rounds, barrier):
    barrier.wait()
    for round_ in range(rounds):
        with ResponseStore(path) as store:
            store.put(response(index * 100 + round_))


def test_many_jobs_open_a_new_store_at_the_same_moment(tmp_path):
    """Jobs of one study start together on a store nobody created yet (SQLite's failure: 'database is locked')."""
    for attempt in range(3):
        path = tmp_path / f"fresh{attempt}"
        run_together(_opener, [(path, index, 5) for index in range(8)])
        with ResponseStore(path) as store:
            assert len(store) == 40


def test_failures_are_kept_apart_from_answers(tmp_path):
    with ResponseStore(tmp_path / "s") as store:
        store.record_failure(response(1).request, "HTTP 400", 1)
        assert store.get(response(1).key) is None
        assert store.failures()[0]["error"] == "HTTP 400"
