"""The judge study's tables: validity against expert labels (AUC), reliability (repeats, judge vs
judge) and the arena (Bradley-Terry ratings, position bias, agreement with upvotes).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import polars as pl
from scipy import stats

from replisuite.judge import pairwise
from replisuite.judge.judging import totals
from replisuite.judge.reliability import auc_ci, cohen_kappa, icc_2_1, krippendorff_alpha, spearman
from replisuite.judge.rubrics import Rubric
from replisuite.stats import name_seed

POSITIVE = "high"  # AnnoMI's expert label of high-quality MI
VALIDATION_SCHEMA = {"set": pl.String, "judge": pl.String, "rubric": pl.String, "measure": pl.String, "value": pl.Float64,
                     "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "note": pl.String}


def session_totals(judgements: pl.DataFrame, rubrics: Mapping[str, Rubric]) -> pl.DataFrame:
    """Per judge, unit, rubric and repeat: the total, joined with the unit's label and length."""
    units = judgements.select("judge", "unit", "label", "counsellor_words", "truncated_chars").unique(maintain_order=True)
    table = totals(judgements.select("judge", "unit", "rubric", "item", "repeat", "score"), rubrics)
    return table.join(units, on=["judge", "unit"], how="left")


def validation(judgements: pl.DataFrame, rubrics: Mapping[str, Rubric], *, n_boot: int, seed: int,
               stigma_agreement: pl.DataFrame | None = None) -> pl.DataFrame:
    """AUC of each judge's rubric total (repeat 0) for the expert label, with the trivial baseline
    (counsellor words) and chance beside it; then the stigma study's judge-vs-human agreement.
    """
    rows = []
    first = session_totals(judgements, rubrics).filter(pl.col("repeat") == 0)
    for (judge, rubric), frame in first.group_by("judge", "rubric", maintain_order=True):
        usable = frame.filter(pl.col("total").is_not_null())
        value, low, high = auc_ci(usable["total"].to_numpy(), (usable["label"] == POSITIVE).to_numpy(), n_boot=n_boot,
                                  seed=name_seed(seed, judge, rubric))
        rows.append(("annomi_mi_quality", judge, rubric, "auc", value, low, high, usable.height,
                     f"{frame.height - usable.height} sessions without a complete total; "
                     f"{int((frame['truncated_chars'] > 0).sum())} transcripts truncated"))
    for (judge,), frame in first.group_by("judge", maintain_order=True):
        units = frame.unique("unit", maintain_order=True).sort("unit")
        value, low, high = auc_ci(units["counsellor_words"].to_numpy().astype(float), (units["label"] == POSITIVE).to_numpy(),
                                  n_boot=n_boot, seed=name_seed(seed, judge, "length"))
        rows.append(("annomi_mi_quality", "baseline: counsellor words", judge, "auc", value, low, high, units.height,
                     "the trivial guess on the same sessions (longer counselling talk = higher quality)"))
        rows.append(("annomi_mi_quality", "chance", judge, "auc", 0.5, None, None, units.height, "no information"))
    if stigma_agreement is not None:
        for row in stigma_agreement.iter_rows(named=True):
            rows.append(("stigma_appropriateness", row["rater_a"], row["rater_b"], "cohen_kappa", row["cohen_kappa"], None, None,
                         row["n"], f"from results/stigma/tables/judge_agreement.csv (agreement {row['agreement']:.3f})"))
    return pl.DataFrame(rows, schema=VALIDATION_SCHEMA, orient="row")


