"""MiniLM embeddings of every utterance (cached in the study's store)."""

from replisuite.mi.pipeline import embed_utterances
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    embed_utterances(snakemake.input[0], store_dir=snakemake.params.store_dir, out=snakemake.output[0])
