import hashlib
import os
import threading
from functools import partial
from http.server import HTTPServer, SimpleHTTPRequestHandler

import pytest
import yaml

from replisuite import data
from replisuite.data import Source, SourceError, fetch_all, fetch_source, load_sources, mirror_path


def source_of(entry) -> Source:
    return Source(**entry)


def test_mirror_path_decodes_percent_escapes(tmp_path):
    url = "https://raw.example.org/o/r/c/results/model%3Dgpt%26steel-man-prompt%3DTrue/x.jsonl"
    assert mirror_path(url, tmp_path) == tmp_path / "raw.example.org/o/r/c/results/model=gpt&steel-man-prompt=True/x.jsonl"


def test_mirror_path_refuses_to_leave_the_mirror(tmp_path):
    with pytest.raises(SourceError, match="mirror"):
        mirror_path("https://h/a/%2E%2E/%2E%2E/etc/passwd", tmp_path)


def test_file_name_is_decoded():
    source = Source("s", "https://h/a/space%20name.txt", "0" * 64, "MIT", "c")
    assert source.file_name == "space name.txt"
    assert str(source.raw_path("raw")) == "raw/s/space name.txt"


def test_good_fetch_from_mirror_with_encoded_url(mirror, tmp_path):
    mirror_dir, entries = mirror
    for entry in entries:
        dest = tmp_path / "out" / entry["name"]
        fetch_source(source_of(entry), dest, mirror=mirror_dir)
        assert hashlib.sha256(dest.read_bytes()).hexdigest() == entry["sha256"]
    assert not list((tmp_path / "out").rglob("*.part"))


def test_mirror_comes_from_the_environment(mirror, tmp_path, monkeypatch):
    mirror_dir, entries = mirror
    monkeypatch.setenv("REPLISUITE_MIRROR", str(mirror_dir))
    dest = fetch_source(source_of(entries[0]), tmp_path / "x")
    assert dest.read_bytes() == b'{"a": 1}\n'


def test_hash_mismatch_names_source_url_and_both_hashes_and_leaves_nothing(mirror, tmp_path):
    mirror_dir, entries = mirror
    entry = {**entries[1], "sha256": "a" * 64}
    dest = tmp_path / "out" / "table.csv"
    with pytest.raises(SourceError) as caught:
        fetch_source(source_of(entry), dest, mirror=mirror_dir)
    message = str(caught.value)
    assert entry["name"] in message and entry["url"] in message
    assert "a" * 64 in message and entries[1]["sha256"] in message
    assert list(dest.parent.iterdir()) == []


def test_mismatch_does_not_clobber_an_existing_good_file(mirror, tmp_path):
    mirror_dir, entries = mirror
    dest = tmp_path / "table.csv"
    dest.write_bytes(b"previous")
    with pytest.raises(SourceError):
        fetch_source(source_of({**entries[1], "sha256": "b" * 64}), dest, mirror=mirror_dir)
    assert dest.read_bytes() == b"previous"


def test_missing_mirror_file_is_named(mirror, tmp_path):
    mirror_dir, entries = mirror
    entry = {**entries[1], "url": entries[1]["url"].replace("table.csv", "absent.csv")}
    dest = tmp_path / "absent.csv"
    with pytest.raises(SourceError, match="not in the mirror") as caught:
        fetch_source(source_of(entry), dest, mirror=mirror_dir)
    assert entry["url"] in str(caught.value) and entry["sha256"] in str(caught.value)
    assert not dest.exists() and list(tmp_path.glob(".*part")) == []


def test_interrupted_write_leaves_no_partial_file(mirror, tmp_path, monkeypatch):
    mirror_dir, entries = mirror
    calls = {"n": 0}
    real_copy = data._copy_hashing

    def copy_then_interrupt(stream, out):
        out.write(stream.read(3))
        calls["n"] += 1
        raise KeyboardInterrupt

    monkeypatch.setattr(data, "_copy_hashing", copy_then_interrupt)
    dest = tmp_path / "out" / "file.jsonl"
    with pytest.raises(KeyboardInterrupt):
        fetch_source(source_of(entries[0]), dest, mirror=mirror_dir)
    assert calls["n"] == 1
    assert list(dest.parent.iterdir()) == []
    monkeypatch.setattr(data, "_copy_hashing", real_copy)
    fetch_source(source_of(entries[0]), dest, mirror=mirror_dir)
    assert dest.exists()


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    (root / "d").mkdir(parents=True)
    (root / "d" / "a=b&c.txt").write_bytes(b"served\n")
    handler = partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_download_without_mirror(http_server, tmp_path, monkeypatch):
    monkeypatch.delenv("REPLISUITE_MIRROR", raising=False)
    source = Source("web", f"{http_server}/d/a%3Db%26c.txt", hashlib.sha256(b"served\n").hexdigest(), "MIT", "c")
    assert fetch_source(source, tmp_path / "w.txt").read_bytes() == b"served\n"


