"""Provenance: what produced a study's results, written to ``results/<study>/manifest.json``."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import logging
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from replisuite.atomic import atomic_open
from replisuite.data import sha256_file

RUN_STARTED_ENV = "REPLISUITE_RUN_STARTED"
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def utc_now() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def describe_files(paths: Iterable[str | os.PathLike[str]]) -> list[dict[str, Any]]:
    """Path, size and SHA-256 of each file, sorted by path (no modification time: a rerun that
    writes the same bytes must give the same manifest).
    """
    return [{"path": path, "bytes": os.stat(path).st_size, "sha256": sha256_file(path)}
            for path in sorted({str(p) for p in paths})]


def package_versions(distribution: str = "replisuite") -> dict[str, str | None]:
    """Installed versions of ``distribution`` and every package it requires (extras included)."""
    names = {distribution}
    try:
        requirements = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        match = _REQUIREMENT_NAME.match(requirement)
        if match:
            names.add(match.group(1))
    versions: dict[str, str | None] = {}
    for name in sorted(names, key=str.lower):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(root: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """Commit and dirty flag of the repository at ``root`` (``None`` outside a repository)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def build_manifest(
    *,
    study: str,
    inputs: Iterable[str | os.PathLike[str]],
    outputs: Iterable[str | os.PathLike[str]] = (),
    config: Mapping[str, Any],
    seed: int | None,
    llm: Sequence[Mapping[str, Any]] = (),
    root: str | os.PathLike[str] = ".",
) -> dict[str, Any]:
    """Collect a study's provenance record: what decides its content, nothing that changes
    from one identical run to the next (the run's times are in :func:`run_times`).

    Parameters
    ----------
    study
        Study id (``trpm4``, ``stigma``, ...).
    inputs, outputs
        Files read and written; each is listed with its SHA-256.
    config
        The study's configuration section, exactly as the rules saw it.
    seed
        The study's random seed.
    llm
        Per model entry: backend, model id and version, parameters, request counts.
    root
        Repository root for the git commit.
    """
    return {
        "study": study,
        "seed": seed,
        "config": json.loads(json.dumps(config, default=str)),
        "inputs": describe_files(inputs),
        "outputs": describe_files(outputs),
        "software": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "packages": package_versions(),
        },
        "git": git_state(root),
        "llm": [dict(entry) for entry in llm],
    }


def run_times(started: str | None = None) -> dict[str, str | None]:
    """When the run began (default ``$REPLISUITE_RUN_STARTED``, set by the Snakefile) and now: volatile,
    so written to the manifest job's log, not to the manifest.
    """
    return {"started": started or os.environ.get(RUN_STARTED_ENV), "finished": utc_now()}


def write_manifest(path: str | os.PathLike[str], **fields: Any) -> dict[str, Any]:
    """Build a manifest (see :func:`build_manifest`) and write it atomically as JSON."""
    manifest = build_manifest(**fields)
    with atomic_open(path) as handle:
        json.dump(manifest, handle, indent=2, sort_keys=False)
        handle.write("\n")
    return manifest


# The request counts an LLM entry reports (replisuite.llm.LLM.provenance). The first three are
# content: what the job asked, whatever the store held. The others say what this run had to send
# (a rerun with a warm store sends nothing; probe_calls: the seed probe's requests to a server,
# replisuite.llm.openai_compat.OpenAIBackend.probe_seed): they go to the job's log, not to the provenance file,
# so an identical rerun leaves every file under results/ unchanged (DVC sees no change).
LLM_COUNTS = ("requests", "unique", "failures", "cache_hits", "new_calls", "retries", "probe_calls")
LLM_CONTENT_COUNTS = LLM_COUNTS[:3]
LLM_RUN_COUNTS = LLM_COUNTS[3:]


def merge_provenance(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One manifest record per model entry (replisuite.llm.LLM.provenance() of each job), summing
    the counts of the jobs that used it.
    """
    merged: dict[str, dict[str, Any]] = {}
    for entry in entries:
        name = entry["entry"]
        if name not in merged:
            merged[name] = {**entry, "model_versions": set(entry["model_versions"]), "jobs": 0}
        else:
            target = merged[name]
            for key in LLM_COUNTS:
                if key in target:
                    target[key] += entry[key]
            target["model_versions"] |= set(entry["model_versions"])
        merged[name]["jobs"] += 1
    return [{**m, "model_versions": sorted(m["model_versions"])} for m in merged.values()]


def write_llm_provenance(path: str | os.PathLike[str], models: Sequence[Any]) -> None:
    """A job's record of the model entries it ran (each :meth:`replisuite.llm.LLM.provenance`), for the
    manifest. What this run sent (:data:`LLM_RUN_COUNTS`) is logged, one JSON line per entry
    (``model requests of this job: {...}``), and left out of the file.
    """
    records = [model.provenance() for model in models]
    for record in records:
        logging.getLogger("replisuite").info(
            "model requests of this job: %s", json.dumps({"entry": record["entry"], **{k: record[k] for k in LLM_COUNTS}}))
    with atomic_open(path) as handle:
        json.dump([{k: v for k, v in record.items() if k not in LLM_RUN_COUNTS} for record in records], handle, indent=2)
