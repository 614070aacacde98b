"""Every study end to end on tiny inputs, in a scratch copy: ``make smoke`` (nf-core's ``-profile test``).

Copies this checkout's files (tracked and new, not ignored: what ``git ls-files`` lists) to a
scratch folder, merges ``.test/smoke.yaml`` into its ``config/config.yaml`` (dicts merge, any other
value replaces), runs the workflow there with the default profile, and checks that every study's
manifest lists files that exist with the recorded size. Offline with the data mirror
(``REPLISUITE_MIRROR``); the results of the real run under ``results/`` are never touched.

Run: ``python -m replisuite.smoke [--cores 2] [--keep DIR] [--configfile .test/smoke.yaml]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

SMOKE_CONFIG = ".test/smoke.yaml"


def merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: nested dicts merge, any other value replaces.

    A key written with a trailing ``!`` (``published!: {...}``) replaces the base's dict under that
    key whole instead of merging into it (to keep fewer entries than the base has).
    """
    result = dict(base)
    for key, value in overrides.items():
        if key.endswith("!"):
            result[key[:-1]] = value
        elif isinstance(value, Mapping) and isinstance(result.get(key), Mapping):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def checkout_files(repo: Path) -> list[str]:
    """The checkout's files: tracked and new, not ignored."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=repo,
                            capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (repo / name).is_file()]


def copy_checkout(repo: Path, work: Path) -> None:
    """The checkout's files (`checkout_files`) copied into ``work``."""
    for name in checkout_files(repo):
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)


def prepare(repo: Path, work: Path, overrides: Mapping[str, Any]) -> None:
    """A copy of the checkout in ``work`` (a git repository, as manifests record the commit) with the merged config."""
    copy_checkout(repo, work)
    config_path = work / "config/config.yaml"
    config = merged(yaml.safe_load(config_path.read_text()), overrides)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.rmtree(work / "results", ignore_errors=True)  # the committed record: a smoke run is not compared with it
    commit_copy(work, who="smoke")


def commit_copy(work: Path, *, who: str) -> None:
    """Make the copy in ``work`` a git repository with one commit (manifests record the commit)."""
    identity = {"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_EMAIL": f"{who}@localhost",
                "GIT_COMMITTER_NAME": who, "GIT_COMMITTER_EMAIL": f"{who}@localhost"}
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", f"{who} copy"]):
        subprocess.run(command, cwd=work, check=True, env={**os.environ, **identity})


def missing_outputs(work: Path) -> dict[str, list[str]]:
    """Per study, the files its manifest lists that are absent or of another size (empty: all there)."""
    problems: dict[str, list[str]] = {}
    for manifest_path in sorted((work / "results").glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        bad = [entry["path"] for entry in manifest["outputs"]
               if not (work / entry["path"]).is_file() or (work / entry["path"]).stat().st_size != entry["bytes"]]
        problems[manifest["study"]] = bad
    return problems


def run(work: Path, *, cores: int, snakemake: str) -> subprocess.CompletedProcess:
    """Run the workflow in ``work`` with the default profile, output captured."""
    return subprocess.run([snakemake, "--cores", str(cores), "--profile", "workflow/profiles/default"], cwd=work,
                          capture_output=True, text=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line of ``make smoke``."""
    parser = argparse.ArgumentParser(prog="python -m replisuite.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cores", type=int, default=2, help="Snakemake cores (default 2)")
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it (default: a temporary folder)")
    parser.add_argument("--configfile", default=SMOKE_CONFIG, help=f"overrides merged into the config (default {SMOKE_CONFIG})")
    args = parser.parse_args(argv)
    repo = Path.cwd()
    if not (repo / "Snakefile").is_file():
        print(f"error: run it from the repository's top folder (no Snakefile in {repo})", file=sys.stderr)
        return 1
    overrides = yaml.safe_load((repo / args.configfile).read_text()) or {}
    snakemake = str(Path(sys.executable).with_name("snakemake"))
    with tempfile.TemporaryDirectory(prefix="replisuite-smoke-") as scratch:
        work = args.keep or Path(scratch) / "repo"
        if args.keep and args.keep.exists() and any(args.keep.iterdir()):
            print(f"error: {args.keep} is not empty", file=sys.stderr)
            return 1
        prepare(repo, work, overrides)
        start = time.monotonic()
        done = run(work, cores=args.cores, snakemake=snakemake)
        seconds = time.monotonic() - start
        if done.returncode != 0:
            print(done.stdout[-4000:] + done.stderr[-4000:], file=sys.stderr)
            print(f"error: the smoke run failed after {seconds:.0f} s (work folder: {work})", file=sys.stderr)
            return 1
        problems = missing_outputs(work)
        for study, bad in problems.items():
            print(f"{study:<12} {'ok' if not bad else 'MISSING ' + ', '.join(bad)}")
        print(f"{len(problems)} studies in {seconds:.0f} s on {args.cores} cores ({work})")
        return 1 if any(problems.values()) or not problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
