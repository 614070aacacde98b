"""One matplotlib style for every figure; figures are saved as PNG and PDF together.

pyplot is imported where a figure is made, not with this module: most jobs make no figure, and
pyplot is a quarter of a job's import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

from replisuite.atomic import atomic_path

matplotlib.use("Agg")

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.fontsize": 8,
    "pdf.fonttype": 42,
    # reproducible PDFs: no creation date in the file
    "svg.hashsalt": "replisuite",
}


def apply_style() -> None:
    """Use the suite's style for the figures that follow."""
    matplotlib.rcParams.update(STYLE)


def save_figure(figure, png: str | os.PathLike[str], pdf: str | os.PathLike[str] | None = None) -> None:
    """Write ``figure`` atomically as PNG (and PDF), then close it."""
    with atomic_path(png) as tmp:
        figure.savefig(tmp, format="png", metadata={"Software": None})
    if pdf is not None:
        with atomic_path(pdf) as tmp:
            figure.savefig(tmp, format="pdf", metadata={"CreationDate": None, "Producer": None, "Creator": None})
    from matplotlib import pyplot as plt

    plt.close(figure)


def figure_paths(stem: str | os.PathLike[str]) -> tuple[Path, Path]:
    """``stem.png`` and ``stem.pdf``."""
    stem = Path(stem)
    return stem.with_suffix(".png"), stem.with_suffix(".pdf")
