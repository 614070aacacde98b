"""Collect every study's claims into results/scorecard.csv and the scorecard figure."""

from replisuite import scorecard
from replisuite.plotting import apply_style, save_figure
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    frame = scorecard.write_scorecard(list(snakemake.input), snakemake.output.table)
    apply_style()
    save_figure(scorecard.figure(frame), snakemake.output.png, snakemake.output.pdf)