def test_fill_mirror_downloads_into_the_mirror_layout_once(http_server, tmp_path, monkeypatch):
    monkeypatch.setenv("REPLISUITE_MIRROR", str(tmp_path / "elsewhere"))  # fill_mirror always downloads
    source = Source("web", f"{http_server}/d/a%3Db%26c.txt", hashlib.sha256(b"served\n").hexdigest(), "MIT", "c")
    mirror = data.fill_mirror([source], tmp_path / "cache")
    local = mirror_path(source.url, mirror)
    assert local.read_bytes() == b"served\n"
    stamp = local.stat().st_mtime_ns
    data.fill_mirror([source], mirror)
    assert local.stat().st_mtime_ns == stamp
    assert fetch_source(source, tmp_path / "out.txt", mirror=mirror).read_bytes() == b"served\n"
    wrong = Source("web", source.url, "0" * 64, "MIT", "c")
    with pytest.raises(SourceError, match="SHA-256 mismatch"):
        data.fill_mirror([wrong], tmp_path / "other")
    assert not mirror_path(wrong.url, tmp_path / "other").exists()


def test_unreachable_url_without_mirror(tmp_path, monkeypatch):
    monkeypatch.delenv("REPLISUITE_MIRROR", raising=False)
    source = Source("gone", "http://127.0.0.1:9/nothing.csv", "c" * 64, "MIT", "c")
    with pytest.raises(SourceError, match="cannot download") as caught:
        fetch_source(source, tmp_path / "nothing.csv", timeout=2)
    assert "REPLISUITE_MIRROR" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_all_skips_verified_files(mirror, tmp_path):
    mirror_dir, entries = mirror
    sources = [source_of(e) for e in entries]
    first = fetch_all(sources, tmp_path / "raw", mirror=mirror_dir)
    stamps = [os.stat(p).st_mtime_ns for p in first]
    second = fetch_all(sources, tmp_path / "raw", mirror=mirror_dir)
    assert [os.stat(p).st_mtime_ns for p in second] == stamps


