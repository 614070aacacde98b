"""The calibration table, every simulated patient's row, and the figure."""

from pathlib import Path

from replisuite.runlog import log_to
from replisuite.trpm4.report import summarise_calibration

out = snakemake.output
with log_to(snakemake.log[0]):
    summarise_calibration(list(snakemake.input), table_out=out.table, patients_out=out.patients,
              figure_stem=str(Path(out.figure_png).with_suffix("")))
