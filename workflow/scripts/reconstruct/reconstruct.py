"""Every sampled session with each counsellor turn written by one model."""

from replisuite.reconstruct.pipeline import reconstruct
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    reconstruct(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.counsellor,
                profiles=snakemake.input.profiles, out=snakemake.output.transcripts,
                provenance_out=snakemake.output.provenance, threads=snakemake.threads)
