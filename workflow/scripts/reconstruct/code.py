"""Counsellor turns of both versions coded by the classifier trained on folds without their session."""

from replisuite.reconstruct.pipeline import code_versions
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    code_versions(snakemake.params.study, annomi=snakemake.input.annomi, originals=snakemake.input.originals,
                  reconstructions=list(snakemake.input.reconstructions), coded_out=snakemake.output.coded,
                  validation_out=snakemake.output.validation)
