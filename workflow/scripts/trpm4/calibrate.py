"""One calibration scenario replicate: the method on simulated patients with a known answer."""

from replisuite.runlog import log_to
from replisuite.trpm4.calibration import run_replicate

with log_to(snakemake.log[0]):
    run_replicate(snakemake.params.study, snakemake.wildcards.scenario, int(snakemake.wildcards.replicate),
                  out=snakemake.output[0])
