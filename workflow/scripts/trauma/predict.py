"""Out-of-fold trajectory predictions (mean, lexicon, embedding ridge) and each rater's ratings."""

from replisuite.runlog import log_to
from replisuite.trauma.pipeline import predict

with log_to(snakemake.log[0]):
    predict(snakemake.params.study, snakemake.params.llm, trajectories_in=snakemake.input.trajectories,
            out=snakemake.output.predictions, provenance_out=snakemake.output.provenance, threads=snakemake.threads)
