"""Per-session code rates: the share of each code among a session's coded utterances."""

from __future__ import annotations

import polars as pl


def session_rates(labels: pl.DataFrame, *, task: str, column: str = "label", source: str) -> pl.DataFrame:
    """Share of each code among a session's coded utterances of ``task`` (long format).

    ``labels`` has transcript_id, mi_quality and ``column`` (annotated or predicted codes).
    """
    counts = labels.group_by("transcript_id", "mi_quality", column).agg(pl.len().alias("n"))
    totals = counts.group_by("transcript_id").agg(pl.col("n").sum().alias("total"))
    codes = sorted(labels[column].unique().to_list())
    grid = (
        labels.select("transcript_id", "mi_quality").unique()
        .join(pl.DataFrame({column: codes}), how="cross")
        .join(counts.drop("mi_quality"), on=["transcript_id", column], how="left")
        .join(totals, on="transcript_id")
    )
    return grid.select(
        pl.lit(task).alias("task"), pl.lit(source).alias("source"), "transcript_id", "mi_quality",
        pl.col(column).alias("code"), (pl.col("n").fill_null(0) / pl.col("total")).alias("rate"),
    ).sort("code", "transcript_id")
