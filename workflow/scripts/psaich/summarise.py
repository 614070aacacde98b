"""Scores, bands, item-by-item minus whole differences, transcript statistics, figures."""

from replisuite.psaich.pipeline import summarise
from replisuite.runlog import log_to

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise(
        snakemake.params.study, snakemake.params.llm, answers=list(snakemake.input.answers),
        transcripts=list(snakemake.input.transcripts),
        tables={key: out[key] for key in ("scores", "subscales", "differences", "transcripts", "floor")},
        figure_stems={"profile": out.profile_png, "differences": out.differences_png},
    )
