"""BERTopic on all answers with every seed, and on each compared group's answers with the first."""

from replisuite.runlog import log_to
from replisuite.topics.pipeline import fit

with log_to(snakemake.log[0]):
    fit(snakemake.params.study, documents=snakemake.input.documents, embeddings=snakemake.input.embeddings,
        fits=[(group, seed, out) for (group, seed), out in zip(snakemake.params.fits, snakemake.output, strict=True)])
