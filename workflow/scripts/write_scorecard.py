"""Collect every study's claims into results/scorecard.csv, its model x claim view and their figures."""

from replisuite import scorecard
from replisuite.plotting import apply_style, save_figure
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    frame = scorecard.write_scorecard(list(snakemake.input), snakemake.output.table, models_path=snakemake.output.models)
    apply_style()
    save_figure(scorecard.figure(frame), snakemake.output.png, snakemake.output.pdf)
    save_figure(scorecard.model_figure(scorecard.model_view(frame), frame), snakemake.output.models_png,
                snakemake.output.models_pdf)
