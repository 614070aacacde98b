"""Fetch one declared source (mirror or network) with its SHA-256 verified."""

from replisuite.data import Source, fetch_source, remember_hash
from replisuite.runlog import log_to, withdraw_study_manifest

with log_to(snakemake.log[0]) as log:
    if snakemake.params.data_input:  # a source the data study lists: its manifest no longer holds
        withdraw_study_manifest("data")
    source = Source(**snakemake.params.source)
    fetch_source(source, snakemake.output[0])
    remember_hash(snakemake.output[0], source.sha256)   # so a later edit of the file is noticed
    log.info("fetched %s (%s) to %s", source.name, source.sha256, snakemake.output[0])
