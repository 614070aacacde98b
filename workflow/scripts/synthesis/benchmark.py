"""The four-dimension rubric on one generator's dialogues, planted degraded copies and the therapists' answers."""

from replisuite.runlog import log_to
from replisuite.synthesis.pipeline import benchmark_dialogues

study = snakemake.params.study
with log_to(snakemake.log[0]):
    benchmark_dialogues(study, snakemake.params.llm, study["judge"], transcripts=snakemake.input.transcripts,
                        out=snakemake.output.judgements, provenance_out=snakemake.output.provenance,
                        counselchat=snakemake.input.get("counselchat"), threads=snakemake.threads)
