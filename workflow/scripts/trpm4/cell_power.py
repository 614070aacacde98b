"""Explanatory power, TREP cells, cross-validation and the inflection point for one group and patient."""

from replisuite.runlog import log_to
from replisuite.trpm4.fits import cell_power

w = snakemake.wildcards
out = snakemake.output
with log_to(snakemake.log[0]):
    cell_power(snakemake.params.study, w.trpm4_group, w.trpm4_patient, fit=snakemake.input.fit,
               fitted=snakemake.input.fitted, features=snakemake.input.features,
               cells_out=out.cells, summary_out=out.summary, cv_out=out.cv)
