"""Preference pairs split by question, and their statistics."""

from replisuite.preference.pipeline import build_pairs
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    build_pairs(snakemake.params.study, source=snakemake.input.source, pairs_out=snakemake.output.pairs,
                statistics_out=snakemake.output.statistics)
