"""CounselChat answers and the therapist group each comes from."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import polars as pl

from replisuite.counselchat import CounselChatError, read_counselchat

__all__ = ["CounselChatError", "credential_group", "read_answers"]

REQUIRED = ("questionID", "topic", "therapistInfo", "answerText")
UNSTATED = "unstated"
MULTIPLE = "multiple"


def credential_group(info: str | None, patterns: Mapping[str, str]) -> str:
    """The one group whose pattern matches the therapist's stated credentials, else
    ``multiple`` (several match) or ``unstated`` (none).
    """
    hits = [group for group, pattern in patterns.items() if re.search(pattern, info or "")]
    return hits[0] if len(hits) == 1 else (MULTIPLE if hits else UNSTATED)


def read_answers(path: str | os.PathLike[str], *, groups: Mapping[str, str], min_chars: int) -> pl.DataFrame:
    """Distinct answers (at least ``min_chars`` long) with question topic and therapist group."""
    return (
        read_counselchat(path, required=REQUIRED).with_columns(pl.col("answerText").str.replace_all(r"\s+", " ").str.strip_chars().alias("text"))
        .filter(pl.col("text").is_not_null() & (pl.col("text").str.len_chars() >= min_chars))
        .unique(subset="text", keep="first", maintain_order=True)
        .select(
            pl.int_range(pl.len()).alias("doc"), pl.col("questionID").alias("question_id"),
            pl.col("topic").alias("question_topic"),
            pl.col("therapistInfo").map_elements(lambda s: credential_group(s, groups), return_dtype=pl.String).alias("group"),
            "text",
        )
    )
