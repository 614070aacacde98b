"""Compare results/ with the committed record; the per-study verdicts go to the log and the report."""

import logging

from replisuite.reproduction import compare_with_record, write_comparison
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    logging.getLogger("replisuite").info("%s", write_comparison(compare_with_record("results"), snakemake.output[0]))
