"""AnnoMI utterances with their previous utterance and each task's (majority) label."""

from replisuite.mi.pipeline import prepare_utterances
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    prepare_utterances(snakemake.input[0], out=snakemake.output[0])
