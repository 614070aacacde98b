"""The released conversations (trauma.published_dir) as transcript records."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import load_published

with log_to(snakemake.log[0]):
    load_published(snakemake.params.study, folder=snakemake.params.folder, cases_out=snakemake.output.cases,
                   out=snakemake.output.transcripts, marginals_out=snakemake.output.marginals)
