"""The sampled AnnoMI sessions as scripted clients, and their originals as transcripts."""

from replisuite.reconstruct.pipeline import prepare
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    prepare(snakemake.params.study, annomi=snakemake.input.annomi, profiles_out=snakemake.output.profiles,
            originals_out=snakemake.output.originals, sample_out=snakemake.output.sample)
