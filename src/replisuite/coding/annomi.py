"""AnnoMI utterances, the labels of each coding task, and the flat therapist code."""

from __future__ import annotations

import os
from collections.abc import Mapping

import polars as pl

REQUIRED = ("transcript_id", "mi_quality", "utterance_id", "interlocutor", "utterance_text", "annotator_id",
            "main_therapist_behaviour", "client_talk_type", "reflection_subtype", "question_subtype",
            "therapist_input_subtype")

# task -> (speaker, label column, values that are not a label)
TASKS: Mapping[str, tuple[str, str]] = {
    "therapist_behaviour": ("therapist", "main_therapist_behaviour"),
    "client_talk_type": ("client", "client_talk_type"),
    "reflection_subtype": ("therapist", "reflection_subtype"),
    "question_subtype": ("therapist", "question_subtype"),
    "input_subtype": ("therapist", "therapist_input_subtype"),
}
MISSING = "n/a"


class AnnoMIError(ValueError):
    """The AnnoMI file lacks a column or has an unexpected value."""


def read_annomi(path: str | os.PathLike[str]) -> pl.DataFrame:
    """AnnoMI-full: one row per (utterance, annotator); columns checked, names kept."""
    frame = pl.read_csv(path, infer_schema_length=None)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise AnnoMIError(f"{path}: missing column(s) {missing}")
    bad = frame.filter(~pl.col("mi_quality").is_in(["high", "low"]))
    if bad.height:
        raise AnnoMIError(f"{path}: mi_quality must be high or low, found {bad['mi_quality'].unique().to_list()}")
    return frame


def majority(values: list[str]) -> str | None:
    """The most frequent label; None on a tie between the most frequent."""
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def utterances(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per utterance: text, speaker, the previous utterance, and each task's label.

    Utterances coded by several annotators get the majority label (ties are no label). A task's
    label is null where it does not apply (``n/a``: a client utterance has no therapist code).
    """
    label_columns = [column for _, column in TASKS.values()]
    grouped = frame.group_by("transcript_id", "utterance_id", maintain_order=True).agg(
        pl.col("mi_quality").first(), pl.col("interlocutor").first(), pl.col("utterance_text").first(),
        pl.col("topic").first() if "topic" in frame.columns else pl.lit(None).alias("topic"),
        pl.len().alias("annotators"), *[pl.col(c) for c in label_columns],
    ).sort("transcript_id", "utterance_id")
    labels = {
        task: [_label(values) for values in grouped[column].to_list()]
        for task, (_, column) in TASKS.items()
    }
    out = grouped.drop(label_columns).with_columns(
        *[pl.Series(task, values, dtype=pl.String) for task, values in labels.items()],
        pl.col("utterance_text").fill_null(""),
    )
    return out.with_columns(
        pl.col("utterance_text").shift(1).over("transcript_id").fill_null("").alias("previous_text"),
        pl.col("interlocutor").shift(1).over("transcript_id").fill_null("").alias("previous_speaker"),
    )


def _label(values: list[str | None]) -> str | None:
    present = [str(v) for v in values if v is not None and str(v) != MISSING]
    if not present or len(present) < len(values) / 2:
        return None
    return majority(present)


def task_frame(frame: pl.DataFrame, task: str) -> pl.DataFrame:
    """The utterances a task classifies (its speaker, with a label)."""
    if task not in TASKS:
        raise AnnoMIError(f"unknown task {task!r}; tasks: {list(TASKS)}")
    speaker, _ = TASKS[task]
    return frame.filter((pl.col("interlocutor") == speaker) & pl.col(task).is_not_null())


# main therapist behaviour -> the task that refines it
SUBTYPES: Mapping[str, str] = {
    "reflection": "reflection_subtype", "question": "question_subtype", "therapist_input": "input_subtype",
}
THERAPIST_CODE = "therapist_code"


def therapist_codes(frame: pl.DataFrame) -> pl.DataFrame:
    """Therapist utterances with one flat code each: the main behaviour refined by its subtype.

    ``reflection:complex``, ``question:open``, ``therapist_input:advice``, ``other``; a main
    behaviour whose subtype has no majority label keeps the bare behaviour (``reflection``).
    The code is in column :data:`THERAPIST_CODE`, the label the skill analyses count.
    """
    coded = task_frame(frame, "therapist_behaviour")
    subtype = pl.lit(None, dtype=pl.String)
    for behaviour, column in SUBTYPES.items():
        subtype = pl.when(pl.col("therapist_behaviour") == behaviour).then(pl.col(column)).otherwise(subtype)
    return coded.with_columns(
        pl.when(subtype.is_null()).then(pl.col("therapist_behaviour"))
        .otherwise(pl.concat_str(pl.col("therapist_behaviour"), pl.lit(":"), subtype)).alias(THERAPIST_CODE)
    )
