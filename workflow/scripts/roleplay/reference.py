"""The released SQPsychConv dialogues measured beside our SQPsych runs."""

from replisuite.roleplay.pipeline import reference_measures
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    reference_measures(snakemake.params.study, corpus=snakemake.input.corpus, ours=snakemake.input.ours,
                       out=snakemake.output[0])
