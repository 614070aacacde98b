"""The posts a synthesis run starts from: CounselChat questions (title and text, one per question,
its topic kept aside for validation) or any JSONL file with ``id`` and ``text`` (``topic`` optional).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import polars as pl
import yaml

from replisuite.counselchat import read_counselchat
from replisuite.stats import name_seed
from replisuite.tables import read_jsonl

POST_SCHEMA = {"id": pl.String, "text": pl.String, "topic": pl.String}


class PostError(ValueError):
    """A post file or the topic map is malformed."""


def counselchat_posts(path: str | os.PathLike[str], *, topics: Sequence[str] | None, per_topic: int,
                      seed: int) -> pl.DataFrame:
    """``per_topic`` questions of each of ``topics`` (None: every topic), picked in an order drawn
    from each question's id, so adding a topic or a post leaves the others' choice unchanged.
    """
    frame = read_counselchat(path, required=("questionID", "questionTitle", "questionText", "topic"))
    questions = (frame.unique("questionID", keep="first", maintain_order=True)
                 .filter(pl.col("questionText").is_not_null() & (pl.col("questionText").str.strip_chars() != "")))
    available = set(questions["topic"].drop_nulls())
    unknown = sorted(set(topics or ()) - available)
    if unknown:
        raise PostError(f"{path}: no question has topic(s) {unknown}; topics are {sorted(available)}")
    if topics is not None:
        questions = questions.filter(pl.col("topic").is_in(list(topics)))
    ranked = questions.with_columns(
        pl.col("questionID").map_elements(lambda q: name_seed(seed, "post", str(q)), return_dtype=pl.UInt64).alias("_rank"))
    chosen = ranked.sort("topic", "_rank").group_by("topic", maintain_order=True).head(per_topic)
    return chosen.select(
        pl.concat_str(pl.lit("cc"), pl.col("questionID").cast(pl.String)).alias("id"),
        pl.concat_str(pl.col("questionTitle").fill_null(""), pl.lit(" "), pl.col("questionText"))
        .str.replace_all(r"\s+", " ").str.strip_chars().alias("text"),
        pl.col("topic").cast(pl.String),
    ).sort("id")


def counselchat_answers(path: str | os.PathLike[str], post_ids: Sequence[str]) -> dict[str, str]:
    """Per post id (``cc<questionID>``), the therapists' answer with the most upvotes (the first
    such in the file on a tie): the human reference the benchmark scores beside the models.
    """
    frame = read_counselchat(path, required=("questionID", "answerText", "upvotes"))
    answers = (frame.filter(pl.col("answerText").is_not_null() & (pl.col("answerText").str.strip_chars() != ""))
               .with_columns(pl.concat_str(pl.lit("cc"), pl.col("questionID").cast(pl.String)).alias("id"),
                             pl.col("upvotes").cast(pl.Int64, strict=False).fill_null(0))
               .filter(pl.col("id").is_in(list(post_ids)))
               .with_row_index("_position")
               .sort("upvotes", "_position", descending=[True, False])
               .unique("id", keep="first", maintain_order=True))
    return {row["id"]: " ".join(row["answerText"].split()) for row in answers.iter_rows(named=True)}


def jsonl_posts(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Posts from a JSONL file (``id`` and ``text``; ``topic`` optional): errors name the file and line."""
    rows = read_jsonl(path, required=("id", "text"), error=PostError)
    seen = set()
    for number, row in enumerate(rows, start=1):
        if not isinstance(row["text"], str) or not row["text"].strip():
            raise PostError(f"{path}: post {number} (id {row['id']!r}): field 'text' must be a non-empty string")
        if str(row["id"]) in seen:
            raise PostError(f"{path}: post {number}: duplicate id {row['id']!r}")
        seen.add(str(row["id"]))
    if not rows:
        raise PostError(f"{path}: no posts")
    return pl.DataFrame([{"id": str(r["id"]), "text": " ".join(r["text"].split()),
                          "topic": None if r.get("topic") is None else str(r["topic"])} for r in rows], schema=POST_SCHEMA)


def read_topic_map(path: str | os.PathLike[str], *, conditions: Sequence[str]) -> dict[str, str]:
    """The topic -> condition map (YAML ``topics: {topic: condition id}``), every condition known."""
    try:
        values = yaml.safe_load(open(path, encoding="utf-8"))
    except yaml.YAMLError as problem:
        raise PostError(f"{path}: not valid YAML ({problem})") from None
    mapping = values.get("topics") if isinstance(values, Mapping) else None
    if not isinstance(mapping, Mapping) or not mapping:
        raise PostError(f"{path}: expected a mapping 'topics' of topic -> condition id")
    unknown = sorted({str(v) for v in mapping.values()} - set(conditions))
    if unknown:
        raise PostError(f"{path}: topics map to unknown condition(s) {unknown}; the knowledge file has {sorted(conditions)}")
    return {str(k): str(v) for k, v in mapping.items()}
