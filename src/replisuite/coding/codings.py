"""Excerpts and human codings: loaded from files, checked against the codebook and the texts.

An excerpts frame has ``unit`` (excerpt id), ``case`` (participant or client), ``order`` (position in
the case's story or session) and ``text``. A codings frame has ``unit``, ``coder``, ``code``, ``span``
(verbatim text of the excerpt, or empty for the whole excerpt) and its ``start``/``end`` offsets.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl
import yaml

from replisuite.coding.codebook import Codebook

EXCERPTS_SCHEMA = {"unit": pl.String, "case": pl.String, "order": pl.Int64, "text": pl.String}
CODINGS_SCHEMA = {"unit": pl.String, "coder": pl.String, "code": pl.String, "span": pl.String, "start": pl.Int64,
                  "end": pl.Int64}


class CodingsError(ValueError):
    """An excerpts or codings file lacks a field or names something that does not exist."""


def read_excerpts(path: str | os.PathLike[str]) -> tuple[pl.DataFrame, dict[str, str | bool]]:
    """Excerpts from a YAML file (``excerpts: [{id, participant, order, text}]``, with ``illustrative`` and
    ``note`` saying where they come from); returns the frame and that provenance.
    """
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise CodingsError(f"{path}: cannot be read as YAML ({error})") from None
    if not isinstance(values, dict) or not isinstance(values.get("excerpts"), list):
        raise CodingsError(f"{path}: expected a mapping with a list 'excerpts'")
    rows = []
    for index, entry in enumerate(values["excerpts"]):
        missing = [k for k in ("id", "participant", "order", "text") if not isinstance(entry, dict) or entry.get(k) in (None, "")]
        if missing:
            raise CodingsError(f"{path}: excerpts[{index}]: missing field(s) {missing}")
        rows.append({"unit": str(entry["id"]), "case": str(entry["participant"]), "order": int(entry["order"]),
                     "text": str(entry["text"])})
    frame = pl.DataFrame(rows, schema=EXCERPTS_SCHEMA)
    duplicated = frame.filter(pl.col("unit").is_duplicated())["unit"].unique().to_list()
    if duplicated:
        raise CodingsError(f"{path}: excerpts: duplicate id(s) {sorted(duplicated)}")
    return frame, {"illustrative": bool(values.get("illustrative", False)), "note": " ".join(str(values.get("note", "")).split())}


def read_codings(path: str | os.PathLike[str], *, codebook: Codebook, excerpts: pl.DataFrame,
                 unit_of: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Human codings from a CSV table (lines starting with ``#`` are comments).

    Columns ``excerpt_id`` (or, with ``unit_of``, the columns whose values joined by ``-`` name the unit,
    e.g. ``transcript_id`` and ``utterance_id``), ``coder``, ``code`` and optionally ``span``.
    """
    path = Path(path)
    try:
        table = pl.read_csv(path, comment_prefix="#", infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as error:
        raise CodingsError(f"{path}: cannot be read as a CSV table ({error})") from None
    unit_columns = list(unit_of) if unit_of else ["excerpt_id"]
    missing = [c for c in [*unit_columns, "coder", "code"] if c not in table.columns]
    if missing:
        raise CodingsError(f"{path}: missing column(s) {missing}")
    table = table.with_columns(pl.concat_str(unit_columns, separator="-").alias("unit"))
    if "span" not in table.columns:
        table = table.with_columns(pl.lit("").alias("span"))
    return validate_codings(table.select("unit", "coder", "code", pl.col("span").fill_null("")), origin=str(path),
                            codebook=codebook, excerpts=excerpts)


def validate_codings(table: pl.DataFrame, *, origin: str, codebook: Codebook, excerpts: pl.DataFrame) -> pl.DataFrame:
    """Check every row's unit, code and span, and add the span's offsets (the first occurrence)."""
    texts = dict(zip(excerpts["unit"], excerpts["text"], strict=True))
    rows = []
    for line, row in enumerate(table.iter_rows(named=True), start=1):
        where = f"{origin}: row {line} ({row['unit']}, {row['coder']})"
        if row["unit"] not in texts:
            raise CodingsError(f"{where}: unknown excerpt {row['unit']!r}")
        if row["code"] not in codebook.code_ids:
            raise CodingsError(f"{where}: code {row['code']!r} is not in codebook {codebook.id} ({list(codebook.code_ids)})")
        start, end = locate(texts[row["unit"]], row["span"] or "")
        if start < 0:
            raise CodingsError(f"{where}: span {row['span']!r} is not in the excerpt's text")
        rows.append({**row, "span": row["span"] or "", "start": start, "end": end})
    frame = pl.DataFrame(rows, schema=CODINGS_SCHEMA)
    duplicated = frame.filter(frame.select("unit", "coder", "code", "start", "end").is_duplicated())
    if duplicated.height:
        first = duplicated.row(0, named=True)
        raise CodingsError(f"{origin}: {first['coder']} codes {first['unit']} as {first['code']} twice on the same span")
    return frame


def locate(text: str, span: str) -> tuple[int, int]:
    """Offsets of ``span`` in ``text`` (whitespace and case as written, then case-insensitively);
    an empty span is the whole text; (-1, -1) when it is not there.
    """
    if not span.strip():
        return 0, len(text)
    start = text.find(span)
    if start < 0:
        start = text.lower().find(span.lower())
    return (start, start + len(span)) if start >= 0 else (-1, -1)
