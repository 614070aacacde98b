"""Result tables: written with polars, their columns and types checked against a schema."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path

import polars as pl

from replisuite.atomic import atomic_path

Schema = Mapping[str, pl.DataType | type[pl.DataType]]


class TableSchemaError(ValueError):
    """A table's columns or types are not the declared ones."""


def check_schema(frame: pl.DataFrame, schema: Schema, *, name: str = "table") -> None:
    """Raise :class:`TableSchemaError` unless ``frame`` has exactly ``schema``'s columns and types.

    Column order matters (it is the order readers see).  Types compare with polars' own
    equality, so ``pl.List(pl.Utf8)`` matches ``pl.List(pl.String)``.
    """
    expected = list(schema)
    actual = frame.columns
    if actual != expected:
        missing = [c for c in expected if c not in actual]
        extra = [c for c in actual if c not in expected]
        detail = []
        if missing:
            detail.append(f"missing {missing}")
        if extra:
            detail.append(f"unexpected {extra}")
        if not detail:
            detail.append(f"order {actual} instead of {expected}")
        raise TableSchemaError(f"{name}: columns differ from the schema: {'; '.join(detail)}")
    wrong = [
        f"{column}: expected {dtype}, got {frame.schema[column]}"
        for column, dtype in schema.items()
        if frame.schema[column] != dtype
    ]
    if wrong:
        raise TableSchemaError(f"{name}: column types differ from the schema: {'; '.join(wrong)}")


def write_table(frame: pl.DataFrame, path: str | os.PathLike[str], *, schema: Schema) -> Path:
    """Check ``frame`` against ``schema`` and write it atomically as CSV or Parquet (by suffix)."""
    path = Path(path)
    check_schema(frame, schema, name=str(path))
    with atomic_path(path) as tmp:
        if path.suffix == ".csv":
            frame.write_csv(tmp)
        elif path.suffix == ".parquet":
            frame.write_parquet(tmp)
        else:
            raise TableSchemaError(f"{path}: tables are written as .csv or .parquet")
    return path


def read_table(path: str | os.PathLike[str], *, schema: Schema) -> pl.DataFrame:
    """Read a table written by :func:`write_table`, with the schema's types, and check it."""
    path = Path(path)
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
    else:
        frame = pl.read_csv(path, schema_overrides=dict(schema))
    check_schema(frame, schema, name=str(path))
    return frame


def read_jsonl(path: str | os.PathLike[str], *, required: tuple[str, ...] = (),
               error: type[Exception] = ValueError) -> list[dict]:
    """Read JSON lines, naming the file, line and field of any problem (raised as ``error``)."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as problem:
                raise error(f"{path}:{number}: not JSON ({problem.msg})") from None
            missing = [field for field in required if field not in row]
            if missing:
                raise error(f"{path}:{number}: missing field(s) {missing}")
            rows.append(row)
    return rows
