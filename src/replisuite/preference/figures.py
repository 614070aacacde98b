"""Figures of the preference study: reward-model accuracy, calibration, tuned-vs-base win rate,
reply lengths, and the DPO training loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl
from matplotlib import pyplot as plt


def reward_accuracy(accuracy: pl.DataFrame):
    """Held-out pairwise accuracy per reward model with its interval; the coin flip as a line."""
    frame = accuracy.filter(pl.col("model") != "coin flip").sort("accuracy")
    figure, axis = plt.subplots(figsize=(5.5, 0.45 * max(frame.height, 2) + 1))
    y = np.arange(frame.height)
    axis.barh(y, frame["accuracy"], color="tab:blue", alpha=0.7)
    axis.errorbar(frame["accuracy"], y, xerr=[frame["accuracy"] - frame["ci_low"], frame["ci_high"] - frame["accuracy"]],
                  fmt="none", ecolor="black", capsize=3, lw=0.8)
    axis.axvline(0.5, color="grey", ls="--", lw=0.8, label="coin flip")
    axis.set_yticks(y, frame["model"], fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_xlabel("pairwise accuracy on held-out questions (95% CI over questions)")
    axis.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure


def calibration(table: pl.DataFrame):
    """Predicted probability that the first reply is preferred against the observed share, per model."""
    figure, axis = plt.subplots(figsize=(4.2, 4))
    axis.plot([0, 1], [0, 1], color="grey", ls="--", lw=0.8)
    for (model,), frame in table.group_by("model", maintain_order=True):
        axis.plot(frame["mean_predicted"], frame["observed"], marker="o", ms=3, lw=1, label=model)
    axis.set_xlabel("predicted P(first reply preferred)")
    axis.set_ylabel("observed share")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.legend(fontsize=6)
    figure.tight_layout()
    return figure


def win_rate(policy: pl.DataFrame, labels: Mapping[str, str]):
    """Judge win rate of the tuned policy over the base (ties count half) with its interval, per judge."""
    frame = policy.filter(pl.col("measure") == "judge win rate of dpo over base")
    figure, axis = plt.subplots(figsize=(5, 0.5 * max(frame.height, 2) + 1))
    y = np.arange(frame.height)
    axis.errorbar(frame["estimate"], y, xerr=[frame["estimate"] - frame["ci_low"], frame["ci_high"] - frame["estimate"]],
                  fmt="o", color="tab:green", capsize=3)
    axis.axvline(0.5, color="grey", ls="--", lw=0.8)
    axis.set_yticks(y, [labels.get(j, j) for j in frame["judge"]], fontsize=7)
    axis.set_xlim(0, 1)
    axis.set_xlabel("win rate of the DPO-tuned model over the base (judge, both positions)")
    figure.tight_layout()
    return figure


def lengths(pairs: pl.DataFrame, replies: pl.DataFrame):
    """Words per reply: upvoted vs less upvoted human replies, base vs tuned model replies."""
    groups = {"chosen (human)": pairs["chosen"].str.split(" ").list.len().to_numpy(),
              "rejected (human)": pairs["rejected"].str.split(" ").list.len().to_numpy()}
    for (policy,), frame in replies.group_by("policy", maintain_order=True):
        groups[f"{policy} model"] = frame["words"].to_numpy()
    figure, axis = plt.subplots(figsize=(5.5, 3.2))
    axis.boxplot(list(groups.values()), showfliers=False)
    axis.set_xticks(range(1, len(groups) + 1), list(groups), fontsize=7)
    axis.set_ylabel("words per reply")
    figure.tight_layout()
    return figure


def dpo_loss(log: pl.DataFrame):
    """DPO training loss and reward margin per step (log 2 is the loss before any update)."""
    figure, axis = plt.subplots(figsize=(5, 3.2))
    axis.plot(log["step"], log["loss"], marker="o", ms=3, label="DPO loss")
    axis.axhline(np.log(2), color="grey", ls="--", lw=0.8, label="log 2 (untrained)")
    axis.set_xlabel("step")
    axis.set_ylabel("loss")
    twin = axis.twinx()
    twin.plot(log["step"], log["reward_margin"], color="tab:orange", lw=1, label="reward margin")
    twin.set_ylabel("reward margin (chosen - rejected)", color="tab:orange")
    axis.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    return figure
