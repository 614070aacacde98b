"""One model's replies to the arena questions."""

from replisuite.judge.pipeline import arena_replies
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    arena_replies(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.arena_model,
                  counsel_chat=snakemake.input.counsel_chat, out=snakemake.output.replies,
                  provenance_out=snakemake.output.provenance, threads=snakemake.threads)
