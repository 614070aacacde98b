"""Detection F1 by examples beside the trivial guess, the judge's preference, stability, per model coder; figures."""

from replisuite.networks.pipeline import summarise
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, coders=snakemake.params.coders, annomi=inp.annomi, gold=inp.gold,
              detections=list(inp.detections), stability=list(inp.stability), statistics=list(inp.statistics),
              comparison=list(inp.comparison), processes=inp.processes[0], nodes=inp.nodes[0], edges=inp.edges[0],
              tables={name: out[name] for name in snakemake.params.tables},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png") for name in snakemake.params.figures})
