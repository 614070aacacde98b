"""Every case x phase PE conversation, the therapist eliciting SUDS where the phase prescribes."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import generate

with log_to(snakemake.log[0]):
    generate(snakemake.params.study, snakemake.params.llm, profiles=snakemake.input.profiles,
             out=snakemake.output.transcripts, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
