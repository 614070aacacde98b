"""SUDS per elicited client turn, and how well it matches the planted arc."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import extract

with log_to(snakemake.log[0]):
    extract(snakemake.params.study, snakemake.params.llm, transcripts=snakemake.input.transcripts,
            profiles=snakemake.input.profiles[0] if snakemake.input.profiles else None,
            out=snakemake.output.trajectories, extraction_out=snakemake.output.extraction,
            provenance_out=snakemake.output.provenance, threads=snakemake.threads)
