"""BERTopic on all answers, or one therapist group's, with one seed."""

from replisuite.runlog import log_to
from replisuite.topics.pipeline import fit

with log_to(snakemake.log[0]):
    fit(
        snakemake.params.study, documents=snakemake.input.documents, embeddings=snakemake.input.embeddings,
        seed=int(snakemake.wildcards.seed), group=snakemake.params.group, out=snakemake.output[0],
    )
