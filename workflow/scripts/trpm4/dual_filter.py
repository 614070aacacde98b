"""Spearman-Kendall dual filter of every gene against the anchor in one group."""

from replisuite.runlog import log_to
from replisuite.trpm4.cells import dual_filter

with log_to(snakemake.log[0]):
    dual_filter(snakemake.params.study, snakemake.wildcards.trpm4_group, cells=snakemake.input.cells,
                table_out=snakemake.output.table, threads=snakemake.threads)
