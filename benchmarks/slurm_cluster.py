"""Run the workflow through a real one-node SLURM cluster and compare it with a local run.

    python benchmarks/slurm_cluster.py            # needs slurm-wlm + munge (apt-get), run as root

Brings up slurmctld + slurmd + munged (replisuite.cluster.LocalSlurm), runs the data study (one
fetch job per declared source) and the trpm4 study on its small test cohort (a GAM job per
group x patient x gene set) twice in fresh copies of this checkout: locally with
workflow/profiles/default, and through `--profile workflow/profiles/slurm`. The cluster has no
accounting storage, so the run adds `--slurm-status-command squeue --slurm-no-account`, as a
site without sacct must. Prints jobs, wall times, whether every table is byte-identical, and
per rule the memory requested vs the peak used (benchmark files); exits 1 if anything differs.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from replisuite.cluster import LocalSlurm, memory_report, missing_programs  # noqa: E402
from replisuite.workflow import listed_jobs  # noqa: E402
from tests.conftest import copy_repo, snakemake  # noqa: E402

TARGETS = ["results/data/manifest.json", "results/trpm4/manifest.json"]
SITE_FLAGS = ["--slurm-status-command", "squeue", "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "5"]


def small_config(work: Path) -> None:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config = {key: config[key] for key in ("seed", "data", "llm")}
    config["llm"]["models"] = {}
    config["trpm4"] = yaml.safe_load((REPO / ".test/trpm4.yaml").read_text())["trpm4"]
    (work / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def table_digests(work: Path) -> dict[str, str]:
    files = [p for p in (work / "results").rglob("*") if p.suffix in (".csv", ".parquet") and p.is_file()]
    return {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def timed_run(work: Path, env: dict[str, str], *args: str):
    start = time.monotonic()
    done = snakemake(work, env, *args, *TARGETS)
    return done, time.monotonic() - start


def main() -> int:
    missing = missing_programs()
    if missing:
        print(f"SKIPPED: {missing} not installed (apt-get install slurm-wlm munge)")
        return 0
    mirror = os.environ.get("REPLISUITE_MIRROR", str(REPO.parent / "shared/mirror"))
    with tempfile.TemporaryDirectory(prefix="replisuite-slurm-") as tmp:
        root = Path(tmp)
        local, cluster = root / "local", root / "slurm"
        env_local = copy_repo(local, mirror, small_config)
        _, local_seconds = timed_run(local, env_local, "--cores", "2", "--profile", "workflow/profiles/default")
        with LocalSlurm(root / "cluster") as slurm:
            env = {**copy_repo(cluster, mirror, small_config), "SLURM_CONF": str(slurm.conf)}
            done, slurm_seconds = timed_run(cluster, env, "--profile", "workflow/profiles/slurm", *SITE_FLAGS)
        jobs = [job for job in listed_jobs(done.stdout + "\n\n" + done.stderr) if job.rule != "all"]
        report = memory_report(jobs, cluster)
        ours, theirs = table_digests(local), table_digests(cluster)
        differing = sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))
        print(f"SLURM jobs submitted: {len(jobs)} ({len({job.rule for job in jobs})} rules); "
              f"wall time {slurm_seconds:.0f} s through SLURM vs {local_seconds:.0f} s locally "
              f"({slurm_seconds / local_seconds:.2f}x)")
        print(f"tables compared: {len(ours)}; identical: {len(ours) - len(differing)}; differing: {differing or 'none'}")
        print("memory per rule, requested vs peak used (max_rss of the benchmark files):")
        with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            print(report.with_columns(pl.col("used_share").round(3), pl.col("used_mb").round(1)))
        return 1 if differing or not ours else 0


if __name__ == "__main__":
    sys.exit(main())
