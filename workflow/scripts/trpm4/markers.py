"""TREP vs non-TREP DEGs (post-IP, pre-IP, all) and GO BP over-representation for one group and patient."""

from replisuite.runlog import log_to
from replisuite.trpm4.cells import markers

w = snakemake.wildcards
with log_to(snakemake.log[0]):
    markers(snakemake.params.study, w.trpm4_group, w.trpm4_patient, cells=snakemake.input.cells,
            cell_power_table=snakemake.input.cell_power, degs_out=snakemake.output.degs, go_out=snakemake.output.go)
