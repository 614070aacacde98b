"""Run the real workflow in a temporary copy of the repository on a tiny hermetic config."""

import json
import os
import shutil

import polars as pl
import pytest
import yaml

from tests.conftest import REPO, copy_repo, rerun_plan, run, snakemake

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
    assert "run" not in manifest and 'run {"started": ' in (work / "logs/data/write_manifest.log").read_text()
    assert yaml.safe_load((work / "results/config_used.yaml").read_text())["seed"] == 1
    assert (work / "logs/data/summarise_sources.benchmark.tsv").is_file()

    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    assert "Nothing to be done" in again.stdout + again.stderr

    edited = outputs_of(work, entries)[0]
    edited.write_bytes(edited.read_bytes() + b"\n")   # a raw file changed after its fetch
    refused = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", check=False)
    assert refused.returncode != 0
    assert f"{edited.relative_to(work)}: its SHA-256 is" in refused.stdout + refused.stderr


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
    # nothing written: results/ holds only the committed record of the results' checksums
    assert not (work / "data").exists()
    assert {p.name for p in (work / "results").rglob("*")} <= {"CHECKSUMS.sha256", "CHECKSUMS.rounded.sha256"}


def test_wrong_hash_fails_names_both_hashes_and_leaves_nothing(workdir):
    work, env, entries = workdir
    sources = yaml.safe_load((work / "config/sources.yaml").read_text())
    good = sources["sources"][1]["sha256"]
    sources["sources"][1]["sha256"] = "f" * 64
    (work / "config/sources.yaml").write_text(yaml.safe_dump(sources))
    done = snakemake(work, env, "--cores", "1", "--keep-going", check=False)
    assert done.returncode != 0
    log = (work / "logs/sources/fetch_source" / entries[1]["name"]).rglob("*.log")
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
    assert not outputs_of(work, entries)[1].exists(), done.stdout[-3000:] + done.stderr[-3000:]


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


def test_a_failed_rerun_withdraws_the_manifest_instead_of_leaving_it_describing_other_files(workdir):
    work, env, entries = workdir
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    assert (work / "results/data/manifest.json").is_file()
    sources = yaml.safe_load((work / "config/sources.yaml").read_text())
    sources["sources"][1]["sha256"] = "f" * 64      # a new declaration the mirror's file does not match
    (work / "config/sources.yaml").write_text(yaml.safe_dump(sources))
    failed = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", check=False)
    assert failed.returncode != 0 and "f" * 64 in failed.stdout + failed.stderr + "".join(
        p.read_text() for p in (work / "logs/sources/fetch_source").rglob("*.log"))
    assert not outputs_of(work, entries)[1].exists(), failed.stdout[-3000:] + failed.stderr[-3000:]
    assert not (work / "results/data/manifest.json").exists()   # nothing claims the study is complete
    sources["sources"][1]["sha256"] = entries[1]["sha256"]
    (work / "config/sources.yaml").write_text(yaml.safe_dump(sources))
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    assert (work / "results/data/manifest.json").is_file()


def test_lint_is_clean(workdir):
    work, env, _ = workdir
    done = snakemake(work, env, "--lint")
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr
    # the test config leaves most studies out, and the Snakefile includes a study's rules only when
    # its section is there: lint the full configuration's rules too (lint reads no data)
    for name in ("config/config.yaml", "config/sources.yaml"):
        shutil.copy2(REPO / name, work / name)
    done = snakemake(work, env, "--lint", check=False)
    assert "Congratulations, your workflow is in a good condition!" in done.stdout + done.stderr, done.stdout[-3000:]


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


def _dry_run_resources(stdout):
    resources = {}
    for block in stdout.split("\n\n"):
        lines = block.splitlines()
        rule = next((line for line in lines if line.startswith(("rule ", "localrule "))), None)
        if rule:
            resources.setdefault(rule.split()[1].rstrip(":"), []).append(
                next((line for line in lines if "resources:" in line), ""))
    return resources


def test_slurm_profile_dry_run_requests_per_rule_resources(workdir):
    work, env, entries = workdir
    done = snakemake(work, env, "--profile", "workflow/profiles/slurm", "--dry-run")
    resources = _dry_run_resources(done.stdout)
    assert len(resources["fetch_source"]) == len(entries)
    for line in resources["fetch_source"]:
        assert "mem_mb=1000" in line and "runtime=20" in line
    assert "mem_mb=1000" in resources["write_manifest"][0] and "runtime=10" in resources["write_manifest"][0]
    # rule-declared values beat the profile's defaults (attempt 1 of by_attempt(200))
    assert "mem_mb=200," in resources["dump_config"][0]
    # no cpus_per_task anywhere: the executor then requests each rule's threads
    assert not any("cpus_per_task" in line for lines in resources.values() for line in lines)
    override = snakemake(
        work, env, "--profile", "workflow/profiles/slurm", "--dry-run", "--set-resources", "fetch_source:mem_mb=4321"
    )
    assert "mem_mb=4321" in override.stdout


def test_the_slurm_executor_requests_the_threads_of_each_rule_as_cpus():
    import yaml
    from snakemake_executor_plugin_slurm_jobstep import get_cpu_setting

    profile = yaml.safe_load((REPO / "workflow/profiles/slurm/config.yaml").read_text())

    class Resources(dict):
        def __getattr__(self, name):
            return self[name]

    defaults = Resources({key: value for key, value in profile["default-resources"].items()})
    two_threads = type("Job", (), {"threads": 2, "resources": defaults})()
    assert get_cpu_setting(two_threads, False) == "--cpus-per-task=2"
    # a default cpus_per_task (as the profile had) would override the threads: the failure this guards
    one = type("Job", (), {"threads": 2, "resources": Resources({**defaults, "cpus_per_task": 1})})()
    assert get_cpu_setting(one, False) == "--cpus-per-task=1"


def test_memory_and_runtime_grow_with_the_attempt_and_llm_jobs_take_the_site_resources(tmp_path):
    from replisuite.workflow import by_attempt

    assert [by_attempt(3000)(None, attempt) for attempt in (1, 2, 3)] == [3000, 6000, 9000]

    def gpu_site(work):      # the full default config, with one entry for the model jobs
        path = work / "config/config.yaml"
        config = yaml.safe_load(path.read_text())
        config["llm"]["cluster_resources"] = {"slurm_partition": "gpu", "gpu": 1}
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    work = tmp_path / "repo"
    env = copy_repo(work, tmp_path / "no-mirror", gpu_site)
    done = snakemake(work, env, "--profile", "workflow/profiles/slurm", "--dry-run")
    resources = _dry_run_resources(done.stdout)
    on_gpu = {rule for rule, lines in resources.items() if all("slurm_partition=gpu, gpu=1" in line for line in lines)}
    assert {"judge_sessions", "code_care_excerpts", "administer_psaich", "ask_stigma_questions"} <= on_gpu
    assert not any("gpu" in line for rule in ("write_manifest", "fetch_source", "trpm4_gam") for line in resources[rule])
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    path = work / "config/config.yaml"
    config["llm"]["cluster_resources"] = {"mem_mb": 99}
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    refused = snakemake(work, env, "--dry-run", "--cores", "1", check=False)
    assert refused.returncode != 0 and "cluster_resources" in refused.stdout + refused.stderr
