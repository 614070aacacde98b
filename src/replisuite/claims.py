"""Claims: a paper's findings, our value for each, and a verdict computed by a stated rule.

Every study writes ``results/<study>/claims.csv`` (:data:`CLAIMS_SCHEMA`); the scorecard
collects them into one table and one figure. Verdicts are never typed in: each claim is built
by one of the rule functions below from the study's own outputs.

Levels
------
``A``
    equals published numbers computed from public records.
``B``
    recovers a planted truth (and fails on a null).
``C``
    the published protocol run on the configured models.
``A-direction``
    the direction a paper reports, recomputed from its published records, where the paper prints
    no number to compare (verdict ``direction reproduced``).
``proxy``
    the method on a public stand-in dataset.

Task floor
----------
A claim about what a model does is evidence only when the model can perform the task at all. A
study computes a pre-declared :class:`TaskFloor` from data that do not involve the claim's
hypothesis (a planted easy contrast for a judge, format compliance for a generator, answers that
vary for a likelihood chooser) and passes it to :func:`with_floor`: below the floor the verdict
is ``not comparable`` with the floor's figures; at or above it the verdict is left as it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace

import polars as pl

from replisuite.tables import write_table

LEVELS = ("A", "A-direction", "B", "C", "proxy")
VERDICTS = (
    "reproduced", "not reproduced", "direction reproduced", "planted recovered", "null passed", "not comparable",
)
CLAIMS_SCHEMA = {
    "study": pl.String, "claim_id": pl.String, "claim": pl.String, "source": pl.String, "published": pl.String,
    "measure": pl.String, "reproduced": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "baseline": pl.Float64,
    "level": pl.String,
    "verdict": pl.String, "rule": pl.String, "models": pl.String, "note": pl.String, "task_floor": pl.String,
    "subject": pl.String,
}
# a claim's task_floor: "" where no floor applies (no model, or published records), else one of these
FLOOR_PASSED, FLOOR_BELOW = "passed", "below"
REQUIRED = ("study", "claim_id", "level", "verdict")
EMBEDDED_MARK = "embedded 135M model"


class ClaimError(ValueError):
    """A claim is malformed (unknown level or verdict, empty text, duplicate id)."""


@dataclass(frozen=True)
class Claim:
    """One finding of a paper and what we found.

    ``rule`` says in words how the verdict was computed (e.g. "equal within 1e-9"). ``measure`` names
    what ``reproduced`` is (its unit: "AUC", "Cohen's kappa", "difference in stigma rate"), and
    ``baseline`` is the value shown beside it: the trivial guess, chance or null the verdict compares
    it with, or the naive comparison the method improves on (so the scorecard shows it as a number,
    not only in the note).

    ``subject`` is the model entry (``llm.models``) whose behaviour the claim is about, where it is
    about one: the claim is then stated once per subject model and its id carries the model's name,
    so the scorecard can set the models side by side (``results/scorecard_models.csv``).
    """

    study: str
    claim_id: str
    claim: str
    source: str
    published: str
    reproduced: float | None
    ci_low: float | None
    ci_high: float | None
    level: str
    verdict: str
    rule: str
    models: str = ""
    note: str = ""
    task_floor: str = ""
    measure: str = ""
    baseline: float | None = None
    subject: str = ""

    def __post_init__(self) -> None:
        if self.subject and self.subject not in self.claim_id:
            raise ClaimError(f"claim {self.claim_id} of {self.study}: its id must carry its subject model "
                             f"{self.subject!r} (one claim per subject model)")
        if self.reproduced is not None and not self.measure.strip():
            raise ClaimError(f"claim {self.claim_id} of {self.study}: name the measure of its value "
                             f"({self.reproduced!r}), e.g. 'AUC' or 'difference in rate'")
        if self.level not in LEVELS:
            raise ClaimError(f"claim {self.claim_id}: level must be one of {LEVELS}, got {self.level!r}")
        if self.verdict not in VERDICTS:
            raise ClaimError(f"claim {self.claim_id}: verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not self.claim.strip() or not self.claim_id.strip():
            raise ClaimError(f"claim {self.claim_id!r} of {self.study}: id and text must not be empty")
        if self.task_floor not in ("", FLOOR_PASSED, FLOOR_BELOW):
            raise ClaimError(f"claim {self.claim_id}: task_floor must be '', {FLOOR_PASSED!r} or {FLOOR_BELOW!r}, "
                             f"got {self.task_floor!r}")


@dataclass(frozen=True)
class TaskFloor:
    """Whether a model can do a study's task at all, measured without the claim's hypothesis.

    ``check`` names the pre-declared check (e.g. "planted easy contrast"), ``figures`` says what
    was measured (e.g. "original above degraded in 7 of 8 sessions"); ``passed`` is the outcome.
    """

    check: str
    passed: bool
    figures: str


def with_floor(claim: Claim, floor: TaskFloor | None) -> Claim:
    """The claim with its task floor: below it, ``not comparable`` and the floor's figures in the
    note; at or above it, the verdict unchanged (a floor never turns a verdict into another one
    for a model that can do the task).
    """
    if floor is None:
        return claim
    if floor.passed:
        return replace(claim, task_floor=FLOOR_PASSED,
                       note=_join(claim.note, f"task floor passed ({floor.check}: {floor.figures})"))
    return replace(claim, verdict="not comparable", task_floor=FLOOR_BELOW,
                   note=_join(f"model below the task floor: {floor.check}: {floor.figures}", claim.note))


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def all_floors(*floors: TaskFloor) -> TaskFloor:
    """Several checks as one floor: passed when every one passes; the figures of each."""
    return TaskFloor("; ".join(f.check for f in floors), all(f.passed for f in floors),
                     "; ".join(f"{f.check}: {f.figures}" if len(floors) > 1 else f.figures for f in floors))


def contrast_floor(original: Sequence[float], degraded: Sequence[float], *, what: str,
                   min_share: float = 0.75) -> TaskFloor:
    """A judge or rater's planted easy contrast: per unit, the score of the original against the
    score of a copy degraded on purpose. Passes when the original scores higher in at least
    ``min_share`` of the units (ties count half) and the scores are not all equal.
    """
    pairs = [(a, b) for a, b in zip(original, degraded, strict=True) if _finite(a, b)]
    if not pairs:
        return TaskFloor(f"planted easy contrast ({what})", False, "no unit was scored on both versions")
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs)
    share = wins / len(pairs)
    constant = len({v for pair in pairs for v in pair}) == 1
    figures = (f"original above degraded in {share:.2f} of {len(pairs)} units (ties half; floor {min_share:g})"
               + ("; every score equal" if constant else ""))
    return TaskFloor(f"planted easy contrast ({what})", share >= min_share and not constant, figures)


def rate_floor(check: str, hits: int, total: int, *, min_rate: float, unit: str = "answers",
               hit: str = "usable") -> TaskFloor:
    """A floor on a share: ``hits`` of ``total`` at least ``min_rate`` (and something to count)."""
    rate = hits / total if total else 0.0
    return TaskFloor(check, total > 0 and rate >= min_rate, f"{hits} of {total} {unit} {hit} ({rate:.2f}; floor {min_rate:g})")


def format_floor(valid: int, total: int, *, what: str, min_rate: float) -> TaskFloor:
    """A generator's format compliance: parseable, in range and non-empty answers out of all."""
    return rate_floor(f"format compliance ({what})", valid, total, min_rate=min_rate)


