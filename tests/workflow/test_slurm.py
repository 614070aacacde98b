"""The SLURM profile on a real one-node cluster (slurm-wlm + munge), not only a dry run."""

import shutil

import pytest

from replisuite.cluster import LocalSlurm, memory_report
from replisuite.workflow import listed_jobs
from tests.conftest import logged_llm_counts, real_data_copy, small_stigma, snakemake
from tests.workflow.test_snakemake import outputs_of

pytestmark = [
    pytest.mark.workflow, pytest.mark.slurm,
    pytest.mark.skipif(shutil.which("sbatch") is None, reason="no sbatch on PATH: install slurm-wlm and munge to run it"),
]
# A site without accounting storage (no sacct), as this one-node cluster
SITE = ["--slurm-status-command", "squeue", "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "2"]


def test_jobs_run_through_slurm_and_equal_a_local_run(workdir, tmp_path):
    work, env, entries = workdir
    with LocalSlurm(tmp_path / "cluster") as slurm:
        done = snakemake(work, {**env, "SLURM_CONF": str(slurm.conf)}, "--profile", "workflow/profiles/slurm", *SITE)
        log = done.stdout + done.stderr
        assert "Job " in log and "has been submitted with SLURM jobid" in log
        assert slurm.run(["squeue", "--noheader"]).stdout.strip() == ""  # nothing left queued
    slurm_outputs = {path: path.read_bytes() for path in outputs_of(work, entries)}
    table = (work / "results/data/tables/sources.csv").read_bytes()
    jobs = [job for job in listed_jobs(log) if job.rule != "all"]
    report = memory_report(jobs, work)
    fetch = report.filter(report["rule"] == "fetch_source").row(0, named=True)
    assert fetch["jobs"] == len(entries) and fetch["requested_mb"] == 1000 and 0 < fetch["used_mb"] < 1000

    for folder in ("results", "data", ".snakemake"):
        shutil.rmtree(work / folder, ignore_errors=True)
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default")
    assert {path: path.read_bytes() for path in outputs_of(work, entries)} == slurm_outputs
    assert (work / "results/data/tables/sources.csv").read_bytes() == table


def test_an_llm_study_shares_one_store_across_slurm_jobs_and_a_rerun_sends_nothing(tmp_path_factory):
    """Stigma's question and interjection jobs, each its own SLURM job, write one study's response
    store at once (a shard each); a rerun of those jobs sends no request."""
    from replisuite.llm import ResponseStore

    work, env = real_data_copy(tmp_path_factory, "stigma-slurm", small_stigma)
    target = "results/stigma/manifest.json"
    writing = ["ask_stigma_questions", "grade_interjections"]
    with LocalSlurm(work.parent / "cluster") as slurm:
        env = {**env, "SLURM_CONF": str(slurm.conf)}
        # the jobs that write the store and what they need (--until): the summaries are local work
        done = snakemake(work, env, "--profile", "workflow/profiles/slurm", *SITE, target, "--until", *writing)
        writers = [job for job in listed_jobs(done.stdout + done.stderr)
                   if job.rule in ("ask_stigma_questions", "grade_interjections") and "smollm2-135m" in job.wildcards.values()]
        first = logged_llm_counts(work, "stigma")["smollm2-135m"]
        with ResponseStore(work / "data/llm/stigma") as store:
            shards, answers = len(store.shards()), len(store)
        assert len(writers) >= 2 and shards >= len(writers)  # one shard per job that wrote; nobody shares a file
        assert first["new_calls"] > 0 and answers >= first["unique"] and first["failures"] == 0

    # the store the SLURM jobs wrote, read whole by a rerun of the model jobs alone (here local,
    # only the jobs that ask: --until) that finds every answer in it
    shutil.rmtree(work / "logs")
    snakemake(work, env, target, "--cores", "2", "--profile", "workflow/profiles/default", "--forcerun", *writing,
              "--until", *writing)
    again = logged_llm_counts(work, "stigma")["smollm2-135m"]
    assert again["new_calls"] == 0 and again["cache_hits"] == again["requests"] == first["requests"]
    with ResponseStore(work / "data/llm/stigma") as store:
        assert len(store.shards()) == shards and len(store) == answers  # nothing new written
