"""score ~ s(anchor) for one group, patient and gene set."""

from replisuite.runlog import log_to
from replisuite.trpm4.fits import fit_gam

w = snakemake.wildcards
with log_to(snakemake.log[0]):
    fit_gam(snakemake.params.study, w.trpm4_group, w.trpm4_patient, w.trpm4_set, scores=snakemake.input.scores,
            fit_out=snakemake.output.fit, fitted_out=snakemake.output.fitted)
