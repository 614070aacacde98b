"""Rates with bootstrap intervals, tests, baselines, agreement and checks against the paper."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl
from scipy.stats import chi2_contingency

from replisuite.stats import bh_fdr, bootstrap_mean_ci, cohen_kappa
from replisuite.stigma.interjections import judge_answer

RATE_SCHEMA_BASE = {"rate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64, "n_missing": pl.Int64}


def rates(frame: pl.DataFrame, value: str, by: Sequence[str], *, n_boot: int, seed: int) -> pl.DataFrame:
    """Mean of ``value`` per group with a bootstrap 95% interval; missing values are counted.

    ``value`` is 0/1 with NaN or null for missing answers (they are excluded from the rate).
    """
    rows = []
    for keys, group in frame.sort(list(by)).group_by(list(by), maintain_order=True):
        values = group[value].cast(pl.Float64).fill_null(np.nan).to_numpy()
        rate, low, high = bootstrap_mean_ci(values, n_boot=n_boot, seed=seed)
        present = int((~np.isnan(values)).sum())
        rows.append({**dict(zip(by, keys, strict=True)), "rate": rate, "ci_low": low, "ci_high": high,
                     "n": present, "n_missing": len(values) - present})
    schema = {column: frame.schema[column] for column in by} | RATE_SCHEMA_BASE
    return pl.DataFrame(rows, schema=schema)


STIMULUS_SCHEMA = {"model": pl.String, "steel_man": pl.Boolean, "condition": pl.String, "stimulus": pl.String,
                   "rate": pl.Float64, "n": pl.Int64}


def stimulus_rates(frame: pl.DataFrame, value: str, *, stimulus: str,
                   by: Sequence[str] = ("model", "steel_man")) -> pl.DataFrame:
    """Mean of ``value`` per stimulus (a vignette, an interjection) within each group: the unit the
    study sampled. Replies to one stimulus are not independent (the same stimulus asked again, or
    answered by several therapists), so contrasts resample these rows, each stimulus weighted once.
    """
    present = frame.filter(pl.col(value).is_not_null() & pl.col(value).cast(pl.Float64).is_not_nan())
    return (present.group_by(*by, "condition", stimulus, maintain_order=True)
            .agg(pl.col(value).cast(pl.Float64).mean().alias("rate"), pl.len().alias("n"))
            .rename({stimulus: "stimulus"}).with_columns(pl.col("stimulus").cast(pl.String), pl.col("n").cast(pl.Int64))
            .select(*by, "condition", "stimulus", "rate", "n").sort(*by, "condition", "stimulus"))


FLOOR_SCHEMA = {"model": pl.String, "items": pl.Int64, "answered": pl.Int64, "distinct_answers": pl.Int64}


def chooser_floor(answers: pl.DataFrame) -> pl.DataFrame:
    """Per model, what its task floor reads (no condition compared): stigma items answered with an
    option of the item, of all asked, and how many different options it chose across the items.
    """
    return (answers.group_by("model", maintain_order=True)
            .agg(pl.len().alias("items"), pl.col("answer").is_not_null().sum().alias("answered"),
                 pl.col("answer").drop_nulls().n_unique().alias("distinct_answers"))
            .cast(FLOOR_SCHEMA).sort("model"))


def condition_tests(answers: pl.DataFrame, *, by: Sequence[str] = ("model", "steel_man")) -> pl.DataFrame:
    """Does stigma differ between conditions? Chi-square on stigma x condition per group, BH across groups."""
    stigma = answers.filter(pl.col("stigma").is_not_nan() & pl.col("stigma").is_not_null())
    rows = []
    for keys, group in stigma.sort(list(by)).group_by(list(by), maintain_order=True):
        table = group.group_by("condition").agg(
            (pl.col("stigma") == 1).sum().alias("yes"), (pl.col("stigma") == 0).sum().alias("no")
        ).sort("condition")
        counts = table.select("yes", "no").to_numpy()
        counts = counts[counts.sum(axis=1) > 0]
        usable = counts.shape[0] >= 2 and (counts.sum(axis=0) > 0).all()
        chi2, p, dof = (chi2_contingency(counts)[:3] if usable else (np.nan, np.nan, 0))
        rows.append({**dict(zip(by, keys, strict=True)), "conditions": int(counts.shape[0]), "n": int(counts.sum()),
                     "chi2": float(chi2), "dof": int(dof), "p_value": float(p)})
    frame = pl.DataFrame(rows, schema={c: answers.schema[c] for c in by} | {
        "conditions": pl.Int64, "n": pl.Int64, "chi2": pl.Float64, "dof": pl.Int64, "p_value": pl.Float64})
    return frame.with_columns(pl.Series("p_bh", bh_fdr(frame["p_value"].to_numpy()), dtype=pl.Float64))


def gss_baseline(path: str | os.PathLike[str], directions: Mapping[str, str]) -> pl.DataFrame:
    """GSS 2018 percentages (respondents, by condition) for the stigma questions, as fractions."""
    frame = pl.read_csv(path, encoding="utf8-lossy")
    frame = frame.rename({frame.columns[0]: "question_only"})
    frame = frame.with_columns(pl.col("question_only").str.strip_chars("\ufeff "))
    long = frame.unpivot(index="question_only", variable_name="condition", value_name="percent")
    return (
        long.filter(pl.col("question_only").is_in(list(directions)))
        .with_columns((pl.col("percent").cast(pl.Float64) / 100).alias("rate"), pl.lit("GSS 2018 (humans)").alias("model"))
        .select("model", "condition", "question_only", "rate")
        .sort("condition", "question_only")
    )


def compare_stigma_with_published(
    answers: pl.DataFrame, stimuli: pl.DataFrame, combined_path: str | os.PathLike[str], short_names: Mapping[str, str]
) -> pl.DataFrame:
    """Our stigma codes against the published ``all_combined.csv`` (steel-man runs), row for row.

    Returns one row per published model: rows published, rows matched by prompt, and how many
    of our codes equal the published ``code``.
    """
    published = pl.read_csv(combined_path, columns=["prompt", "code", "model"])
    published = published.filter(pl.col("model").is_in(list(short_names.values())))
    ours = (
        answers.filter(pl.col("steel_man"))
        .join(stimuli.select("item", "prompt"), on="item")
        .with_columns(pl.col("model").replace_strict(short_names, default=None).alias("short"))
    )
    rows = []
    for (short,), group in published.group_by(["model"], maintain_order=True):
        mine = ours.filter(pl.col("short") == short)
        joined = group.join(mine.select("prompt", "stigma"), on="prompt", how="left")
        equal = joined.filter(pl.col("stigma").is_not_null() & (pl.col("stigma") == pl.col("code")))
        ours_coded = int(mine.filter(pl.col("stigma").is_not_nan() & pl.col("stigma").is_not_null()).height)
        rows.append({"published_model": short, "published_rows": group.height, "matched_rows": int(joined["stigma"].is_not_null().sum()),
                     "equal_codes": equal.height, "our_coded_rows": ours_coded})
    return pl.DataFrame(rows).sort("published_model")


def compare_interjections_with_published(verdicts: pl.DataFrame, combined_path: str | os.PathLike[str], short_names: Mapping[str, str]) -> pl.DataFrame:
    """Appropriateness per model x condition: ours (from raw records) vs the published table."""
    published = pl.read_csv(combined_path, columns=["participant_type", "condition", "correct_response", "key"], infer_schema_length=None)
    shorts = set(short_names.values())
    published = published.filter(pl.col("participant_type").is_in(shorts))
    theirs = published.group_by("participant_type", "condition").agg(
        pl.col("correct_response").cast(pl.Float64).mean().alias("published_rate"), pl.len().alias("published_n"))
    ours = (
        verdicts.filter(pl.col("steel_man") & ~pl.col("contextualize"))
        .with_columns(pl.col("model").replace_strict(short_names, default=None).alias("participant_type"))
        .filter(pl.col("participant_type").is_in(shorts))
        .group_by("participant_type", "condition")
        .agg(pl.col("appropriate").cast(pl.Float64).mean().alias("our_rate"), pl.len().alias("our_n"))
    )
    joined = theirs.join(ours, on=["participant_type", "condition"], how="left")
    return joined.with_columns(
        ((pl.col("published_rate") - pl.col("our_rate")).abs() < 1e-12).fill_null(False).alias("equal")
    ).rename({"participant_type": "published_model"}).sort("published_model", "condition")


def human_verdicts(paths: Mapping[str, str | os.PathLike[str]]) -> pl.DataFrame:
    """Appropriateness of human therapists' and commercial bots' replies, graded by the authors."""
    frames = []
    for name, path in paths.items():
        frame = pl.read_csv(path, infer_schema_length=None)
        verdicts = [
            judge_answer(label, [o.strip() for o in options.split(",")]) if label is not None else None
            for label, options in zip(frame["human_classification"], frame["verification_options"], strict=True)
        ]
        frames.append(frame.select(
            pl.lit(name).alias("model"), pl.col("id").alias("stimulus"), "condition",
            pl.Series("verdict", verdicts, dtype=pl.String), pl.col("verification_correct").alias("correct"),
        ).with_columns((pl.col("verdict") == pl.col("correct")).fill_null(False).alias("appropriate")))
    return pl.concat(frames)


def judge_agreement(path: str | os.PathLike[str], *, judge_field: str, annotators: Sequence[str]) -> pl.DataFrame:
    """Cohen's kappa of the judge with each annotator and between annotators, on the validation set."""
    raters = [judge_field, *annotators]
    # labels are compared case-insensitively ("Yes" from one annotator, "yes" from another)
    frame = pl.read_csv(path, infer_schema_length=None).with_columns(
        pl.col(r).str.strip_chars().str.to_lowercase() for r in raters
    )
    rows = []
    for i, a in enumerate(raters):
        for b in raters[i + 1 :]:
            both = frame.filter(pl.col(a).is_not_null() & pl.col(b).is_not_null())
            rows.append({"rater_a": a, "rater_b": b, "n": both.height,
                         "agreement": float((both[a] == both[b]).mean()) if both.height else np.nan,
                         "cohen_kappa": cohen_kappa(both[a].to_list(), both[b].to_list())})
    return pl.DataFrame(rows)