def item_validation(judgements: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Per judge, rubric and item: AUC of the item's score (repeat 0) for the expert label."""
    rows = []
    first = judgements.filter(pl.col("repeat") == 0)
    for (judge, rubric, item), frame in first.group_by("judge", "rubric", "item", maintain_order=True):
        usable = frame.filter(pl.col("score").is_not_null())
        value, low, high = auc_ci(usable["score"].to_numpy().astype(float), (usable["label"] == POSITIVE).to_numpy(),
                                  n_boot=n_boot, seed=name_seed(seed, judge, rubric, item))
        rows.append({"judge": judge, "rubric": rubric, "item": item, "auc": value, "ci_low": low, "ci_high": high,
                     "n": usable.height, "unusable": frame.height - usable.height})
    return pl.DataFrame(rows, schema={"judge": pl.String, "rubric": pl.String, "item": pl.String, "auc": pl.Float64,
                                      "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "unusable": pl.Int64})


FLOOR_SCHEMA = {"judge": pl.String, "rubric": pl.String, "unit": pl.String, "original": pl.Float64,
                "degraded": pl.Float64, "distinct_totals": pl.Int64}


def planted_contrast(judgements: pl.DataFrame, degraded: pl.DataFrame, rubrics: Mapping[str, Rubric]) -> pl.DataFrame:
    """The judge's task floor, per rubric and floor session: its total (repeat 0) beside the total of
    its copy with every counsellor turn degraded, and how many distinct totals the judge gave over
    the validation sessions (a judge with one total for everything separates nothing).
    """
    originals = session_totals(judgements, rubrics).filter(pl.col("repeat") == 0)
    copies = totals(degraded.select("judge", "unit", "rubric", "item", "repeat", "score"), rubrics).with_columns(
        pl.col("unit").str.strip_suffix("#degraded")).select("judge", "rubric", "unit", pl.col("total").alias("degraded"))
    distinct = originals.group_by("judge", "rubric").agg(pl.col("total").drop_nulls().n_unique().alias("distinct_totals"))
    return (copies.join(originals.select("judge", "rubric", "unit", pl.col("total").alias("original")),
                        on=["judge", "rubric", "unit"], how="left")
            .join(distinct, on=["judge", "rubric"], how="left")
            .select(list(FLOOR_SCHEMA)).cast(FLOOR_SCHEMA).sort("judge", "rubric", "unit"))


RELIABILITY_SCHEMA = {"comparison": pl.String, "judge": pl.String, "other": pl.String, "rubric": pl.String,
                      "items_alpha": pl.Float64, "items_weighted_kappa": pl.Float64, "totals_icc": pl.Float64,
                      "totals_spearman": pl.Float64, "units": pl.Int64, "raters": pl.Int64}


def reliability(judgements: pl.DataFrame, rubrics: Mapping[str, Rubric]) -> pl.DataFrame:
    """Repeat agreement of each judge (its repeats as raters) and, with two or more judges,
    judge-vs-judge agreement (repeat 0): Krippendorff's ordinal alpha and mean quadratic-weighted
    kappa over item scores, ICC(2,1) and Spearman of the totals.
    """
    rows = []
    table = session_totals(judgements, rubrics)
    for (judge, rubric), frame in judgements.group_by("judge", "rubric", maintain_order=True):
        repeats = sorted(frame["repeat"].unique())
        if len(repeats) < 2:
            continue
        rows.append(_agreement("repeats", judge, "", rubric, frame, table.filter((pl.col("judge") == judge) & (pl.col("rubric") == rubric)),
                               rater="repeat", scale=rubric_scale(rubrics[rubric])))
    first = judgements.filter(pl.col("repeat") == 0)
    for a, b in combinations(sorted(first["judge"].unique()), 2):
        for rubric in sorted(set(first.filter(pl.col("judge") == a)["rubric"]) & set(first.filter(pl.col("judge") == b)["rubric"])):
            pair = first.filter(pl.col("judge").is_in([a, b]) & (pl.col("rubric") == rubric))
            pair_totals = table.filter(pl.col("judge").is_in([a, b]) & (pl.col("rubric") == rubric) & (pl.col("repeat") == 0))
            rows.append(_agreement("judge_vs_judge", a, b, rubric, pair, pair_totals, rater="judge",
                                   scale=rubric_scale(rubrics[rubric])))
    return pl.DataFrame(rows, schema=RELIABILITY_SCHEMA)


def rubric_scale(rubric: Rubric) -> list[int]:
    """Every score point of the rubric's items, in order: the categories of a weighted kappa, so
    that a point no judge used still counts.
    """
    return sorted({value for item in rubric.items for value in item.scale.values})


def _agreement(comparison: str, judge: str, other: str, rubric: str, items: pl.DataFrame, rubric_totals: pl.DataFrame,
               *, rater: str, scale: list[int]) -> dict:
    wide = items.with_columns(pl.concat_str("unit", "item", separator="|").alias("cell")).pivot(
        on=rater, index="cell", values="score", sort_columns=True)
    matrix = wide.drop("cell").to_numpy().astype(np.float64)
    raters = matrix.shape[1]
    kappas = [cohen_kappa(matrix[:, i], matrix[:, j], weights="quadratic", categories=scale)
              for i, j in combinations(range(raters), 2)]
    total_wide = rubric_totals.pivot(on=rater, index="unit", values="total", sort_columns=True).drop("unit")
    total_matrix = total_wide.to_numpy().astype(np.float64)
    return {"comparison": comparison, "judge": judge, "other": other, "rubric": rubric,
            "items_alpha": krippendorff_alpha(matrix.T, level="ordinal"),
            "items_weighted_kappa": float(np.nanmean(kappas)) if kappas else float("nan"),
            "totals_icc": icc_2_1(total_matrix),
            "totals_spearman": spearman(total_matrix[:, 0], total_matrix[:, 1]) if raters >= 2 else float("nan"),
            "units": rubric_totals["unit"].n_unique(), "raters": raters}


def arena(pairs: pl.DataFrame, replies: pl.DataFrame, *, n_boot: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per judge: Bradley-Terry ratings of the reply sources (bootstrap over questions), and the
    checks: position-bias rate, and how often the judge prefers the more upvoted human answer.
    """
    ratings, checks = [], []
    votes = {(r["context"], r["reply"]): r["upvotes"] for r in replies.iter_rows(named=True) if r["upvotes"] is not None}
    for (judge,), frame in pairs.group_by("judge", maintain_order=True):
        table = pairwise.ratings(frame, n_boot=n_boot, seed=name_seed(seed, judge))
        ratings.append(table.with_columns(pl.lit(judge).alias("judge")))
        bias = pairwise.position_bias(frame)
        human = frame.filter((pl.col("status") == "ok") & pl.col("winner").str.starts_with("human")
                             & pl.col("loser").str.starts_with("human"))
        agree = sum(votes[(c, w)] > votes[(c, lo)] for c, w, lo in zip(human["context"], human["winner"], human["loser"], strict=True))
        checks.append({"judge": judge, **bias, "upvote_pairs": human.height,
                       "upvote_agreement": agree / human.height if human.height else None,
                       # against chance (0.5): a judge that ignores quality agrees with the upvotes half the time
                       "upvote_p": float(stats.binomtest(agree, human.height, 0.5).pvalue) if human.height else None})
    columns = ["judge", "reply", "strength", "ci_low", "ci_high", "games", "wins"]
    return pl.concat(ratings).select(columns), pl.DataFrame(checks)
