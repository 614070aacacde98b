"""One judge's pairwise choices between the replies to each arena question."""

from replisuite.judge.pipeline import judge_arena
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    judge_arena(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.judge,
                counsel_chat=snakemake.input.counsel_chat, replies=snakemake.input.replies, out=snakemake.output.pairs,
                provenance_out=snakemake.output.provenance, threads=snakemake.threads)
