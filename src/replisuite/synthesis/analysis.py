"""The synthesis study's tables from its transcripts, filter checks and benchmark judgements.

Every interval resamples the unit that was sampled: the post (one dialogue per post and generator);
a defective copy belongs to the post it was made from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.dialogue.reasoning import Knowledge
from replisuite.judge import filtering
from replisuite.stats import bootstrap_mean_ci, cluster_difference_ci, name_seed, wilson_interval

GENERATION_SCHEMA = {"generator": pl.String, "dialogues": pl.Int64, "counsellor_turns": pl.Int64, "closed": pl.Int64,
                     "unclosed": pl.Int64, "missing": pl.Int64, "filler_turns": pl.Int64, "plantable_dialogues": pl.Int64,
                     "mean_reply_words": pl.Float64, "mean_reasoning_words": pl.Float64}
DETECTION_SCHEMA = {"generator": pl.String, "filter": pl.String, "version": pl.String, "n": pl.Int64,
                    "dropped": pl.Int64, "rate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64}
VALIDATION_SCHEMA = {"generator": pl.String, "filter": pl.String, "measure": pl.String, "dialogues": pl.Int64,
                     "value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "compared_with": pl.String,
                     "judge_usable": pl.Int64, "judge_checks": pl.Int64}
DECISION_SCHEMA = {"generator": pl.String, "post": pl.String, "filter": pl.String, "kept": pl.Boolean,
                   "failed_checks": pl.String}
OUTCOME_SCHEMA = {"generator": pl.String, "filter": pl.String, "check": pl.String, "kind": pl.String,
                  "dialogues": pl.Int64, "failed": pl.Int64}
BENCHMARK_SCHEMA = {"generator": pl.String, "group": pl.String, "dimension": pl.String, "dialogues": pl.Int64,
                    "mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "unscored": pl.Int64}
PAIRS_SCHEMA = {"generator": pl.String, "degradation": pl.String, "dimension": pl.String, "source": pl.String,
                "original": pl.Float64, "degraded": pl.Float64}
DIAGNOSIS_SCHEMA = {"generator": pl.String, "measure": pl.String, "posts": pl.Int64, "hits": pl.Int64,
                    "rate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64}
SCORE = "detection score"
DIFFERENCE = "difference from the better trivial filter"
KEPT_MINUS_DROPPED = "kept - dropped"
HUMAN = "human reference"  # the version name the benchmark gives the posts' therapist answers


def generation_table(records: Sequence[Mapping[str, Any]], *, plantable) -> pl.DataFrame:
    """Per generator: dialogues, counsellor turns by reasoning status, filler turns, words."""
    rows = []
    for generator in sorted({r["generator"] for r in records}):
        mine = [r for r in records if r["generator"] == generator]
        turns = [t for r in mine for t in r["turns"] if t["role"] == "counsellor"]
        status = [t.get("reasoning_status", "missing") for t in turns]
        replies = [len(t["text"].split()) for t in turns if not t.get("filler")]
        reasoning = [len(str(t.get("reasoning") or "").split()) for t in turns if t.get("reasoning")]
        rows.append({"generator": generator, "dialogues": len(mine), "counsellor_turns": len(turns),
                     "closed": status.count("closed"), "unclosed": status.count("unclosed"),
                     "missing": status.count("missing"), "filler_turns": sum(bool(t.get("filler")) for t in turns),
                     "plantable_dialogues": sum(plantable(r["turns"]) for r in mine),
                     "mean_reply_words": float(np.mean(replies)) if replies else None,
                     "mean_reasoning_words": float(np.mean(reasoning)) if reasoning else None})
    return pl.DataFrame(rows, schema=GENERATION_SCHEMA)


def filter_outcomes(checks: pl.DataFrame) -> pl.DataFrame:
    """On the original dialogues: per generator, filter and check, how many failed it (and the
    ``kept`` row: dialogues with no failed check).
    """
    originals = checks.filter(pl.col("version") == "original")
    per_check = (originals.group_by("generator", "filter", "check", "kind")
                 .agg(pl.len().cast(pl.Int64).alias("dialogues"), pl.col("failed").sum().cast(pl.Int64).alias("failed")))
    kept = (dropped_by_unit(originals).group_by("generator", "filter")
            .agg(pl.len().cast(pl.Int64).alias("dialogues"), pl.col("dropped").sum().cast(pl.Int64).alias("failed"))
            .with_columns(pl.lit("any check (dropped)").alias("check"), pl.lit("decision").alias("kind")))
    return pl.concat([per_check, kept.select(per_check.columns)]).sort("generator", "filter", "kind", "check").cast(OUTCOME_SCHEMA)


def dialogue_decisions(checks: pl.DataFrame) -> pl.DataFrame:
    """Per generator and original dialogue: whether each filter kept it, and the checks it failed."""
    originals = checks.filter(pl.col("version") == "original")
    decided = filtering.decisions(originals, keys=("generator", "source", "filter"))
    return decided.select("generator", pl.col("source").alias("post"), "filter", (~pl.col("dropped")).alias("kept"),
                          "failed_checks").cast(DECISION_SCHEMA)


def dropped_by_unit(checks: pl.DataFrame) -> pl.DataFrame:
    """Per generator, filter and unit: ``dropped``, with the unit's source post and version."""
    return filtering.decisions(checks, keys=("generator", "filter", "unit", "source", "version"))


