"""A language model's log-likelihood of each held-out reply as a zero-shot reward."""

from replisuite.preference.pipeline import score_loglik
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    score_loglik(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.scorer, pairs=snakemake.input.pairs,
                 out=snakemake.output.predictions, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
