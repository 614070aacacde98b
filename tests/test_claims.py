"""Verdict rules on planted inputs (a claim that should fail does), the claims schema, the scorecard
and its README block."""

import hashlib

import polars as pl
import pytest

from replisuite import scorecard
from replisuite.claims import (
    CLAIMS_SCHEMA, FLOOR_BELOW, FLOOR_PASSED, VERDICTS, Claim, ClaimError, TaskFloor, beats_baseline_verdict,
    claims_frame, contrast_floor, direction_verdict, equal_verdict, format_floor, goodness_of_fit_verdict,
    null_verdict, planted_verdict, read_claims, too_few_units, variation_floor, with_floor,
    write_claims,
)


def test_equal_verdict_fails_outside_the_tolerance():
    assert equal_verdict(0.7857, 0.7857, tolerance=1e-9)[0] == "reproduced"
    assert equal_verdict(0.7857, 0.7858, tolerance=1e-9)[0] == "not reproduced"
    assert equal_verdict(0.7857, 0.7858, tolerance=1e-3)[0] == "reproduced"
    assert equal_verdict(None, 0.5, tolerance=1)[0] == "not comparable"


@pytest.mark.parametrize("sign,estimate,low,high,expected", [
    (1, 0.4, 0.2, 0.6, "reproduced"),
    (1, 0.1, -0.1, 0.3, "not reproduced"),
    (1, -0.4, -0.6, -0.2, "not reproduced"),
    (1, 0.0, -0.1, 0.1, "not reproduced"),
    (-1, -0.4, -0.6, -0.2, "reproduced"),
    (-1, -0.1, -0.3, 0.1, "not reproduced"),
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
    assert beats_baseline_verdict(0.2, 0.25, 0.1) == ("not reproduced", "CI lower bound above the trivial baseline (the estimate is above it, the CI reaches it)")
    assert beats_baseline_verdict(0.2, 0.1, 0.0)[0] == "not reproduced"


def claim(claim_id="c1", study="s", verdict="reproduced", level="A", **values):
    fields = dict(study=study, claim_id=claim_id, claim="Something holds", source="Table 1", published="0.5",
                  reproduced=0.5, ci_low=None, ci_high=None, level=level, verdict=verdict, rule="equal",
                  measure="share")
    return Claim(**{**fields, **values})


def test_number_text_reads_missing_and_nan_as_na():
    from replisuite.claims import number_text

    assert [number_text(v) for v in (None, float("nan"), 0.12345, -2.0)] == ["n/a", "n/a", "0.123", "-2.000"]


def test_claims_are_validated():
    with pytest.raises(ClaimError, match="level"):
        claim(level="D")
    with pytest.raises(ClaimError, match="name the measure"):
        claim(measure="")
    assert claim(measure="", reproduced=None).measure == ""
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
    below = with_floor(claim("w", study="beta", level="C"), TaskFloor("answers vary", False, "1 distinct answer"))
    on_embedded = claim("x", study="beta", models="smollm2-135m (embedded 135M model)")
    write_claims([on_embedded, claim("y", study="beta", verdict="not reproduced", level="B"), below], str(a))
    write_claims([claim("z", study="alpha", verdict="planted recovered", level="B")], str(b))
    path = tmp_path / "scorecard.csv"
    frame = scorecard.write_scorecard([str(a), str(b)], str(path))
    assert frame["study"].to_list() == ["alpha", "beta", "beta", "beta"]
    counts = scorecard.verdict_counts(frame)
    beta = counts.filter(pl.col("study") == "beta")
    assert beta.select("reproduced", "not reproduced", "not comparable", "below task floor").row(0) == (1, 1, 1, 1)
    assert counts.filter(pl.col("study") == "alpha")["below task floor"].to_list() == [0]
    grid = scorecard.figure(frame)
    axis = grid.axes[0]
    assert [t.get_text() for t in axis.get_yticklabels()] == ["alpha: z", "beta: w", "beta: x", "beta: y"]
    bars = [t.get_text() for t in axis.texts]
    assert bars == ["planted recovered \u00b7 B", "not comparable \u00b7 C", "reproduced \u00b7 A \u00b7 135M",
                    "not reproduced \u00b7 B"]
    grid.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 1000

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{scorecard.BEGIN} md5=0 -->\nold\n{scorecard.END}\n\nrest\n")
    assert not scorecard.update_readme(readme, path, check=True)
    assert scorecard.main(["readme", "--readme", str(readme), "--scorecard", str(path), "--check"]) == 1
    assert scorecard.main(["readme", "--readme", str(readme), "--scorecard", str(path)]) == 0
    text = readme.read_text()
    assert scorecard.update_readme(readme, path, check=True)
    assert "| beta | 3 | 1 | 1 | 0 | 0 | 0 | 1 | 1 | 1 | A 1, B 1, C 1 |" in text and text.endswith("\n\nrest\n")
    assert "| alpha | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 0 | B 1 |" in text
    assert "| below task floor | embedded 135M model |" in text
    assert scorecard.block_digest(text) == hashlib.md5(path.read_bytes()).hexdigest()


def test_a_claim_about_a_model_carries_it_in_its_id():
    assert claim("rate_m1", subject="m1").subject == "m1"
    with pytest.raises(ClaimError, match="its id must carry its subject model 'm2'"):
        claim("rate_m1", subject="m2")


def test_model_view_sets_each_claim_beside_each_subject_model(tmp_path):
    """Claims stated per subject model become one row with one column per model; claims about no
    model stay out; a model below a claim's floor is marked; a claim not stated for a model is empty."""
    floor_below = TaskFloor("answers vary", False, "1 distinct answer")
    study_a = [claim("rate_big-model", study="a", subject="big-model", level="C"),
               with_floor(claim("rate_smollm2-135m", study="a", subject="smollm2-135m", level="C",
                                models="smollm2-135m (embedded 135M model)"), floor_below),
               claim("published_number", study="a"),
               claim("pair_smollm2-135m_smollm2-135m", study="a", subject="smollm2-135m", verdict="not reproduced")]
    study_b = [claim("codes_big-model", study="b", subject="big-model", verdict="planted recovered", level="B")]
    paths = [tmp_path / "a.csv", tmp_path / "b.csv"]
    write_claims(study_a, str(paths[0]))
    write_claims(study_b, str(paths[1]))
    frame = scorecard.write_scorecard([str(p) for p in paths], str(tmp_path / "s.csv"), models_path=str(tmp_path / "m.csv"))
    view = pl.read_csv(tmp_path / "m.csv")
    assert view.columns == ["study", "claim", "big-model", "smollm2-135m"]
    rows = {(r["study"], r["claim"]): (r["big-model"], r["smollm2-135m"]) for r in view.iter_rows(named=True)}
    assert rows == {("a", "rate_{model}"): ("reproduced", "not comparable (below task floor)"),
                    ("a", "pair_{model}_smollm2-135m"): (None, "not reproduced"),
                    ("b", "codes_{model}"): ("planted recovered", None)}
    lines = scorecard.model_summary(frame)
    assert lines == ["**big-model**: 2 claims in 2 studies: 1 reproduced, 1 planted recovered",
                     "**smollm2-135m (embedded 135M model)**: 2 claims in 1 study: 1 not reproduced, "
                     "1 not comparable (1 below the task floor)"]
    grid = scorecard.model_figure(scorecard.model_view(frame), frame)
    assert [t.get_text() for t in grid.axes[0].get_xticklabels()] == ["big-model", "smollm2-135m"]
    assert len(grid.axes[0].patches) == 4  # one cell per stated claim, none where it is not stated
    assert "Per subject model" in scorecard.readme_block(frame, digest="0")


@pytest.mark.parametrize("column", ["claim_id", "level", "verdict"])
def test_read_claims_refuses_a_claim_without_id_level_or_verdict(tmp_path, column):
    path = tmp_path / "claims.csv"
    write_claims([claim(), claim("c2")], str(path))
    frame = pl.read_csv(path, infer_schema=False).with_columns(
        pl.when(pl.col("claim_id") == "c2").then(None).otherwise(pl.col(column)).alias(column))
    frame.write_csv(path)
    with pytest.raises(ClaimError, match=f"column {column} is empty"):
        read_claims([str(path)])


def test_a_floor_below_makes_the_claim_not_comparable_with_its_figures():
    floor = TaskFloor("format compliance (judge)", False, "2 of 10 answers usable")
    below = with_floor(claim(verdict="not reproduced", level="C"), floor)
    assert below.verdict == "not comparable" and below.task_floor == FLOOR_BELOW
    assert below.note.startswith("model below the task floor: format compliance (judge): 2 of 10 answers usable")


@pytest.mark.parametrize("verdict", VERDICTS)
def test_a_floor_passed_never_changes_the_verdict(verdict):
    passed = with_floor(claim(verdict=verdict, level="C"), variation_floor(3, 9, what="items"))
    assert passed.verdict == verdict and passed.task_floor == FLOOR_PASSED and "task floor passed" in passed.note
    assert with_floor(claim(verdict=verdict), None).task_floor == ""


def test_contrast_floor_passes_a_competent_judge_and_fails_constant_or_random_ones():
    rng = __import__("numpy").random.default_rng(0)
    original, degraded = rng.normal(4, 0.5, 40), rng.normal(2, 0.5, 40)
    assert contrast_floor(original, degraded, what="judge").passed
    assert not contrast_floor([3.0] * 40, [3.0] * 40, what="judge").passed
    random_judge = contrast_floor(rng.integers(0, 5, 400), rng.integers(0, 5, 400), what="judge")
    assert not random_judge.passed and "of 400 units" in random_judge.figures
    assert not contrast_floor([float("nan")], [1.0], what="judge").passed


def test_format_and_variation_floors():
    assert format_floor(9, 10, what="coder", min_rate=0.8).passed
    assert not format_floor(7, 10, what="coder", min_rate=0.8).passed
    assert not format_floor(0, 0, what="coder", min_rate=0.8).passed
    assert variation_floor(2, 3, what="chooser").passed
    assert not variation_floor(1, 12, what="chooser").passed


def test_small_samples_get_no_verdict():
    assert too_few_units(("reproduced", "CI excludes 0"), n=3, min_units=8, unit="seed")[0] == "not comparable"
    assert too_few_units(("not reproduced", "r"), n=9, min_units=8, unit="seed")[0] == "not reproduced"
    assert goodness_of_fit_verdict(0.9, alpha=0.05, n=12, min_n=100)[0] == "not comparable"
    assert goodness_of_fit_verdict(0.9, alpha=0.05, n=500, min_n=100)[0] == "reproduced"
    assert goodness_of_fit_verdict(0.01, alpha=0.05, n=500, min_n=100)[0] == "not reproduced"
