"""Inventory of the fetched inputs: name, file, size, hash, licence, citation."""

from replisuite.data import Source, sources_schema, sources_table
from replisuite.runlog import log_to
from replisuite.tables import write_table

with log_to(snakemake.log[0]):
    sources = [Source(**entry) for entry in snakemake.params.sources]
    table = sources_table(sources, list(snakemake.input))
    write_table(table, snakemake.output[0], schema=sources_schema())
