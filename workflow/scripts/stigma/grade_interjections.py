"""One model's replies to the symptom interjections, and the judge's verdicts on them."""

from replisuite.runlog import log_to
from replisuite.stigma.pipeline import grade_interjections_model

with log_to(snakemake.log[0]):
    grade_interjections_model(
        snakemake.params.study, snakemake.params.llm, snakemake.params.raw, snakemake.wildcards.model,
        stimuli_path=snakemake.input.stimuli, out=snakemake.output.verdicts,
        provenance=snakemake.output.provenance, threads=snakemake.threads,
    )
