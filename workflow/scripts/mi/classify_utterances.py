"""Transcript-grouped cross-validation of one classifier on one coding task."""

from replisuite.mi.pipeline import classify
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    classify(
        snakemake.params.study, task=snakemake.wildcards.task, classifier=snakemake.wildcards.classifier,
        utterances_path=snakemake.input.utterances, embeddings_path=snakemake.input.embeddings or None,
        out=snakemake.output[0],
    )
