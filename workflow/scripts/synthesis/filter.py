"""The filter and the trivial filters on one generator's dialogues and their planted defective copies."""

from replisuite.runlog import log_to
from replisuite.synthesis.pipeline import filter_dialogues

study = snakemake.params.study
with log_to(snakemake.log[0]):
    filter_dialogues(study, snakemake.params.llm, study["judge"], transcripts=snakemake.input.transcripts,
                     out=snakemake.output.checks, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
