"""Measured tables in the docs: generated from a results table, and stale when the record differs."""

import hashlib
from pathlib import Path

import polars as pl
import pytest

from replisuite import docblocks
from replisuite.docblocks import DocBlockError, markdown_table, render_page, stale_blocks

REPO = Path(__file__).resolve().parents[1]
PAGE = """# A study

Accuracy:

<!-- table:begin path=results/s/tables/a.csv columns=model,accuracy -->
<!-- table:end -->

After.
"""


def write_table(root: Path, accuracy: float) -> Path:
    table = root / "results/s/tables/a.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"model": ["length", "coin | flip"], "accuracy": [accuracy, 0.5], "n": [10, 10]}).write_csv(table)
    return table


def test_a_block_is_generated_from_its_table_and_regenerating_changes_nothing(tmp_path):
    table = write_table(tmp_path, 0.612345)
    page = render_page(PAGE, root=tmp_path, page=Path("page.md"))
    assert f"sha256={hashlib.sha256(table.read_bytes()).hexdigest()}" in page
    assert "| length | 0.612 |" in page and "| coin \\| flip | 0.5 |" in page and "| n |" not in page
    assert page.endswith("<!-- table:end -->\n\nAfter.\n")
    assert render_page(page, root=tmp_path, page=Path("page.md")) == page


def test_a_block_from_another_run_is_stale(tmp_path):
    table = write_table(tmp_path, 0.61)
    page = render_page(PAGE, root=tmp_path, page=Path("page.md"))
    recorded = {"results/s/tables/a.csv": hashlib.sha256(table.read_bytes()).hexdigest()}
    assert stale_blocks(page, record=recorded, page=Path("page.md")) == []
    write_table(tmp_path, 0.70)  # a new run: the record changes, the page does not
    rerun = {"results/s/tables/a.csv": hashlib.sha256(table.read_bytes()).hexdigest()}
    assert stale_blocks(page, record=rerun, page=Path("page.md")) == [
        "page.md: the block of results/s/tables/a.csv was made from another run than the record's"]
    assert "not in the record" in stale_blocks(page, record={}, page=Path("page.md"))[0]


def test_unknown_columns_and_missing_tables_are_named(tmp_path):
    with pytest.raises(DocBlockError, match=r"columns \['f1'\] are not in the table"):
        markdown_table(pl.DataFrame({"accuracy": [0.5]}), columns=["f1"])
    with pytest.raises(DocBlockError, match="does not exist"):
        render_page(PAGE, root=tmp_path, page=Path("page.md"))


def test_the_documentation_shows_the_recorded_tables(capsys):
    assert docblocks.pages(REPO / "docs"), "no page shows a generated table"
    assert docblocks.main(["--docs", str(REPO / "docs"), "--root", str(REPO), "--check"]) == 0, capsys.readouterr().err
