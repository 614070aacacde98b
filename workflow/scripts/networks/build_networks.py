"""Two-step themes, their stability, and each client's multi-step and direct networks."""

from replisuite.networks.pipeline import build
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
with log_to(snakemake.log[0]):
    build(snakemake.params.study, snakemake.params.llm, coder=snakemake.wildcards.networks_coder, annomi=inp.annomi, gold=inp.gold, detections=inp.detections[0],
          tables={name: out[name] for name in snakemake.params.tables}, naming_out=out.naming,
          provenance_out=out.provenance, threads=snakemake.threads)
