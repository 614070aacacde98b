"""Replies of the base or the DPO-tuned policy to the held-out evaluation questions."""

from replisuite.preference.pipeline import generate_replies
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    generate_replies(snakemake.params.study, snakemake.params.llm, snakemake.wildcards.policy,
                     pairs=snakemake.input.pairs, adapter=snakemake.input.adapter[0] if snakemake.input.adapter else None,
                     out=snakemake.output.replies, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
