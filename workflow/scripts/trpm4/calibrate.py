"""One shard of a calibration scenario's replicates: the method on simulated patients with a known answer."""

from replisuite.runlog import log_to
from replisuite.trpm4.calibration import run_shard

with log_to(snakemake.log[0]):
    run_shard(snakemake.params.study, snakemake.wildcards.scenario, int(snakemake.wildcards.shard),
                  out=snakemake.output[0])
