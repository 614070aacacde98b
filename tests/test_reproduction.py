"""The record of the results' content and the comparison a reviewer's `make reproduce` ends with."""

import hashlib
import math

import numpy as np
import polars as pl
import pytest

from replisuite import reproduction as rp


def _results(root):
    """A small results tree: a table, a figure, a claims file, and the provenance left out."""
    results = root / "results"
    (results / "mi" / "tables").mkdir(parents=True)
    (results / "mi" / "figures").mkdir()
    (results / "mi" / "llm").mkdir()
    pl.DataFrame({"name": ["a", "b"], "value": [0.1234567891, 2.0], "n": [3, 4]}).write_csv(
        results / "mi" / "tables" / "fit.csv")
    (results / "mi" / "figures" / "fit.png").write_bytes(b"\x89PNG fake")
    (results / "mi" / "claims.csv").write_text("claim_id,verdict\nx,reproduced\n")
    (results / "mi" / "manifest.json").write_text('{"run": "today"}')
    (results / "mi" / "llm" / "classify.json").write_text('[{"cache_hits": 3}]')
    (results / "scorecard.csv").write_text("study\nmi\n")
    return results


def test_the_record_lists_content_and_leaves_out_provenance(tmp_path):
    results = _results(tmp_path)
    files = rp.write_record(results, record=results / "CHECKSUMS.sha256", rounded_record=results / "R.sha256")
    assert files == ["results/mi/claims.csv", "results/mi/figures/fit.png", "results/mi/tables/fit.csv",
                     "results/scorecard.csv"]
    listing = rp.read_record(results / "CHECKSUMS.sha256")
    assert listing["results/mi/figures/fit.png"] == hashlib.sha256(b"\x89PNG fake").hexdigest()
    # the rounded record holds tables only
    assert set(rp.read_record(results / "R.sha256")) == {"results/mi/tables/fit.csv", "results/mi/claims.csv",
                                                         "results/scorecard.csv"}
    # a second record of the same tree is byte-identical (the record itself is not content)
    before = (results / "CHECKSUMS.sha256").read_bytes()
    rp.write_record(results, record=results / "CHECKSUMS.sha256", rounded_record=results / "R.sha256")
    assert (results / "CHECKSUMS.sha256").read_bytes() == before


def _compare(results, **kwargs):
    return rp.compare(rp.read_record(results / "CHECKSUMS.sha256"), results=results,
                      rounded=rp.read_record(results / "R.sha256"), **kwargs)


def _recorded(tmp_path):
    results = _results(tmp_path)
    rp.write_record(results, record=results / "CHECKSUMS.sha256", rounded_record=results / "R.sha256")
    return results


def test_an_identical_rerun_is_identical_everywhere(tmp_path):
    results = _recorded(tmp_path)
    (results / "mi" / "manifest.json").write_text('{"run": "tomorrow"}')          # provenance may change
    (results / "mi" / "llm" / "classify.json").write_text('[{"cache_hits": 90}]')
    comparison = _compare(results)
    assert set(comparison["status"]) == {rp.IDENTICAL}
    assert rp.study_verdicts(comparison)["verdict"].to_list() == [rp.IDENTICAL, rp.IDENTICAL]


def test_last_bits_of_a_table_are_within_tolerance_and_a_real_change_differs(tmp_path):
    results = _recorded(tmp_path)
    table = results / "mi" / "tables" / "fit.csv"
    pl.DataFrame({"name": ["a", "b"], "value": [0.1234567891 + 1e-15, 2.0], "n": [3, 4]}).write_csv(table)
    row = _compare(results).filter(pl.col("path") == "results/mi/tables/fit.csv").row(0, named=True)
    assert row["status"] == rp.WITHIN and row["max_abs_difference"] is None   # no recorded copy: no size
    pl.DataFrame({"name": ["a", "b"], "value": [0.1235, 2.0], "n": [3, 4]}).write_csv(table)
    row = _compare(results).filter(pl.col("path") == "results/mi/tables/fit.csv").row(0, named=True)
    assert row["status"] == rp.DIFFERS
    verdicts = rp.study_verdicts(_compare(results))
    assert verdicts.filter(pl.col("study") == "mi")["verdict"].item() == rp.DIFFERS
    assert verdicts.filter(pl.col("study") == rp.SUITE)["verdict"].item() == rp.IDENTICAL


def test_with_the_recorded_table_at_hand_the_largest_difference_is_reported(tmp_path):
    results = _recorded(tmp_path)
    copy = tmp_path / "recorded_fit.csv"
    copy.write_bytes((results / "mi" / "tables" / "fit.csv").read_bytes())
    pl.DataFrame({"name": ["a", "b"], "value": [0.1234567891, 2.0 + 3e-9], "n": [3, 4]}).write_csv(
        results / "mi" / "tables" / "fit.csv")
    row = _compare(results, recorded_copies={"results/mi/tables/fit.csv": copy}).filter(
        pl.col("path") == "results/mi/tables/fit.csv").row(0, named=True)
    assert row["status"] == rp.WITHIN and row["max_abs_difference"] == pytest.approx(3e-9, rel=1e-3)


def test_a_parquet_table_is_compared_with_its_cache_copy_which_has_no_suffix(tmp_path):
    produced = tmp_path / "results" / "s" / "scores.parquet"
    produced.parent.mkdir(parents=True)
    pl.DataFrame({"unit": ["a", "b"], "score": [1.0, 2.0]}).write_parquet(produced)
    copy = tmp_path / "cache" / "files" / "md5" / "ab" / "cdef0123"       # how DVC stores it: no suffix
    copy.parent.mkdir(parents=True)
    pl.DataFrame({"unit": ["a", "b"], "score": [1.0, 2.5]}).write_parquet(copy)
    row = rp.compare_file("results/s/scores.parquet", "0" * 64, root=tmp_path, rounded={}, recorded_copy=copy)
    assert row["status"] == rp.DIFFERS and row["max_abs_difference"] == pytest.approx(0.5)


