import hashlib
import json
import subprocess

from replisuite import provenance
from replisuite.provenance import build_manifest, git_state, package_versions, write_manifest


def git(cwd, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=cwd, check=True, capture_output=True
    )


def test_git_state_commit_and_dirty_flag(tmp_path):
    assert git_state(tmp_path) == {"commit": None, "dirty": None}
    git(tmp_path, "init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git(tmp_path, "add", "a.txt")
    git(tmp_path, "commit", "-qm", "one")
    state = git_state(tmp_path)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    (tmp_path / "a.txt").write_text("2")
    assert git_state(tmp_path)["dirty"] is True


def test_package_versions_cover_the_declared_dependencies():
    versions = package_versions()
    for name in ("snakemake", "polars", "scanpy", "pygam", "dvc", "replisuite"):
        assert versions[name], name
    import polars

    assert versions["polars"] == polars.__version__


def test_manifest_lists_hashes_config_seed_software_and_the_run_times_apart(tmp_path, monkeypatch):
    monkeypatch.setenv(provenance.RUN_STARTED_ENV, "2026-01-01T00:00:00+00:00")
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    out = tmp_path / "out.csv"
    out.write_text("b\n2\n")
    path = tmp_path / "results" / "s" / "manifest.json"
    write_manifest(
        path, study="s", inputs=[src], outputs=[out], config={"s": {"k": 1}}, seed=7,
        llm=[{"entry": "m", "backend": "local"}], root=tmp_path,
    )
    manifest = json.loads(path.read_text())
    assert manifest["study"] == "s" and manifest["seed"] == 7
    assert manifest["config"] == {"s": {"k": 1}}
    assert manifest["inputs"][0]["sha256"] == hashlib.sha256(b"a\n1\n").hexdigest()
    assert manifest["outputs"][0]["bytes"] == 4
    assert "run" not in manifest and "modified" not in manifest["outputs"][0]   # volatile: see run_times
    times = provenance.run_times()
    assert times["started"] == "2026-01-01T00:00:00+00:00" and times["finished"] >= times["started"]
    assert manifest["software"]["packages"]["polars"]
    assert manifest["git"] == {"commit": None, "dirty": None}
    assert manifest["llm"] == [{"entry": "m", "backend": "local"}]


def test_manifest_config_is_json_safe():
    manifest = build_manifest(study="s", inputs=[], config={"p": (1, 2)}, seed=None)
    assert manifest["config"] == {"p": [1, 2]}


class _Model:
    def __init__(self, name, new_calls):
        self.record = {"entry": name, "backend": "local", "model": "x", "model_versions": ["v1"], "requests": 10,
                       "unique": 8, "failures": 0, "cache_hits": 8 - new_calls, "new_calls": new_calls, "retries": 0,
                       "probe_calls": 0}

    def provenance(self):
        return dict(self.record)


def test_llm_provenance_file_is_the_same_whatever_the_store_held_and_the_log_says_what_was_sent(tmp_path, caplog):
    caplog.set_level("INFO", logger="replisuite")
    cold, warm = tmp_path / "cold.json", tmp_path / "warm.json"
    provenance.write_llm_provenance(cold, [_Model("m", new_calls=8)])
    provenance.write_llm_provenance(warm, [_Model("m", new_calls=0)])
    assert cold.read_bytes() == warm.read_bytes()
    assert json.loads(cold.read_text())[0]["unique"] == 8 and "new_calls" not in cold.read_text()
    logged = [json.loads(r.getMessage().split(": ", 1)[1]) for r in caplog.records]
    assert [(entry["new_calls"], entry["cache_hits"]) for entry in logged] == [(8, 0), (0, 8)]
    merged = provenance.merge_provenance([*json.loads(cold.read_text()), *json.loads(warm.read_text())])
    assert merged[0]["requests"] == 20 and merged[0]["jobs"] == 2 and "new_calls" not in merged[0]
