"""Scores and bands per administration, item-by-item minus whole differences, transcript statistics."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from replisuite.instruments import Instrument, score
from replisuite.stats import bootstrap_mean_ci, name_seed

SCORES_SCHEMA = {
    "model": pl.String, "seed": pl.Int64, "instrument": pl.String, "mode": pl.String, "answer_method": pl.String,
    "total": pl.Float64, "band": pl.String, "answered": pl.Int64, "items": pl.Int64, "unparseable": pl.Int64,
}


def scores(answers: pl.DataFrame, instruments: Mapping[str, Instrument]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Totals, bands and subscales of every (model, seed, instrument, mode) administration."""
    totals, subscales = [], []
    keys = ["model", "seed", "instrument", "mode", "answer_method"]
    for values, group in answers.group_by(keys, maintain_order=True):
        row = dict(zip(keys, values, strict=True))
        instrument = instruments[row["instrument"]]
        result = score(instrument, dict(zip(group["item"], group["value"], strict=True)))
        totals.append({**row, "total": result.total, "band": result.band, "answered": result.answered,
                       "items": result.items, "unparseable": result.items - result.answered})
        subscales += [{**row, "subscale": name, "score": value} for name, value in result.subscales.items()]
    subscale_schema = {k: SCORES_SCHEMA[k] for k in keys} | {"subscale": pl.String, "score": pl.Float64}
    return pl.DataFrame(totals, schema=SCORES_SCHEMA), pl.DataFrame(subscales, schema=subscale_schema)


def mode_differences(totals: pl.DataFrame, *, reference: str = "whole", n_boot: int, seed: int) -> pl.DataFrame:
    """Per model x instrument x mode: mean over seeds of (mode total - ``reference`` total), with
    a bootstrap 95% interval over seeds; seeds where either total is missing are left out and counted.
    Each interval's bootstrap seed derives from ``seed`` and the model, instrument and mode names.
    """
    wide = totals.pivot(on="mode", index=["model", "instrument", "seed"], values="total")
    rows = []
    for mode in [c for c in wide.columns if c not in ("model", "instrument", "seed", reference)]:
        for (model, instrument), group in wide.group_by("model", "instrument", maintain_order=True):
            if reference not in group.columns:
                continue
            both = group.filter(pl.col(mode).is_not_null() & pl.col(reference).is_not_null())
            differences = (both[mode] - both[reference]).to_numpy().astype(float)
            mean, low, high = bootstrap_mean_ci(differences, n_boot=n_boot,
                                                seed=name_seed(seed, model, instrument, mode))
            rows.append({"model": model, "instrument": instrument, "mode": mode, "reference": reference,
                         "mean_difference": mean, "ci_low": low, "ci_high": high, "seeds": both.height,
                         "seeds_missing": group.height - both.height})
    return pl.DataFrame(rows, schema={"model": pl.String, "instrument": pl.String, "mode": pl.String, "reference": pl.String,
                                      "mean_difference": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                                      "seeds": pl.Int64, "seeds_missing": pl.Int64})


FLOOR_SCHEMA = {"model": pl.String, "items": pl.Int64, "answered": pl.Int64, "stateless_items": pl.Int64,
                "stateless_distinct": pl.Int64}


def task_floor(answers: pl.DataFrame) -> pl.DataFrame:
    """Per model, what the task floor reads (no mode comparison involved): how many item answers
    were usable (a value on the item's scale) of all asked, and how many distinct values the model
    gave across the items asked outside the therapy conversation (a chooser that gives one answer
    to every item tells nothing about the items).
    """
    stateless = pl.col("mode") == "stateless_item"
    return (answers.filter(pl.col("mode") != "whole").group_by("model", maintain_order=True)
            .agg(pl.len().alias("items"), pl.col("value").is_not_null().sum().alias("answered"),
                 stateless.sum().alias("stateless_items"),
                 pl.col("value").filter(stateless).drop_nulls().n_unique().alias("stateless_distinct"))
            .cast(FLOOR_SCHEMA).select(list(FLOOR_SCHEMA)))


def transcript_stats(transcripts: pl.DataFrame) -> pl.DataFrame:
    """Per model, seed and session: turns, and the client's words per reply."""
    words = transcripts.with_columns(pl.col("client").str.split(" ").list.len().alias("words"))
    return words.group_by("model", "seed", "session", maintain_order=True).agg(
        pl.len().alias("turns"), pl.col("words").mean().alias("mean_words_per_reply"),
        pl.col("words").sum().alias("total_words"), (pl.col("client").str.strip_chars() == "").sum().alias("empty_replies"),
    ).sort("model", "seed", "session")


def modal_band(values: list[str | None]) -> str | None:
    """The most frequent band among ``values`` (ties: the first in sort order), or ``None`` when none is present."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    labels, counts = np.unique(present, return_counts=True)
    return str(labels[counts.argmax()])
