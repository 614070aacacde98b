"""What the Snakefile shares with its jobs: the process environment, and each rule's slice of the config."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from replisuite.provenance import RUN_STARTED_ENV, utc_now

# Every thread pool a job's libraries start: BLAS/OpenMP (numpy, scipy, torch), polars and the
# tokenizers' Rust pools, numexpr and numba. Jobs that each start a pool the size of the machine
# oversubscribe it as soon as Snakemake runs more than one.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS", "POLARS_MAX_THREADS", "RAYON_NUM_THREADS")


def configure_environment(src: str, environ: dict[str, str] | None = None) -> None:
    """Prepare the environment that workflow scripts inherit.

    * ``src`` goes first on ``PYTHONPATH`` so scripts import this checkout's library, in the
      venv, in a conda environment or on a cluster node alike.
    * BLAS/OpenMP, polars and the tokenizers use one thread per job: Snakemake decides the
      parallelism (``THREAD_VARIABLES``; ``TOKENIZERS_PARALLELISM`` is off).
    * ``REPLISUITE_RUN_STARTED`` is set once, by the first process, for the manifests.
    """
    environ = os.environ if environ is None else environ
    paths = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    environ["PYTHONPATH"] = os.pathsep.join([src, *paths])
    for variable in THREAD_VARIABLES:
        environ[variable] = "1"
    environ["TOKENIZERS_PARALLELISM"] = "false"
    environ.setdefault(RUN_STARTED_ENV, utc_now())


def compile_library(src: str) -> bool:
    """Write the library's bytecode (``__pycache__``) before any job starts.

    Every job is a fresh interpreter. Where ``PYTHONDONTWRITEBYTECODE`` is set (container images
    often set it) no job writes what it compiles, so each one compiles again every module of the
    library it imports: about a second a job, hundreds of jobs a run. Up-to-date files are only
    checked, so a second call costs a few milliseconds a module. Best effort: a read-only checkout
    goes without (returns False).
    """
    import compileall

    try:
        return bool(compileall.compile_dir(os.path.join(src, "replisuite"), quiet=2))
    except OSError:
        return False


def by_attempt(amount: int):
    """A rule resource (``mem_mb``, ``runtime``) that grows with each attempt: a job that ran out of
    memory or time is retried (the SLURM profile sets ``retries``) with twice, then three times,
    the first request, instead of failing again with the same one. Local runs make one attempt.
    """

    def scaled(wildcards, attempt: int) -> int:
        return amount * attempt

    return scaled


def config_subset(section: Mapping[str, Any], paths: Iterable[str], *, name: str = "config",
                  wildcards: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Only the listed keys of a config section, as a nested dict shaped like the section.

    A rule's ``params`` carry exactly what its job reads, so editing any other key reruns nothing.

    Parameters
    ----------
    section
        One config section, e.g. ``config["trpm4"]``.
    paths
        Slash-separated paths inside it (``"gam"``, ``"cv/repeats"``, ``"models/{model}"``).
        ``{name}`` is filled from ``wildcards``. A path ending in ``?`` is optional: when the
        config lacks it, only its existing parents are kept (as empty mappings, so the library's
        ``.get`` default applies); any other missing path is an error.
    name
        The section's name in messages (``"config trpm4"``).
    wildcards
        The job's wildcard values.

    Returns
    -------
    dict
        The selected values under their paths; unlisted keys are absent.
    """
    subset: dict[str, Any] = {}
    for path in paths:
        optional = path.endswith("?")
        keys = path.rstrip("?").format(**(wildcards or {})).split("/")
        node: Any = section
        for depth, key in enumerate(keys):
            if not isinstance(node, Mapping) or key not in node:
                if optional:  # keep the containers that exist, so the library's .get() applies its default
                    _nested(subset, keys[:depth])
                    break
                raise KeyError(f"{name} has no key {'/'.join(keys[:depth + 1])!r} (a rule's params name it)")
            node = node[key]
        else:
            _nested(subset, keys[:-1])[keys[-1]] = copy.deepcopy(node)
    return subset


def _nested(tree: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    for key in keys:
        tree = tree.setdefault(key, {})
    return tree


@dataclass(frozen=True)
class ListedJob:
    """One job as Snakemake lists it (dry run or run log): rule, reason, wildcards, resources."""

    rule: str
    reason: str = ""
    wildcards: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    benchmark: str | None = None


def listed_jobs(text: str) -> list[ListedJob]:
    """The jobs in Snakemake's output (``rule name:`` blocks with indented ``key: value`` lines)."""
    jobs = []
    for block in re.split(r"\n\s*\n", text):
        head = re.search(r"^(?:local)?rule (\w+):$", block, re.MULTILINE)
        if head is None:
            continue
        fields = dict(re.findall(r"^    (\w+): (.*)$", block[head.end():], re.MULTILINE))
        jobs.append(ListedJob(
            rule=head.group(1), reason=fields.get("reason", ""), wildcards=_pairs(fields.get("wildcards", "")),
            resources=_pairs(fields.get("resources", "")), benchmark=fields.get("benchmark"),
        ))
    return jobs


def _pairs(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(", ") if "=" in item)
