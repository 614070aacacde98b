"""Anchor and gene-set scores per cell; Cronbach's alpha per set."""

from replisuite.runlog import log_to
from replisuite.trpm4.cells import score_cells

with log_to(snakemake.log[0]):
    score_cells(snakemake.params.study, cells=snakemake.input.cells, scores_out=snakemake.output.scores,
                sets_out=snakemake.output.sets)
