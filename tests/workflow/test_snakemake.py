"""Run the real workflow in a temporary copy of the repository on a tiny hermetic config."""

import json
import os

import polars as pl
import pytest
import yaml

from tests.conftest import rerun_plan, run, snakemake

pytestmark = pytest.mark.workflow


def outputs_of(work, entries):
    return [work / "data/raw" / e["name"] / e["url"].rsplit("/", 1)[1].replace("%3D", "=").replace("%26", "&").replace("%20", " ") for e in entries]


def test_run_builds_data_manifest_and_config_then_nothing_on_rerun(workdir):
    work, env, entries = workdir
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    for path in outputs_of(work, entries):
        assert path.is_file(), path
    table = pl.read_csv(work / "results/data/tables/sources.csv")
    assert table["name"].to_list() == [e["name"] for e in entries]
    assert table["verified"].all()
    manifest = json.loads((work / "results/data/manifest.json").read_text())
    head = run(["git", "rev-parse", "HEAD"], work, env).stdout.strip()
    assert manifest["git"] == {"commit": head, "dirty": False}
    assert manifest["config"] == {"seed": 1, "data": yaml.safe_load((work / "config/config.yaml").read_text())["data"]}
    assert {i["sha256"] for i in manifest["inputs"]} == {e["sha256"] for e in entries}
    assert manifest["outputs"][0]["path"] == "results/data/tables/sources.csv"
    assert manifest["run"]["started"] <= manifest["run"]["finished"]
    assert yaml.safe_load((work / "results/config_used.yaml").read_text())["seed"] == 1
    assert (work / "logs/data/summarise_sources.benchmark.tsv").is_file()

    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_interrupted_run_resumes_without_redoing_finished_work(workdir):
    work, env, entries = workdir
    first = outputs_of(work, entries)[0]
    snakemake(work, env, "--cores", "1", str(first.relative_to(work)))
    stamp = first.stat().st_mtime_ns
    done = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    assert first.stat().st_mtime_ns == stamp
    log = done.stdout + done.stderr
    assert f"source={entries[0]['name']}," not in log
    assert f"source={entries[1]['name']}," in log


def test_changed_source_hash_reruns_only_that_fetch(workdir):
    work, env, entries = workdir
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    dry = snakemake(work, env, "-n", "--profile", "workflow/profiles/default", "--config", "seed=2")
    assert "fetch_source" not in dry.stdout


def test_one_config_key_reruns_only_the_jobs_that_read_it(workdir):
    work, env, _ = workdir
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    by_params, scheduled = rerun_plan(work, env, [], {"seed": 2})
    assert by_params == {"write_manifest": 1, "dump_config": 1}  # both record the configuration
    assert "fetch_source" not in scheduled and "summarise_sources" not in scheduled


def test_unknown_config_key_fails_before_any_job(workdir):
    work, env, _ = workdir
    done = snakemake(work, env, "--cores", "1", "--config", "colour=red", check=False)
    assert done.returncode != 0
    assert "unknown key(s) 'colour'" in done.stderr + done.stdout
    assert not (work / "data").exists() and not (work / "results").exists()


def test_wrong_hash_fails_names_both_hashes_and_leaves_nothing(workdir):
    work, env, entries = workdir
    sources = yaml.safe_load((work / "config/sources.yaml").read_text())
    good = sources["sources"][1]["sha256"]
    sources["sources"][1]["sha256"] = "f" * 64
    (work / "config/sources.yaml").write_text(yaml.safe_dump(sources))
    done = snakemake(work, env, "--cores", "1", "--keep-going", check=False)
    assert done.returncode != 0
    log = (work / "logs/data/fetch_source" / entries[1]["name"]).rglob("*.log")
    text = "".join(p.read_text() for p in log)
    assert "f" * 64 in text and good in text and entries[1]["url"] in text
    target = outputs_of(work, entries)[1]
    assert not target.exists() and not list(target.parent.glob("*part*"))
    assert not (work / "results/data/manifest.json").exists()


def test_mirror_without_the_file_fails_clearly(workdir):
    work, env, entries = workdir
    mirror = env["REPLISUITE_MIRROR"]
    for path in list(os.walk(mirror)):
        for name in path[2]:
            if name == "table.csv":
                os.remove(os.path.join(path[0], name))
    done = snakemake(work, env, "--cores", "1", "--keep-going", check=False)
    assert done.returncode != 0
    text = "".join(p.read_text() for p in (work / "logs").rglob("*.log"))
    assert "not in the mirror" in text and entries[1]["sha256"] in text
    assert not outputs_of(work, entries)[1].exists()


def test_unreachable_url_without_mirror_fails_clearly(workdir):
    work, env, entries = workdir
    sources = yaml.safe_load((work / "config/sources.yaml").read_text())
    sources["sources"] = [{**sources["sources"][0], "url": "http://127.0.0.1:9/x/file.csv"}]
    (work / "config/sources.yaml").write_text(yaml.safe_dump(sources))
    env = {k: v for k, v in env.items() if k != "REPLISUITE_MIRROR"}
    done = snakemake(work, env, "--cores", "1", check=False)
    assert done.returncode != 0
    text = "".join(p.read_text() for p in (work / "logs").rglob("*.log"))
    assert "cannot download" in text and "REPLISUITE_MIRROR" in text
    assert not (work / "data/raw/src0/file.csv").exists()


def test_lint_is_clean(workdir):
    work, env, _ = workdir
    done = snakemake(work, env, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr


def test_report_is_self_contained_with_captions_and_config(workdir):
    work, env, _ = workdir
    snakemake(work, env, "--cores", "2")
    snakemake(work, env, "--report", "results/report.html")
    html = (work / "results/report.html").read_text()
    for text in ("Inventory of the external inputs", "Provenance manifest of study", "The complete configuration",
                 "replisuite reproduces published studies"):
        assert text in html, text
    assert "config_used.yaml" in html and "sources.csv" in html
    assert 'src="http' not in html and "src='http" not in html


def test_slurm_profile_dry_run_requests_per_rule_resources(workdir):
    work, env, entries = workdir
    done = snakemake(work, env, "--profile", "workflow/profiles/slurm", "--dry-run")
    jobs = [block for block in done.stdout.split("\n\n") if "\nrule " in "\n" + block or block.startswith("rule ")]
    resources = {}
    for block in jobs:
        rule = next(line for line in block.splitlines() if line.startswith("rule ")).split()[1].rstrip(":")
        line = next((line for line in block.splitlines() if "resources:" in line), "")
        resources.setdefault(rule, []).append(line)
    assert len(resources["fetch_source"]) == len(entries)
    for line in resources["fetch_source"]:
        assert "mem_mb=1000" in line and "runtime=20" in line and "cpus_per_task=1" in line
    assert "mem_mb=1000" in resources["write_manifest"][0] and "runtime=10" in resources["write_manifest"][0]
    # rule-declared values beat the profile's defaults; what neither sets comes from the profile
    assert "mem_mb=200," in resources["dump_config"][0] and "cpus_per_task=1" in resources["dump_config"][0]
    override = snakemake(
        work, env, "--profile", "workflow/profiles/slurm", "--dry-run", "--set-resources", "fetch_source:mem_mb=4321"
    )
    assert "mem_mb=4321" in override.stdout
