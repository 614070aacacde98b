"""Dialogue statistics, compliance, identifiability and recovery tables, and figures."""

from replisuite.roleplay.pipeline import summarise
from replisuite.runlog import log_to

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, transcripts=list(snakemake.input.transcripts), profiles=snakemake.input.profiles,
              recovered=list(snakemake.input.recovered), tables={name: out[name] for name in snakemake.params.tables},
              figure_stems={name: out[f"figure_{name}"][:-4] for name in snakemake.params.figures},
              store_dir=snakemake.params.store_dir)
