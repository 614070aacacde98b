"""The seeded simulated cohort (raw counts) and its planted truth."""

from replisuite.runlog import log_to
from replisuite.trpm4.cells import simulate

with log_to(snakemake.log[0]):
    simulate(snakemake.params.study, cohort_out=snakemake.output.cohort, truth_out=snakemake.output.truth,
             genes_out=snakemake.output.genes)
