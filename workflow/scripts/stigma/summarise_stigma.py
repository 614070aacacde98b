"""Stigma tables and figures, and the row-for-row check against the published codes."""

from replisuite.runlog import log_to
from replisuite.stigma.pipeline import summarise_stigma

out = snakemake.output
with log_to(snakemake.log.main):
    summarise_stigma(
        snakemake.params.study, snakemake.params.llm, snakemake.params.raw,
        answers=list(snakemake.input.answers), stimuli_path=snakemake.input.stimuli,
        tables={key: out[key] for key in ("by_condition", "by_vignette", "floor", "by_question", "by_attribute", "condition_tests", "gss_2018",
                                             "check_published")},
        differences_out=snakemake.log.differences,
        figure_stems={"by_condition": out.figure_png, "by_question": out.heatmap_png},
    )
