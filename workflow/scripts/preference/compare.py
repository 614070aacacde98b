"""Tuned vs base replies: judge verdicts in both positions, embedding rewards, lengths."""

from replisuite.preference.pipeline import compare_policies
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    compare_policies(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.judge,
                     replies=list(snakemake.input.replies), weights=snakemake.input.weights,
                     out=snakemake.output.comparison, provenance_out=snakemake.output.provenance,
                     threads=snakemake.threads)
