"""Generate the stigma prompts (checked against the published ones) and the interjection stimuli."""

from replisuite.runlog import log_to
from replisuite.stigma.pipeline import prepare_stimuli

with log_to(snakemake.log[0]):
    prepare_stimuli(
        snakemake.params.study, snakemake.params.raw,
        stigma_out=snakemake.output.stigma, interjections_out=snakemake.output.interjections,
    )
