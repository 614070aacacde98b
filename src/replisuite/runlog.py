"""Glue for workflow scripts: send a step's stderr and log records to the rule's log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str | os.PathLike[str]) -> Iterator[logging.Logger]:
    """Redirect ``sys.stderr`` and the ``replisuite`` logger to ``path`` for the block.

    An exception raised in the block is written to the log (with its traceback) and re-raised,
    so Snakemake marks the job failed and the message is in the log it points to.

    A job of a study (log under ``logs/<study>/``) first withdraws that study's manifest (see
    :func:`withdraw_manifest`).
    """
    withdraw_manifest(path)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("replisuite")
    with open(path, "a", buffering=1) as handle:
        handler = logging.StreamHandler(handle)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        previous, sys.stderr = sys.stderr, handle
        try:
            yield logger
        except BaseException:
            logger.exception("step failed")
            raise
        finally:
            sys.stderr = previous
            logger.removeHandler(handler)


def withdraw_manifest(log_path: str | os.PathLike[str], *, results: str | os.PathLike[str] = "results") -> None:
    """Remove ``results/<study>/manifest.json`` when a job of that study starts (its log is
    ``logs/<study>/...``), unless the job writes the manifest.

    The manifest says the study's outputs are complete and lists their hashes. Once one of them is
    being rewritten that is no longer true, and if the run then fails, a manifest left in place
    would describe files that changed or were deleted. Withdrawn, it comes back with the study's
    next complete run (its rule reruns on the missing file).
    """
    parts = Path(log_path).parts
    if len(parts) >= 3 and parts[0] == "logs" and Path(log_path).stem != "write_manifest":
        withdraw_study_manifest(parts[1], results=results)


def withdraw_study_manifest(study: str, *, results: str | os.PathLike[str] = "results") -> None:
    """Remove ``results/<study>/manifest.json`` (see `withdraw_manifest`): for a job filed under
    another study's logs whose output is still an input of ``study`` (a fetched source of data).
    """
    (Path(results) / study / "manifest.json").unlink(missing_ok=True)
