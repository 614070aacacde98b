"""Simulate and analyse one shard of a scenario's replicate cohorts."""

from replisuite.runlog import log_to
from replisuite.support.pipeline import run_replicates

with log_to(snakemake.log[0]):
    run_replicates(snakemake.params.study, skills=snakemake.params.skills, scenario=snakemake.wildcards.scenario,
                   shard=int(snakemake.wildcards.shard), sessions_path=snakemake.input.sessions,
                   att_out=snakemake.output.att, effects_out=snakemake.output.effects)
