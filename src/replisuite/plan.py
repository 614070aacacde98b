"""What a configured run would ask each model, before it is paid for: ``make plan``.

``python -m replisuite.plan [--all] [--study S ...] [-- snakemake arguments]`` copies the checkout, its
results, its response stores and Snakemake's records into a scratch folder and runs the language-model
studies there with ``REPLISUITE_LLM_PLAN`` set: every job the run would execute builds its requests as
it would, finds the stored ones in the store, and counts the rest instead of sending them (they get
stand-in answers that no study can use, so a conversation goes on to its next turn). It prints, per study and model
entry, how many requests the run would send and how many the store already holds. Nothing in the
checkout changes. Pass the run's own arguments after ``--`` (``-- --configfile my.yaml``) to plan
that run; ``--all`` counts every model job, not only those the run would redo.

A count is exact where the number of requests does not depend on the answers; where it does (a
dialogue that may end early, a step repeated until a reply parses) it is the most the run can send,
as it is where a later request would repeat a stored one because a model's answer repeats an earlier
one word for word.
A job that fails on stand-in answers is listed: requests of later jobs that read its output are not
counted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import yaml

from replisuite.llm.runner import PLAN_ENV
from replisuite.roles import ROLE_KEYS
from replisuite.smoke import commit_copy, copy_checkout

# the studies that ask language models (those whose model keys the roles fill)
LLM_STUDIES = tuple(dict.fromkeys(key.study for key in ROLE_KEYS))
PLAN_SCHEMA = {"study": pl.String, "entry": pl.String, "backend": pl.String, "requests": pl.Int64,
               "stored": pl.Int64, "to_send": pl.Int64}


def prepare(repo: Path, work: Path) -> None:
    """A scratch copy of ``repo`` for a plan run: the checkout (committed, as manifests record the
    commit), its results, response stores and Snakemake records copied, its raw inputs linked.
    """
    shutil.rmtree(work, ignore_errors=True)  # a kept folder's earlier copy (its links are removed, not followed)
    copy_checkout(repo, work)
    commit_copy(work, who="plan")
    config = yaml.safe_load((repo / "config/config.yaml").read_text())
    for folder in ("results", config["llm"]["store_dir"], ".snakemake/metadata"):
        if (repo / folder).is_dir():
            shutil.rmtree(work / folder, ignore_errors=True)
            shutil.copytree(repo / folder, work / folder, symlinks=True)
    raw = repo / config["data"]["raw_dir"]
    if raw.is_dir():
        (work / config["data"]["raw_dir"]).parent.mkdir(parents=True, exist_ok=True)
        (work / config["data"]["raw_dir"]).symlink_to(raw.resolve())


def summarise(plan_path: Path) -> pl.DataFrame:
    """The plan's lines summed per study and model entry: requests, stored, to send."""
    lines = [json.loads(line) for line in plan_path.read_text().splitlines()] if plan_path.exists() else []
    if not lines:
        return pl.DataFrame(schema=PLAN_SCHEMA)
    frame = pl.DataFrame(lines).select("study", "entry", "backend", "stored", "to_send")
    return (frame.group_by("study", "entry", "backend", maintain_order=True).sum()
            .with_columns(requests=pl.col("stored") + pl.col("to_send")).select(list(PLAN_SCHEMA))
            .cast(PLAN_SCHEMA).sort("study", "entry"))


def _absolute(arguments: Sequence[str], cwd: Path) -> list[str]:
    """Snakemake arguments with files that exist under ``cwd`` made absolute (the run is elsewhere)."""
    return [str((cwd / a).resolve()) if not a.startswith("-") and (cwd / a).is_file() else a for a in arguments]


def plan(repo: Path, *, studies: Sequence[str], snakemake_args: Sequence[str] = (), every_job: bool = False,
         cores: int = 2, keep: Path | None = None) -> tuple[pl.DataFrame, list[str]]:
    """Run the plan in a scratch copy; the per study x model counts, and the jobs that failed."""
    scratch = keep or Path(tempfile.mkdtemp(prefix="replisuite-plan-"))
    work = scratch / "repo"
    try:
        prepare(repo, work)
        plan_path = scratch / "plan.jsonl"
        plan_path.unlink(missing_ok=True)  # a kept folder's earlier plan
        targets = [f"results/{study}/manifest.json" for study in studies]
        command = [sys.executable, "-m", "snakemake", "--cores", str(cores), "--profile", "workflow/profiles/default",
                   "--keep-going", *targets, *(["--forceall"] if every_job else []), *_absolute(snakemake_args, repo)]
        done = subprocess.run(command, cwd=work, env={**os.environ, PLAN_ENV: str(plan_path)},
                              capture_output=True, text=True)
        failed = sorted({line.split("Error in rule ", 1)[1].rstrip(":") for line in (done.stdout + done.stderr).splitlines()
                         if "Error in rule " in line})
        if done.returncode != 0 and not failed:
            raise RuntimeError(f"the plan run failed before any job ran:\n{done.stderr[-3000:]}")
        return summarise(plan_path), failed
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print what the configured run would send, per study and model."""
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    own = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(prog="python -m replisuite.plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", action="append", choices=LLM_STUDIES, help="only these studies (repeatable)")
    parser.add_argument("--all", action="store_true", help="count every model job, not only those the run would redo")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="plan in this folder and keep it (default: a temporary one)")
    args = parser.parse_args(own)
    try:
        table, failed = plan(Path.cwd(), studies=args.study or LLM_STUDIES, snakemake_args=extra, every_job=args.all,
                             cores=args.cores, keep=args.keep)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(table if table.height else "No model request: the run would send nothing and read nothing from a store.")
    if table.height:
        print(f"in all: {table['to_send'].sum()} requests to send, {table['stored'].sum()} already in the stores")
    if failed:
        print(f"jobs that failed on stand-in answers (requests of jobs that read their output are not counted): "
              f"{', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
