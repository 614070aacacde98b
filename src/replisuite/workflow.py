"""Process environment shared by the Snakefile and every job it starts."""

from __future__ import annotations

import os

from replisuite.provenance import RUN_STARTED_ENV, utc_now

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def configure_environment(src: str, environ: dict[str, str] | None = None) -> None:
    """Prepare the environment that workflow scripts inherit.

    * ``src`` goes first on ``PYTHONPATH`` so scripts import this checkout's library, in the
      venv, in a conda environment or on a cluster node alike.
    * BLAS/OpenMP use one thread per job: Snakemake decides the parallelism.
    * ``REPLISUITE_RUN_STARTED`` is set once, by the first process, for the manifests.
    """
    environ = os.environ if environ is None else environ
    paths = [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    environ["PYTHONPATH"] = os.pathsep.join([src, *paths])
    for variable in THREAD_VARIABLES:
        environ[variable] = "1"
    environ.setdefault(RUN_STARTED_ENV, utc_now())
