"""The judge's preference between each client's multi-step and direct network."""

from replisuite.networks.pipeline import compare
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    compare(snakemake.params.study, snakemake.params.llm, coder=snakemake.wildcards.networks_coder, annomi=inp.annomi, gold=inp.gold, nodes=inp.nodes,
            edges=inp.edges, statistics=inp.statistics, out=out.comparison, provenance_out=out.provenance, threads=snakemake.threads)
