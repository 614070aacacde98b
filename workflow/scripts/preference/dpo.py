"""DPO of the embedded model on training pairs: a LoRA adapter, its training log and summary."""

from replisuite.preference.pipeline import train_policy
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    train_policy(snakemake.params.study, pairs=snakemake.input.pairs, adapter_out=snakemake.output.adapter,
                 log_out=snakemake.output.log, summary_out=snakemake.output.summary, threads=snakemake.threads)