def test_table_difference_against_numpy_isclose():
    rng = np.random.default_rng(1)
    values = rng.normal(size=50) * 10.0 ** rng.integers(-5, 5, size=50)
    for noise in (1e-12, 1e-4):
        moved = values * (1 + noise * rng.choice([-1, 1], size=50))
        equal, largest, _ = rp.table_difference(pl.DataFrame({"x": values}), pl.DataFrame({"x": moved}))
        assert equal == bool(np.isclose(moved, values, rtol=1e-5, atol=0).all())
        assert largest == pytest.approx(np.abs(moved - values).max())
    assert rp.table_difference(pl.DataFrame({"x": [1.0]}), pl.DataFrame({"y": [1.0]}))[0] is False
    assert rp.table_difference(pl.DataFrame({"x": [math.nan]}), pl.DataFrame({"x": [math.nan]}))[0] is True
    assert rp.table_difference(pl.DataFrame({"x": [math.nan]}), pl.DataFrame({"x": [1.0]}))[0] is False
    assert rp.table_difference(pl.DataFrame({"s": ["a"]}), pl.DataFrame({"s": ["b"]}))[0] is False


def test_a_missing_and_a_new_file_are_reported_as_such(tmp_path):
    results = _recorded(tmp_path)
    (results / "mi" / "figures" / "fit.png").unlink()
    (results / "mi" / "figures" / "extra.png").write_bytes(b"new")
    comparison = _compare(results)
    status = dict(zip(comparison["path"], comparison["status"], strict=True))
    assert status["results/mi/figures/fit.png"] == rp.MISSING
    assert status["results/mi/figures/extra.png"] == rp.NEW
    text = rp.format_verdicts(rp.study_verdicts(comparison), comparison)
    assert "missing: results/mi/figures/fit.png" in text and "new: results/mi/figures/extra.png" in text


def test_a_malformed_record_names_the_line(tmp_path):
    bad = tmp_path / "CHECKSUMS.sha256"
    bad.write_text(f"{'a' * 64}  results/x.csv\nnot a checksum line\n")
    with pytest.raises(rp.ReproductionError, match=r"CHECKSUMS.sha256, line 2: expected"):
        rp.read_record(bad)


def test_the_command_compares_writes_the_table_and_exits_0_even_when_results_differ(tmp_path, monkeypatch, capsys):
    results = _results(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert rp.main(["compare"]) == 0 and "make record" in capsys.readouterr().out    # nothing recorded yet
    assert rp.main(["record"]) == 0
    (results / "mi" / "claims.csv").write_text("claim_id,verdict\nx,not reproduced\n")
    assert rp.main(["compare"]) == 0
    out = capsys.readouterr().out
    assert "differs: results/mi/claims.csv" in out
    table = pl.read_csv(results / "reproduction.csv")
    assert table.filter(pl.col("status") != rp.IDENTICAL)["path"].to_list() == ["results/mi/claims.csv"]


def test_show_prints_what_the_workflow_compared(tmp_path, monkeypatch, capsys):
    results = _results(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert rp.main(["show"]) == 1 and "run the workflow first" in capsys.readouterr().err
    text = rp.write_comparison(rp.compare_with_record(results), results / "reproduction.csv")
    assert "make record" in text and rp.main(["show"]) == 0 and "make record" in capsys.readouterr().out
    assert rp.main(["record"]) == 0
    (results / "mi" / "figures" / "fit.png").write_bytes(b"\x89PNG other")
    rp.write_comparison(rp.compare_with_record(results), results / "reproduction.csv")
    capsys.readouterr()
    assert rp.main(["show"]) == 0
    out = capsys.readouterr().out
    assert "differs: results/mi/figures/fit.png (bytes differ)" in out
    assert [line.split()[:2] for line in out.splitlines()[1:3]] == [["mi", "differs"], ["suite", "identical"]]


def test_recorded_copies_are_found_through_the_dvc_lock_and_cache(tmp_path):
    import json

    cache = tmp_path / "cache"
    blob = b"a,b\n1,2\n"
    blob_md5 = hashlib.md5(blob).hexdigest()
    listing = json.dumps([{"md5": blob_md5, "relpath": "tables/t.csv"}]).encode()
    dir_md5 = hashlib.md5(listing).hexdigest() + ".dir"
    for digest, content in ((blob_md5, blob), (dir_md5, listing)):
        target = cache / "files" / "md5" / digest[:2] / digest[2:]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    lock = tmp_path / "dvc.lock"
    lock.write_text(f"stages:\n  mi:\n    outs:\n    - path: results/mi\n      md5: {dir_md5}\n")
    copies = rp.dvc_cached_copies(lock, cache)
    assert list(copies) == ["results/mi/tables/t.csv"] and copies["results/mi/tables/t.csv"].read_bytes() == blob


def test_record_digests_change_with_the_record(tmp_path, monkeypatch):
    results = _results(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert rp.record_digests() == {rp.RECORD: None, rp.ROUNDED_RECORD: None}
    assert rp.main(["record"]) == 0
    first = rp.record_digests()
    (results / "mi" / "claims.csv").write_text("claim_id,verdict\nx,not reproduced\n")
    assert rp.main(["record"]) == 0
    assert rp.record_digests()[rp.RECORD] != first[rp.RECORD] and None not in first.values()