def variation_floor(distinct: int, answers: int, *, what: str, unit: str = "answers") -> TaskFloor:
    """A chooser's answers vary across stimuli: ``distinct`` different answers among ``answers``
    (a model that gives one answer to everything tells nothing about the stimuli).
    """
    return TaskFloor(f"answers vary ({what})", distinct > 1, f"{distinct} distinct over {answers} {unit}")


def _finite(*values: float | None) -> bool:
    return all(v is not None and math.isfinite(v) for v in values)


def equal_verdict(published: float | None, reproduced: float | None, *, tolerance: float) -> tuple[str, str]:
    """``reproduced`` when ``|reproduced - published| <= tolerance``; else ``not reproduced``."""
    rule = f"equal to the published value within {tolerance:g}"
    if not _finite(published, reproduced):
        return "not comparable", rule
    return ("reproduced" if abs(reproduced - published) <= tolerance else "not reproduced"), rule


def direction_verdict(expected_sign: int, estimate: float | None, ci_low: float | None,
                      ci_high: float | None) -> tuple[str, str]:
    """Sign and interval of an effect against the published direction.

    ``reproduced``: the estimate has the published sign and its interval excludes 0; else ``not
    reproduced``. A sign that agrees while the interval includes 0 is not evidence: on a null it
    happens half the time, so it earns no positive verdict (the rule says what was seen).
    """
    if expected_sign not in (-1, 1):
        raise ClaimError(f"expected_sign must be -1 or 1, got {expected_sign}")
    rule = f"published sign {'+' if expected_sign > 0 else '-'}; CI must exclude 0"
    if not _finite(estimate, ci_low, ci_high):
        return "not comparable", rule
    if estimate * expected_sign <= 0:
        return "not reproduced", rule
    excludes_zero = ci_low > 0 if expected_sign > 0 else ci_high < 0
    return ("reproduced", rule) if excludes_zero else ("not reproduced", f"{rule} (the sign agrees, the CI includes 0)")


