"""Appropriateness tables and figure, judge agreement, and the check against the published rates."""

from replisuite.runlog import log_to
from replisuite.stigma.pipeline import summarise_interjections

out = snakemake.output
with log_to(snakemake.log.main):
    summarise_interjections(
        snakemake.params.study, snakemake.params.llm, snakemake.params.raw,
        verdicts=list(snakemake.input.verdicts),
        tables={key: out[key] for key in ("by_condition", "overall", "by_stimulus", "judge_agreement", "check_published")},
        differences_out=snakemake.log.differences,
        figure_stems={"by_condition": out.figure_png},
    )
