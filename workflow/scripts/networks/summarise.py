"""Detection F1 by examples beside the trivial guess, the judge's preference, stability, figures."""

from replisuite.networks.pipeline import summarise
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, annomi=inp.annomi, gold=inp.gold, detections=list(inp.detections),
              processes=inp.processes, stability=inp.stability, nodes=inp.nodes, edges=inp.edges,
              statistics=inp.statistics, comparison=inp.comparison, tables={name: out[name] for name in snakemake.params.tables},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png") for name in snakemake.params.figures})