def published_direction_verdict(expected_sign: int, estimate: float | None, ci_low: float | None,
                                ci_high: float | None) -> tuple[str, str]:
    """:func:`direction_verdict` for a level ``A-direction`` claim: the published direction found
    in the published records is ``direction reproduced`` (no published magnitude is compared).
    """
    outcome, rule = direction_verdict(expected_sign, estimate, ci_low, ci_high)
    return ("direction reproduced" if outcome == "reproduced" else outcome), rule


def planted_verdict(planted: float | None, estimate: float | None, *, ci_low: float | None = None,
                    ci_high: float | None = None, tolerance: float | None = None) -> tuple[str, str]:
    """``planted recovered`` when the interval covers the planted value (or, without an
    interval, the estimate is within ``tolerance``); else ``not reproduced``.
    """
    if ci_low is not None and ci_high is not None:
        rule = "interval covers the planted value"
        if not _finite(planted, ci_low, ci_high):
            return "not comparable", rule
        return ("planted recovered" if ci_low <= planted <= ci_high else "not reproduced"), rule
    if tolerance is None:
        raise ClaimError("planted_verdict needs an interval or a tolerance")
    rule = f"estimate within {tolerance:g} of the planted value"
    if not _finite(planted, estimate):
        return "not comparable", rule
    return ("planted recovered" if abs(estimate - planted) <= tolerance else "not reproduced"), rule


def null_verdict(rate: float | None, *, max_rate: float, what: str) -> tuple[str, str]:
    """``null passed`` when the rate of positives under a null is at most ``max_rate``."""
    rule = f"{what} at most {max_rate:g} under the null"
    if not _finite(rate):
        return "not comparable", rule
    return ("null passed" if rate <= max_rate else "not reproduced"), rule


def goodness_of_fit_verdict(p_value: float | None, *, alpha: float, n: int, min_n: int) -> tuple[str, str]:
    """``reproduced`` when a sample is consistent with the published distribution: the smallest
    goodness-of-fit p-value is at least ``alpha`` on at least ``min_n`` units (a small sample
    cannot fail a goodness-of-fit test, so below ``min_n`` there is no verdict).
    """
    rule = f"every goodness-of-fit p-value at least {alpha:g}, on at least {min_n} units"
    if n < min_n:
        return "not comparable", f"{rule} (too few units: {n})"
    if not _finite(p_value):
        return "not comparable", rule
    return ("reproduced" if p_value >= alpha else "not reproduced"), rule


