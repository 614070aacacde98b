"""BERTopic on all answers with every seed, on each compared group's answers with the first, and the 2-D map."""

from replisuite.runlog import log_to
from replisuite.topics.pipeline import fit

with log_to(snakemake.log[0]):
    fit(snakemake.params.study, documents=snakemake.input.documents, embeddings=snakemake.input.embeddings,
        fits=[(group, seed, out) for (group, seed), out in zip(snakemake.params.fits, snakemake.output.models, strict=True)],
        map_seed=snakemake.params.map_seed, map_out=snakemake.output.document_map)
