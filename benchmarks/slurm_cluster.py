"""Run the workflow through a real one-node SLURM cluster and compare it with a local run.

    python benchmarks/slurm_cluster.py                  # needs slurm-wlm + munge (apt-get), run as root
    python benchmarks/slurm_cluster.py --studies data stigma

Brings up slurmctld + slurmd + munged (replisuite.cluster.LocalSlurm) and runs the chosen studies
on small configurations twice, in fresh copies of this checkout: locally with
workflow/profiles/default, and through `--profile workflow/profiles/slurm`. The studies: data (one
fetch job per declared source), trpm4 on its small test cohort (a GAM job per group x patient x
gene set) and stigma with the embedded model and two published models (1 vignette, 2
interjections): its question and interjection jobs write one response store at the same time,
each from its own SLURM job. The cluster has no accounting storage, so the run adds
`--slurm-status-command squeue --slurm-no-account`, as a site without sacct must. Prints jobs,
wall times, whether every table is byte-identical, the stores' shards and answers, and per rule
the memory requested vs the peak used (benchmark files); exits 1 if anything differs.
"""

from __future__ import annotations

import argparse
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
from replisuite.llm import ResponseStore  # noqa: E402
from replisuite.workflow import listed_jobs  # noqa: E402
from tests.conftest import copy_repo, small_stigma, snakemake  # noqa: E402

STUDIES = ("data", "trpm4", "stigma")
SITE_FLAGS = ["--slurm-status-command", "squeue", "--slurm-no-account", "--slurm-init-seconds-before-status-checks", "5"]


def small_config(studies):
    def edit(work: Path) -> None:
        full = yaml.safe_load((REPO / "config/config.yaml").read_text())
        config = {key: full[key] for key in ("seed", "data", "claims", "llm")}
        if "stigma" in studies:
            config["stigma"] = full["stigma"]
            small_stigma(config)
            config["llm"]["models"] = {name: full["llm"]["models"][name] for name in ("smollm2-135m", "gpt-4o", "llama2-70b")}
        else:
            config["llm"]["models"] = {}
        if "trpm4" in studies:
            config["trpm4"] = yaml.safe_load((REPO / ".test/trpm4.yaml").read_text())["trpm4"]
        (work / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return edit


def store_summary(work: Path) -> dict[str, tuple[int, int, int]]:
    """Per study store: shards, answers, failures."""
    summary = {}
    for folder in sorted((work / "data/llm").glob("*")):
        with ResponseStore(folder) as store:
            summary[folder.name] = (len(store.shards()), len(store), len(store.failures()))
    return summary


def table_digests(work: Path) -> dict[str, str]:
    files = [p for p in (work / "results").rglob("*") if p.suffix in (".csv", ".parquet") and p.is_file()]
    return {str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(files)}


def timed_run(work: Path, env: dict[str, str], targets: list[str], *args: str):
    start = time.monotonic()
    done = snakemake(work, env, *args, *targets)
    return done, time.monotonic() - start


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--studies", nargs="+", choices=STUDIES, default=list(STUDIES),
                        help="studies to run (default: all three)")
    parser.add_argument("--local-cores", type=int, default=2, help="cores of the local reference run (default 2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_programs()
    if missing:
        print(f"SKIPPED: {missing} not installed (apt-get install slurm-wlm munge)")
        return 0
    mirror = os.environ.get("REPLISUITE_MIRROR", str(REPO.parent / "shared/mirror"))
    targets = [f"results/{study}/manifest.json" for study in args.studies]
    with tempfile.TemporaryDirectory(prefix="replisuite-slurm-") as tmp:
        root = Path(tmp)
        local, cluster = root / "local", root / "slurm"
        env_local = copy_repo(local, mirror, small_config(args.studies))
        _, local_seconds = timed_run(local, env_local, targets, "--cores", str(args.local_cores),
                                     "--profile", "workflow/profiles/default")
        with LocalSlurm(root / "cluster") as slurm:
            env = {**copy_repo(cluster, mirror, small_config(args.studies)), "SLURM_CONF": str(slurm.conf)}
            done, slurm_seconds = timed_run(cluster, env, targets, "--profile", "workflow/profiles/slurm", *SITE_FLAGS)
        jobs = [job for job in listed_jobs(done.stdout + "\n\n" + done.stderr) if job.rule != "all"]
        report = memory_report(jobs, cluster)
        ours, theirs = table_digests(local), table_digests(cluster)
        differing = sorted(name for name in ours.keys() | theirs.keys() if ours.get(name) != theirs.get(name))
        print(f"SLURM jobs submitted: {len(jobs)} ({len({job.rule for job in jobs})} rules); "
              f"wall time {slurm_seconds:.0f} s through SLURM vs {local_seconds:.0f} s locally "
              f"({slurm_seconds / local_seconds:.2f}x)")
        print(f"tables compared: {len(ours)}; identical: {len(ours) - len(differing)}; differing: {differing or 'none'}")
        for study, (shards, answers, failures) in store_summary(cluster).items():
            local_answers = store_summary(local)[study][1]
            print(f"store {study}: {shards} shards (one per job that wrote), {answers} answers "
                  f"({local_answers} in the local run's store), {failures} failures")
        print("memory per rule, requested vs peak used (max_rss of the benchmark files):")
        with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
            print(report.with_columns(pl.col("used_share").round(3), pl.col("used_mb").round(1)))
        return 1 if differing or not ours else 0


if __name__ == "__main__":
    sys.exit(main())