def defect_detection(checks: pl.DataFrame) -> pl.DataFrame:
    """Drop rates (Wilson intervals) of each filter on the untouched plantable dialogues and on each
    defect's copies.
    """
    units = dropped_by_unit(checks)
    planted_sources = units.filter(pl.col("version") != "original").select("generator", "source").unique()
    untouched = (units.filter(pl.col("version") == "original").join(planted_sources, on=["generator", "source"])
                 .with_columns(pl.lit("untouched").alias("version")))
    rows = []
    for (generator, name, version), frame in pl.concat([untouched, units.filter(pl.col("version") != "original")]).group_by(
            "generator", "filter", "version"):
        dropped = int(frame["dropped"].sum())
        rate, low, high = wilson_interval(dropped, frame.height)
        rows.append({"generator": generator, "filter": name, "version": version, "n": frame.height, "dropped": dropped,
                     "rate": rate, "ci_low": low, "ci_high": high})
    return pl.DataFrame(rows, schema=DETECTION_SCHEMA).fill_nan(None).sort("generator", "filter", "version")


def detection_scores(checks: pl.DataFrame) -> pl.DataFrame:
    """Per generator, filter and source post with planted copies: the mean over defects of
    (defective copy dropped) minus (untouched original dropped). 1: catches every defect and keeps
    the original; 0: a filter that decides without looking at the defects (e.g. at random).
    """
    units = dropped_by_unit(checks).with_columns(pl.col("dropped").cast(pl.Float64))
    original = units.filter(pl.col("version") == "original").select("generator", "filter", "source",
                                                                     pl.col("dropped").alias("original_dropped"))
    planted = (units.filter(pl.col("version") != "original").group_by("generator", "filter", "source")
               .agg(pl.col("dropped").mean().alias("defects_dropped")))
    return (planted.join(original, on=["generator", "filter", "source"])
            .with_columns((pl.col("defects_dropped") - pl.col("original_dropped")).alias("score"))
            .sort("generator", "filter", "source"))


