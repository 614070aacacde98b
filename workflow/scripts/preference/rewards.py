"""Bradley-Terry reward models fitted on the training questions, predictions on the held-out ones."""

from replisuite.preference.pipeline import fit_reward_models
from replisuite.runlog import log_to

with log_to(snakemake.log[0]):
    fit_reward_models(snakemake.params.study, snakemake.params.llm, pairs=snakemake.input.pairs,
                      predictions_out=snakemake.output.predictions, weights_out=snakemake.output.weights)
