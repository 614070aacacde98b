"""Every profile through one protocol with one counsellor/client model pair."""

from replisuite.roleplay.pipeline import simulate
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    simulate(snakemake.params.study, snakemake.params.llm, protocol=snakemake.wildcards.protocol,
             pair=snakemake.wildcards.pair, profiles=snakemake.input.profiles, out=snakemake.output.transcripts,
             provenance_out=snakemake.output.provenance, prompt_files=snakemake.params.prompts,
             threads=snakemake.threads)
