"""The run's client profiles: a user's file (validated), published ones, or the seeded generator's."""

from replisuite.roleplay.pipeline import make_profiles
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    make_profiles(snakemake.params.study, out=snakemake.output[0], published=list(snakemake.input.published))
