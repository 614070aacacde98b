"""score ~ s(anchor) for one group and patient, every gene set."""

from replisuite.runlog import log_to
from replisuite.trpm4.fits import fit_gam

w, out = snakemake.wildcards, snakemake.output
with log_to(snakemake.log[0]):
    for name, fit, fitted in zip(snakemake.params.sets, out.fits, out.fitted, strict=True):
        fit_gam(snakemake.params.study, w.trpm4_group, w.trpm4_patient, name, scores=snakemake.input.scores,
                fit_out=fit, fitted_out=fitted)
