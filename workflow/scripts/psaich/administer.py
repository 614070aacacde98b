"""Stage 1 (open therapy questions) and stage 2 (questionnaires) for one model, all seeds together."""

from replisuite.psaich.pipeline import run
from replisuite.runlog import log_to

out = snakemake.output
with log_to(snakemake.log[0]):
    run(
        snakemake.params.study, snakemake.params.llm, snakemake.wildcards.model,
        transcript_out=out.transcript, answers_out=out.answers, provenance_out=out.provenance, threads=snakemake.threads,
    )
