"""Reward-model accuracy and calibration, principle agreement, tuned vs base, and the figures."""

from replisuite.preference.pipeline import summarise
from replisuite.runlog import log_to

inp, out = snakemake.input, snakemake.output
tables = ["reward_accuracy", "calibration", "principle_agreement", "policy_comparison"]
figures = ["reward_accuracy", "calibration", "win_rate", "lengths", "dpo_loss"]
with log_to(snakemake.log[0]):
    summarise(snakemake.params.study, pairs=inp.pairs, predictions=list(inp.predictions), agreements=list(inp.agreements),
              comparisons=list(inp.comparisons), dpo_log=inp.dpo_log, replies=list(inp.replies),
              labels={name: entry["label"] for name, entry in snakemake.params.labels["models"].items()},
              tables={name: out[name] for name in tables},
              figure_stems={name: out[f"figure_{name}"].removesuffix(".png") for name in figures})
