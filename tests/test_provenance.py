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
