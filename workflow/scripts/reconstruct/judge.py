"""Rubric scores of the original and reconstructed sessions by one judge."""

from replisuite.reconstruct.pipeline import judge_versions
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    judge_versions(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.judge,
                   originals=snakemake.input.originals, reconstructions=list(snakemake.input.reconstructions),
                   out=snakemake.output.scores, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