def filter_validation(checks: pl.DataFrame, *, filter_name: str, n_boot: int, seed: int) -> pl.DataFrame:
    """Each filter's detection score with a bootstrap interval over posts, and the paired difference
    between ``filter_name`` and the better trivial filter (higher mean score), resampling posts.
    """
    scores = detection_scores(checks)
    judge = checks.filter(pl.col("kind") == "judge")
    rows = []
    for generator in sorted(scores["generator"].unique()):
        mine = scores.filter(pl.col("generator") == generator)
        usable = judge.filter(pl.col("generator") == generator)
        means = {}
        for name in sorted(mine["filter"].unique()):
            values = mine.filter(pl.col("filter") == name).sort("source")
            mean, low, high = bootstrap_mean_ci(values["score"].to_numpy(), n_boot=n_boot,
                                                seed=name_seed(seed, generator, name))
            means[name] = mean
            rows.append({"generator": generator, "filter": name, "measure": SCORE, "dialogues": values.height,
                         "value": mean, "ci_low": low, "ci_high": high, "compared_with": None})
        baselines = {k: v for k, v in means.items() if k != filter_name}
        if filter_name in means and baselines:
            best = max(sorted(baselines), key=lambda k: baselines[k])
            ours = mine.filter(pl.col("filter") == filter_name).sort("source")
            theirs = mine.filter(pl.col("filter") == best).sort("source")
            difference, low, high = cluster_difference_ci(ours["score"].to_numpy(), theirs["score"].to_numpy(), paired=True,
                                                          n_boot=n_boot, seed=name_seed(seed, generator, "difference"))
            rows.append({"generator": generator, "filter": filter_name, "measure": DIFFERENCE, "dialogues": ours.height,
                         "value": difference, "ci_low": low, "ci_high": high, "compared_with": best})
        for row in rows:
            if row["generator"] == generator:
                row.update(judge_usable=int((usable["status"] == "ok").sum()), judge_checks=usable.height)
    return pl.DataFrame(rows, schema=VALIDATION_SCHEMA).fill_nan(None)


def _totals(judgements: pl.DataFrame, version: str, dimensions: Sequence[str]) -> pl.DataFrame:
    """One row per generator and unit of ``version``: each dimension's score and the total (null
    unless every dimension was scored).
    """
    rows = judgements.filter((pl.col("version") == version) & (pl.col("repeat") == 0))
    if rows.height == 0:
        return pl.DataFrame(schema={"generator": pl.String, "unit": pl.String, **dict.fromkeys(dimensions, pl.Int64),
                                    "total": pl.Float64})
    wide = rows.pivot(on="item", index=["generator", "unit"], values="score")
    for dimension in dimensions:
        if dimension not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Int64).alias(dimension))
    missing = pl.any_horizontal(*(pl.col(d).is_null() for d in dimensions))
    return wide.with_columns(pl.when(missing).then(None).otherwise(pl.sum_horizontal(*dimensions))
                             .cast(pl.Float64).alias("total"))


def benchmark_scores(judgements: pl.DataFrame, checks: pl.DataFrame, *, dimensions: Sequence[str], n_boot: int,
                     seed: int) -> pl.DataFrame:
    """Mean rubric scores of the original dialogues per generator, for those the filter kept, those it
    dropped and all, per dimension and total (null unless every dimension was scored), with
    intervals over dialogues; kept minus dropped (posts resampled within each group); and the
    human reference (the posts' top-voted therapist answers) where it was scored.
    """
    decided = dropped_by_unit(checks.filter(pl.col("version") == "original"))
    wide = _totals(judgements, "original", dimensions).join(
        decided.filter(pl.col("filter") == "filter").select("generator", "unit", "dropped"), on=["generator", "unit"],
        how="left")
    reference = _totals(judgements, HUMAN, dimensions)
    rows = []
    for generator in sorted(wide["generator"].unique()):
        mine = wide.filter(pl.col("generator") == generator)
        groups = {"all": mine, "kept": mine.filter(pl.col("dropped") == False),  # noqa: E712 (a polars expression)
                  "dropped": mine.filter(pl.col("dropped") == True),  # noqa: E712
                  HUMAN: reference.filter(pl.col("generator") == generator)}
        for dimension in [*dimensions, "total"]:
            for group, frame in groups.items():
                if group == HUMAN and frame.height == 0:
                    continue
                values = frame[dimension].cast(pl.Float64).to_numpy()
                mean, low, high = bootstrap_mean_ci(values, n_boot=n_boot, seed=name_seed(seed, generator, group, dimension))
                rows.append({"generator": generator, "group": group, "dimension": dimension,
                             "dialogues": frame.height, "mean": mean, "ci_low": low, "ci_high": high,
                             "unscored": int(frame[dimension].is_null().sum())})
            difference, low, high = cluster_difference_ci(
                groups["kept"][dimension].cast(pl.Float64).to_numpy(), groups["dropped"][dimension].cast(pl.Float64).to_numpy(),
                paired=False, n_boot=n_boot, seed=name_seed(seed, generator, KEPT_MINUS_DROPPED, dimension))
            rows.append({"generator": generator, "group": KEPT_MINUS_DROPPED, "dimension": dimension,
                         "dialogues": mine.height, "mean": difference, "ci_low": low, "ci_high": high,
                         "unscored": int(mine[dimension].is_null().sum())})
    return pl.DataFrame(rows, schema=BENCHMARK_SCHEMA).fill_nan(None)


