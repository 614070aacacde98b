"""Principal components of expression outside the score set, for the corrected CV's classifier."""

from replisuite.runlog import log_to
from replisuite.trpm4.cells import expression_features

with log_to(snakemake.log[0]):
    expression_features(snakemake.params.study, cells=snakemake.input.cells, features_out=snakemake.output.features)
