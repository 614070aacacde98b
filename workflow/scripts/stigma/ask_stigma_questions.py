"""One model's answers to every stigma vignette x question, without or with the steel-man prompt."""

from replisuite.runlog import log_to
from replisuite.stigma.pipeline import ask_stigma_model

with log_to(snakemake.log[0]):
    ask_stigma_model(
        snakemake.params.study, snakemake.params.llm, snakemake.params.raw, snakemake.wildcards.model,
        steel_man=snakemake.wildcards.prompt == "steel_man",
        stimuli_path=snakemake.input.stimuli, out=snakemake.output.answers,
        provenance=snakemake.output.provenance, threads=snakemake.threads,
    )
