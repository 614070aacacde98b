"""Both replies of sampled pairs scored on the seven principles by one judge, and agreement with upvotes."""

from replisuite.preference.pipeline import judge_principles
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    judge_principles(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.judge,
                     pairs=snakemake.input.pairs, scores_out=snakemake.output.scores,
                     agreement_out=snakemake.output.agreement, provenance_out=snakemake.output.provenance,
                     threads=snakemake.threads)
