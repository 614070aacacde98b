"""DVC wraps the Snakemake targets: reproducible, incremental, shareable through a remote."""

import hashlib
import json
import re
import sys

import pytest

from tests.conftest import BIN, REPO, dvc, run, snakemake

pytestmark = pytest.mark.workflow


def digests(root):
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for folder in ("data/raw", "results/data")
        for p in sorted((root / folder).rglob("*"))
        if p.is_file()
    }


def test_repro_twice_is_a_noop_and_config_edit_is_reported(workdir):
    # The hermetic test config has only the data stage's section; stages are named explicitly.
    work, env, _ = workdir
    dvc(work, env, "repro", "data")
    before = {p: p.stat().st_mtime_ns for p in (work / "results/data").rglob("*") if p.is_file()}
    second = dvc(work, env, "repro", "data")
    assert "didn't change, skipping" in second.stdout
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert "up to date" in dvc(work, env, "status", "data").stdout

    config = (work / "config/config.yaml").read_text().replace("seed: 1", "seed: 2")
    (work / "config/config.yaml").write_text(config)
    status = dvc(work, env, "status", "data").stdout
    assert "data:" in status and "seed" in status


def test_push_then_pull_into_a_fresh_clone_restores_outputs_byte_for_byte(workdir, tmp_path):
    work, env, _ = workdir
    dvc(work, env, "repro", "data")
    dvc(work, env, "remote", "add", "-d", "local", str(tmp_path / "remote"))
    dvc(work, env, "push", "data")
    run(["git", "add", "-A"], work, env)
    run(["git", "commit", "-qm", "results"], work, env)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(work), str(clone)], tmp_path, env)
    dvc(clone, env, "pull", "data")
    assert digests(clone) == digests(work) and digests(clone)

    # Restored files carry pull-time mtimes and the clone has no .snakemake metadata, so
    # Snakemake would recompute them; `snakemake --touch` (what `make pull` runs after
    # `dvc pull`) marks them current without changing a byte, and DVC still agrees.
    dry = snakemake(clone, env, "-n", "--profile", "workflow/profiles/default", "results/data/manifest.json")
    assert "Nothing to be done" not in dry.stdout + dry.stderr
    snakemake(clone, env, "--profile", "workflow/profiles/default", "--touch", "results/data/manifest.json")
    dry = snakemake(clone, env, "-n", "--profile", "workflow/profiles/default", "results/data/manifest.json")
    assert "Nothing to be done" in dry.stdout + dry.stderr
    assert digests(clone) == digests(work)
    assert "didn't change, skipping" in dvc(clone, env, "repro", "data").stdout

    # A reviewer's own output in the way (README): dvc pull keeps it and stops; --force restores
    # the published bytes.
    table = clone / "results/data/tables/sources.csv"
    published = table.read_bytes()
    table.write_text("my own run\n")
    refused = dvc(clone, env, "pull", "data", check=False)
    assert refused.returncode != 0 and table.read_text() == "my own run\n"
    dvc(clone, env, "pull", "--force", "data")
    assert table.read_bytes() == published and digests(clone) == digests(work)


def test_make_pull_without_a_remote_says_where_results_come_from(tmp_path):
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(REPO), str(clone)], tmp_path)
    # this environment (INSTALLED empty: nothing to install)
    done = run(["make", "--no-print-directory", "pull", f"VENV={BIN.parent}", "INSTALLED="], clone, check=False)
    assert done.returncode != 0 and "no DVC remote" in done.stderr and "dvc remote add -d lab" in done.stderr


def test_a_clean_clone_with_the_record_and_no_remote_gets_per_study_verdicts(workdir, tmp_path):
    work, env, _ = workdir
    target = ("--profile", "workflow/profiles/default", "results/data/manifest.json")
    snakemake(work, env, *target)
    run([sys.executable, "-m", "replisuite.reproduction", "record"], work, env)
    listed = (work / "results/CHECKSUMS.sha256").read_text()
    assert "results/data/" in listed and "manifest.json" not in listed
    run(["git", "add", "-f", "results/CHECKSUMS.sha256", "results/CHECKSUMS.rounded.sha256"], work, env)
    run(["git", "commit", "-qm", "record"], work, env)

    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(work), str(clone)], tmp_path, env)
    assert not (clone / ".dvc/config").exists() or "remote" not in (clone / ".dvc/config").read_text()
    snakemake(clone, env, *target)
    # the comparison `make reproduce` gets from the workflow's last job (compare_with_record runs
    # compare_with_record + write_comparison, as the command does) and prints with `show`
    done = run([sys.executable, "-m", "replisuite.reproduction", "compare"], clone, env)
    assert re.search(r"^data\s+identical\s", done.stdout, re.M), done.stdout
    # an identical rerun leaves the manifest unchanged too (no times or stamps in it), but for the
    # commit: the record was committed after the first run
    manifests = [json.loads((root / "results/data/manifest.json").read_text()) for root in (work, clone)]
    assert manifests[0].pop("git") != manifests[1].pop("git") and manifests[0] == manifests[1]

    summary = next((clone / "results/data").rglob("*.csv"))
    summary.write_text(summary.read_text().replace(",", ",x", 1))    # one header changed
    done = run([sys.executable, "-m", "replisuite.reproduction", "compare"], clone, env)
    assert re.search(r"^data\s+differs\s", done.stdout, re.M)
    assert f"differs: {summary.relative_to(clone)}" in done.stdout

    recipe = run(["make", "-n", "reproduce"], REPO, env).stdout
    assert "snakemake --cores" in recipe and "-m replisuite.reproduction show" in recipe
    assert "dvc commit" not in recipe
