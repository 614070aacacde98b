"""One generator's reasoned dialogue for every post."""

from replisuite.runlog import log_to
from replisuite.synthesis.pipeline import synthesise

inp = snakemake.input
with log_to(snakemake.log[0]):
    synthesise(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.generator,
               counselchat=inp.get("counselchat"), out=snakemake.output.transcripts,
               provenance_out=snakemake.output.provenance, threads=snakemake.threads)