def test_load_sources_rejects_bad_entries(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text("sources:\n  - name: a\n    url: https://h/x\n    sha256: zz\n    licence: MIT\n    citation: c\n")
    with pytest.raises(SourceError, match="64 hex"):
        load_sources(path)
    path.write_text("sources:\n  - name: a\n    url: https://h/x\n    sha256: " + "1" * 64 + "\n    licence: MIT\n    citation: c\n")
    with pytest.raises(SourceError, match="quoted string"):
        load_sources(path)
    path.write_text("sources:\n  - name: a\n    url: https://h/x\n")
    with pytest.raises(SourceError, match="missing sha256, licence, citation"):
        load_sources(path)
    good = "    url: https://h/x\n    sha256: '" + "0" * 64 + "'\n    licence: MIT\n    citation: c\n"
    path.write_text("sources:\n  - name: a\n" + good + "  - name: a\n" + good)
    with pytest.raises(SourceError, match="duplicate"):
        load_sources(path)
    path.write_text("sources:\n  - name: a\n" + good + "    colour: red\n")
    with pytest.raises(SourceError, match="unknown field"):
        load_sources(path)


def test_citation_keys_are_expanded(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "citations:\n  k: >-\n    Author A.\n    Title. 2020.\nsources:\n  - name: a\n    url: https://h/x\n"
        "    sha256: '" + "0" * 64 + "'\n    licence: MIT\n    citation: k\n"
    )
    assert load_sources(path)["a"].citation == "Author A. Title. 2020."


def test_project_sources_file_is_complete():
    sources = load_sources("config/sources.yaml")
    listed = [s for s in sources.values() if s.on_demand]
    assert len(sources) == 63 + 9 + 369 and len(listed) == 369  # PsychEval's cases come from a checksum listing
    assert {s.name.split("_")[2] for s in listed} == {"bt", "cbt", "het", "integrative", "pdt", "pmt"}
    names = {s.study for s in sources.values()}
    assert names == {"stigma", "mi", "topics", "judge", "roleplay"}
    spaced = [s for s in sources.values() if "%20" in s.url]  # PsychEval prompt files with spaces in their names
    assert {s.file_name for s in spaced} == {"cultivating change talk.txt", "softening sustain talk.txt"}
    encoded = [s for s in sources.values() if "%3D" in s.url and "%26" in s.url]
    assert len(encoded) == 39


def test_every_declared_source_is_in_the_mirror_with_its_hash(published):
    """Every source `data.fetch: all` fetches; of the on-demand PsychEval cases, those the mirror holds."""
    mirror_dir = published
    for source in load_sources("config/sources.yaml").values():
        local = mirror_path(source.url, mirror_dir)
        if source.on_demand and not local.exists():
            continue
        assert local.is_file(), source.name
        assert data.sha256_file(local) == source.sha256, source.name


def test_a_checksum_listing_declares_on_demand_sources_and_bad_lines_are_named(tmp_path):
    (tmp_path / "files.tsv").write_text("path\tbytes\tsha256\n" f"data/a b/1.json\t12\t{'a' * 64}\n")
    path = tmp_path / "sources.yaml"
    listing = {"prefix": "pe", "url_base": "https://example.org/repo/", "files": "files.tsv", "licence": "CC BY",
               "citation": "x", "study": "roleplay"}
    path.write_text(yaml.safe_dump({"sources": [], "source_lists": [listing]}))
    (source,) = load_sources(path).values()
    assert (source.name, source.url, source.on_demand, source.bytes) == (
        "pe_data_a b_1", "https://example.org/repo/data/a%20b/1.json", True, 12)
    (tmp_path / "files.tsv").write_text("path\tbytes\tsha256\ndata/1.json\t12\tnothex\n")
    with pytest.raises(SourceError, match=r"files.tsv: line 2: expected path, bytes and a 64-hex sha256"):
        load_sources(path)
    path.write_text(yaml.safe_dump({"sources": [], "source_lists": [{**listing, "files": "missing.tsv"}]}))
    with pytest.raises(SourceError, match="does not exist"):
        load_sources(path)


def test_a_present_file_edited_after_its_fetch_is_refused_by_name_with_both_hashes(tmp_path, monkeypatch):
    body = b"a,b\n1,2\n"
    source = Source(name="s", url="https://example.org/x/t.csv", sha256=hashlib.sha256(body).hexdigest(),
                    licence="CC0", citation="c")
    path = source.raw_path(tmp_path / "raw")
    path.parent.mkdir(parents=True)
    path.write_bytes(body)
    notes = tmp_path / "verified"
    data.remember_hash(path, source.sha256, folder=notes)          # as fetch_source's job does
    # unchanged since its fetch: the noted hash is used, the file is not read again
    hashed = []
    monkeypatch.setattr(data, "sha256_file", lambda p: hashed.append(p) or "x")
    assert data.verify_present_sources([source], tmp_path / "raw", folder=notes) == [path]
    assert hashed == []
    monkeypatch.undo()
    # a new declaration for the unchanged file: the fetch reruns on it (its hash is a param), no error
    renewed = Source(name="s", url=source.url, sha256="1" * 64, licence="CC0", citation="c")
    assert data.verify_present_sources([renewed], tmp_path / "raw", folder=notes) == [path]
    # edited after the fetch (same size, new time): refused, naming the file and both hashes
    path.write_bytes(b"a,b\n1,3\n")
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1))
    with pytest.raises(SourceError) as error:
        data.verify_present_sources([source], tmp_path / "raw", folder=notes)
    message = str(error.value)
    assert str(path) in message and source.sha256 in message and hashlib.sha256(b"a,b\n1,3\n").hexdigest() in message
    # a good file without a note is hashed once and noted; a source not fetched yet is not an error
    path.write_bytes(body)
    assert data.verify_present_sources([source], tmp_path / "raw", folder=notes) == [path]
    absent = Source(name="t", url="https://example.org/x/u.csv", sha256="0" * 64, licence="CC0", citation="c")
    assert data.verify_present_sources([absent], tmp_path / "raw", folder=notes) == []
