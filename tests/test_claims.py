"""Verdict rules on planted inputs (a claim that should fail does), the claims schema, the scorecard
and its README block."""

import hashlib

import polars as pl
import pytest

from replisuite import scorecard
from replisuite.claims import (
    CLAIMS_SCHEMA, Claim, ClaimError, beats_baseline_verdict, claims_frame, direction_verdict, equal_verdict,
    null_verdict, planted_verdict, read_claims, wald_difference, write_claims,
)


def test_equal_verdict_fails_outside_the_tolerance():
    assert equal_verdict(0.7857, 0.7857, tolerance=1e-9)[0] == "reproduced"
    assert equal_verdict(0.7857, 0.7858, tolerance=1e-9)[0] == "not reproduced"
    assert equal_verdict(0.7857, 0.7858, tolerance=1e-3)[0] == "reproduced"
    assert equal_verdict(None, 0.5, tolerance=1)[0] == "not comparable"


@pytest.mark.parametrize("sign,estimate,low,high,expected", [
    (1, 0.4, 0.2, 0.6, "reproduced"),
    (1, 0.1, -0.1, 0.3, "direction reproduced"),
    (1, -0.4, -0.6, -0.2, "not reproduced"),
    (1, 0.0, -0.1, 0.1, "not reproduced"),
    (-1, -0.4, -0.6, -0.2, "reproduced"),
    (-1, -0.1, -0.3, 0.1, "direction reproduced"),
    (-1, 0.3, 0.1, 0.5, "not reproduced"),
    (1, float("nan"), 0.1, 0.2, "not comparable"),
])
def test_direction_verdict(sign, estimate, low, high, expected):
    assert direction_verdict(sign, estimate, low, high)[0] == expected


def test_planted_null_and_baseline_verdicts():
    assert planted_verdict(1.5, 1.45, ci_low=1.4, ci_high=1.6)[0] == "planted recovered"
    assert planted_verdict(1.5, 1.2, ci_low=1.1, ci_high=1.3)[0] == "not reproduced"
    assert planted_verdict(1.5, 1.45, tolerance=0.1)[0] == "planted recovered"
    assert planted_verdict(1.5, 1.3, tolerance=0.1)[0] == "not reproduced"
    with pytest.raises(ClaimError):
        planted_verdict(1.0, 1.0)
    assert null_verdict(0.04, max_rate=0.05, what="false positives")[0] == "null passed"
    assert null_verdict(0.30, max_rate=0.05, what="false positives")[0] == "not reproduced"
    assert beats_baseline_verdict(0.2, 0.5, 0.3)[0] == "reproduced"
    assert beats_baseline_verdict(0.2, 0.25, 0.1)[0] == "direction reproduced"
    assert beats_baseline_verdict(0.2, 0.1, 0.0)[0] == "not reproduced"


def test_wald_difference_against_a_hand_computation():
    difference, low, high = wald_difference(0.6, 100, 0.4, 200)
    se = (0.6 * 0.4 / 100 + 0.4 * 0.6 / 200) ** 0.5
    assert difference == pytest.approx(0.2) and low == pytest.approx(0.2 - 1.959964 * se)
    assert high == pytest.approx(0.2 + 1.959964 * se)


def claim(claim_id="c1", study="s", verdict="reproduced", level="A", **values):
    fields = dict(study=study, claim_id=claim_id, claim="Something holds", source="Table 1", published="0.5",
                  reproduced=0.5, ci_low=None, ci_high=None, level=level, verdict=verdict, rule="equal")
    return Claim(**{**fields, **values})


def test_claims_are_validated():
    with pytest.raises(ClaimError, match="level"):
        claim(level="D")
    with pytest.raises(ClaimError, match="verdict"):
        claim(verdict="looks fine")
    with pytest.raises(ClaimError, match="duplicate"):
        claims_frame([claim(), claim()])
    frame = claims_frame([claim(), claim("c2", reproduced=float("nan"), verdict="not comparable")])
    assert frame.schema == pl.Schema(CLAIMS_SCHEMA) and frame["reproduced"].null_count() == 1


def test_read_claims_refuses_a_table_with_a_typed_in_verdict(tmp_path):
    good = tmp_path / "good.csv"
    write_claims([claim()], str(good))
    bad = tmp_path / "bad.csv"
    bad.write_text(good.read_text().replace(",reproduced,", ",probably fine,"))
    assert read_claims([str(good)]).height == 1
    with pytest.raises(ClaimError, match="verdict"):
        read_claims([str(bad)])


def test_scorecard_table_figure_and_readme_block(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    write_claims([claim("x", study="beta"), claim("y", study="beta", verdict="not reproduced", level="B")], str(a))
    write_claims([claim("z", study="alpha", verdict="planted recovered", level="B")], str(b))
    path = tmp_path / "scorecard.csv"
    frame = scorecard.write_scorecard([str(a), str(b)], str(path))
    assert frame["study"].to_list() == ["alpha", "beta", "beta"]
    counts = scorecard.verdict_counts(frame)
    assert counts.filter(pl.col("study") == "beta").select("reproduced", "not reproduced").row(0) == (1, 1)
    scorecard.figure(frame).savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{scorecard.BEGIN} md5=0 -->\nold\n{scorecard.END}\n\nrest\n")
    assert not scorecard.update_readme(readme, path, check=True)
    assert scorecard.main(["readme", "--readme", str(readme), "--scorecard", str(path), "--check"]) == 1
    assert scorecard.main(["readme", "--readme", str(readme), "--scorecard", str(path)]) == 0
    text = readme.read_text()
    assert scorecard.update_readme(readme, path, check=True)
    assert "| beta | 2 | 1 | 1 |" in text and text.endswith("\n\nrest\n")
    assert scorecard.block_digest(text) == hashlib.md5(path.read_bytes()).hexdigest()
