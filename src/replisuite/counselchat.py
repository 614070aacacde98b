"""CounselChat (therapists' answers to posted questions, with upvotes): the one reader the topics,
judge and preference code share.
"""

from __future__ import annotations

import os

import polars as pl

QUESTION_COLUMNS = ("questionID", "questionTitle", "questionText")


class CounselChatError(ValueError):
    """The CounselChat file lacks a column."""


def read_counselchat(path: str | os.PathLike[str], *, required: tuple[str, ...]) -> pl.DataFrame:
    """The CounselChat CSV (one row per therapist answer), or an error naming the missing columns."""
    frame = pl.read_csv(path, infer_schema_length=None)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise CounselChatError(f"{path}: missing column(s) {missing}")
    return frame
