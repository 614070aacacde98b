"""CounselChat answers with their therapist group, and their MiniLM embeddings."""

from replisuite.runlog import log_to
from replisuite.topics.pipeline import embed_answers

with log_to(snakemake.log[0]):
    embed_answers(
        snakemake.params.study, snakemake.input[0], store_dir=snakemake.params.store_dir,
        documents_out=snakemake.output.documents, embeddings_out=snakemake.output.embeddings,
    )