def too_few_units(verdict: tuple[str, str], *, n: int, min_units: int, unit: str) -> tuple[str, str]:
    """A verdict decided by a bootstrap over ``n`` units stands only with at least ``min_units``
    of them: over 3 units a percentile interval is just [min, max].
    """
    outcome, rule = verdict
    rule = f"{rule}; at least {min_units} {unit}s"
    if n < min_units:
        return "not comparable", f"{rule} (too few units: {n} {unit}s)"
    return outcome, rule


def beats_baseline_verdict(baseline: float | None, estimate: float | None, ci_low: float | None) -> tuple[str, str]:
    """``reproduced`` when the interval's lower end is above a trivial baseline; else ``not
    reproduced`` (an estimate above the baseline whose interval reaches it is noise-level).
    """
    rule = "CI lower bound above the trivial baseline"
    if not _finite(baseline, estimate, ci_low):
        return "not comparable", rule
    if ci_low > baseline:
        return "reproduced", rule
    return ("not reproduced", f"{rule} (the estimate is above it, the CI reaches it)" if estimate > baseline else rule)


def as_planted(verdict: tuple[str, str]) -> tuple[str, str]:
    """On a cohort with a planted answer, an effect found as planted is "planted recovered"."""
    outcome, rule = verdict
    return ("planted recovered" if outcome == "reproduced" else outcome), rule


def claims_frame(claims: Sequence[Claim]) -> pl.DataFrame:
    """The claims as a table (ids must be unique within a study)."""
    seen = set()
    for claim in claims:
        if (claim.study, claim.claim_id) in seen:
            raise ClaimError(f"duplicate claim id {claim.claim_id!r} in study {claim.study}")
        seen.add((claim.study, claim.claim_id))
    rows = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(c).items()}
            for c in claims]
    return pl.DataFrame(rows, schema=CLAIMS_SCHEMA)


def write_claims(claims: Sequence[Claim], path: str) -> None:
    """Write ``claims`` as a CSV file with the fixed claims schema (atomically)."""
    write_table(claims_frame(claims), path, schema=CLAIMS_SCHEMA)


def read_claims(paths: Iterable[str]) -> pl.DataFrame:
    """Every study's claims in one table, checked against the schema and the allowed values."""
    frames = []
    for path in paths:
        frame = pl.read_csv(path, schema_overrides=CLAIMS_SCHEMA, infer_schema=False)
        if frame.columns != list(CLAIMS_SCHEMA):
            raise ClaimError(f"{path}: columns {frame.columns} differ from the claims schema {list(CLAIMS_SCHEMA)}")
        for column in REQUIRED:
            empty = frame.filter(pl.col(column).is_null() | (pl.col(column).str.strip_chars() == ""))
            if empty.height:
                raise ClaimError(f"{path}: column {column} is empty in {empty.height} row(s) "
                                 f"(claim ids {empty['claim_id'].to_list()}); every claim needs a {column}")
        for column, allowed in (("level", LEVELS), ("verdict", VERDICTS)):
            bad = sorted(set(frame[column].drop_nulls()) - set(allowed))
            if bad:
                raise ClaimError(f"{path}: column {column} has {bad}; allowed: {allowed}")
        frames.append(frame)
    return pl.concat(frames) if frames else claims_frame([])


def number_text(value: float | None) -> str:
    """A measured value in a claim's note: three decimals, "n/a" when missing or NaN."""
    return "n/a" if value is None or value != value else f"{value:.3f}"


def embedded_label(name: str) -> str:
    """How the claims name the embedded model, so no reader takes it for a research subject."""
    return f"{name} ({EMBEDDED_MARK})"
