"""A rater model's BDI-II and HAM-A answers for every conversation, from the transcript alone."""

from replisuite.roleplay.pipeline import recover
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    recover(snakemake.params.study, snakemake.params.llm, rater=snakemake.wildcards.rater,
            transcripts=list(snakemake.input.transcripts), profiles=snakemake.input.profiles,
            out=snakemake.output.totals, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
