import polars as pl
import pytest

from replisuite.tables import TableSchemaError, check_schema, read_table, write_table

SCHEMA = {"gene": pl.String, "rho": pl.Float64, "n": pl.Int64, "kept": pl.Boolean}


def frame():
    return pl.DataFrame(
        {"gene": ["A", "B"], "rho": [0.5, -0.25], "n": [10, 12], "kept": [True, False]}, schema=SCHEMA
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip(tmp_path, suffix):
    path = write_table(frame(), tmp_path / f"t{suffix}", schema=SCHEMA)
    assert read_table(path, schema=SCHEMA).equals(frame())


def test_missing_and_extra_columns_are_named(tmp_path):
    bad = frame().drop("n").with_columns(pl.lit(1).alias("extra"))
    with pytest.raises(TableSchemaError, match=r"missing \['n'\]; unexpected \['extra'\]"):
        write_table(bad, tmp_path / "t.csv", schema=SCHEMA)
    assert not list(tmp_path.iterdir())


def test_wrong_type_is_named():
    bad = frame().with_columns(pl.col("n").cast(pl.Float64))
    with pytest.raises(TableSchemaError, match="n: expected Int64, got Float64"):
        check_schema(bad, SCHEMA, name="t")


def test_column_order_matters():
    with pytest.raises(TableSchemaError, match="order"):
        check_schema(frame().select(["rho", "gene", "n", "kept"]), SCHEMA)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(TableSchemaError, match=".csv or .parquet"):
        write_table(frame(), tmp_path / "t.tsv", schema=SCHEMA)
    assert not list(tmp_path.iterdir())
