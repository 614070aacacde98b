"""Study tables and figures of trpm4."""

from pathlib import Path

from replisuite.runlog import log_to
from replisuite.trpm4.report import summarise

out = snakemake.output
inp = snakemake.input
with log_to(snakemake.log[0]):
    summarise(
        snakemake.params.study, fits=list(inp.fits), cell_tables=list(inp.cells), summaries=list(inp.summaries),
        cv=list(inp.cv), degs=list(inp.degs), go=list(inp.go), dual=list(inp.dual), truth=inp.truth or None,
        planted_genes=inp.planted_genes or None,
        tables={name: out[name] for name in snakemake.params.tables},
        figure_stems={name: str(Path(out[f"figure_{name}"]).with_suffix("")) for name in snakemake.params.figures},
    )
