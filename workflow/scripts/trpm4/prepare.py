"""Group selection, QC and log-normalisation."""

from replisuite.runlog import log_to
from replisuite.trpm4.cells import prepare_cells

with log_to(snakemake.log[0]):
    prepare_cells(snakemake.params.study, cohort=snakemake.input.cohort, cells_out=snakemake.output.cells,
                  qc_out=snakemake.output.qc)