def floor_pairs(judgements: pl.DataFrame, degradations: Mapping[str, tuple[str, str]]) -> pl.DataFrame:
    """Per generator, degradation and source dialogue: the original's and the degraded copy's score
    on the dimension the degradation targets (the judge's planted easy contrast).
    """
    scores = judgements.filter(pl.col("repeat") == 0)
    rows = []
    for kind, (dimension, _) in degradations.items():
        degraded = scores.filter((pl.col("version") == kind) & (pl.col("item") == dimension))
        original = scores.filter((pl.col("version") == "original") & (pl.col("item") == dimension))
        joined = degraded.join(original.select("generator", pl.col("unit").alias("source"), pl.col("score").alias("original")),
                               on=["generator", "source"], how="left")
        rows.extend({"generator": r["generator"], "degradation": kind, "dimension": dimension, "source": r["source"],
                     "original": r["original"], "degraded": r["score"]} for r in joined.iter_rows(named=True))
    return pl.DataFrame(rows, schema=PAIRS_SCHEMA).sort("generator", "degradation", "source")


def diagnosis_table(records: Sequence[Mapping[str, Any]], *, topic_map: Mapping[str, str], knowledge: Knowledge,
                    posts_text: Mapping[str, str]) -> pl.DataFrame:
    """How often a dialogue's reasoning names the condition its post's topic maps to (posts whose
    topic maps to none are left out and counted), beside two guesses that read no reasoning: the
    majority condition among the mapped posts, and the conditions the post's own words name.
    """
    rows = []
    for generator in sorted({r["generator"] for r in records}):
        mine = [r for r in records if r["generator"] == generator]
        mapped = [r for r in mine if r.get("topic") in topic_map]
        truth = [topic_map[r["topic"]] for r in mapped]
        reasoning = [" ".join(str(t.get("reasoning") or "") for t in r["turns"] if t["role"] == "counsellor") for r in mapped]
        hits = sum(condition in knowledge.conditions_named(text) for condition, text in zip(truth, reasoning, strict=True))
        majority = max((truth.count(c) for c in set(truth)), default=0)
        keyword = sum(condition in knowledge.conditions_named(posts_text[r["profile_id"]])
                      for condition, r in zip(truth, mapped, strict=True))
        for measure, count in (("reasoning names the topic's condition", hits), ("majority condition guess", majority),
                               ("keyword match on the post", keyword)):
            rate, low, high = wilson_interval(count, len(mapped))
            rows.append({"generator": generator, "measure": measure, "posts": len(mapped), "hits": count, "rate": rate,
                         "ci_low": low, "ci_high": high})
        rows.append({"generator": generator, "measure": "posts without a mapped topic (left out)",
                     "posts": len(mine) - len(mapped), "hits": None, "rate": None, "ci_low": None, "ci_high": None})
    return pl.DataFrame(rows, schema=DIAGNOSIS_SCHEMA).fill_nan(None)
