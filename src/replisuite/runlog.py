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
    """
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
