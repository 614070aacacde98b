"""The SLURM profile on a real one-node cluster (slurm-wlm + munge), not only a dry run."""

import shutil

import pytest

from replisuite.cluster import LocalSlurm, memory_report
from replisuite.workflow import listed_jobs
from tests.conftest import snakemake
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
