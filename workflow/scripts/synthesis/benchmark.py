"""The four-dimension rubric on one generator's dialogues and on planted degraded copies."""

from replisuite.runlog import log_to
from replisuite.synthesis.pipeline import benchmark_dialogues

study = snakemake.params.study
with log_to(snakemake.log[0]):
    benchmark_dialogues(study, snakemake.params.llm, study["judge"], transcripts=snakemake.input.transcripts,
                        out=snakemake.output.judgements, provenance_out=snakemake.output.provenance,
                        threads=snakemake.threads)
