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
``proxy``
    the method on a public stand-in dataset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import polars as pl

from replisuite.tables import write_table

LEVELS = ("A", "B", "C", "proxy")
VERDICTS = (
    "reproduced", "not reproduced", "direction reproduced", "planted recovered", "null passed", "not comparable",
)
CLAIMS_SCHEMA = {
    "study": pl.String, "claim_id": pl.String, "claim": pl.String, "source": pl.String, "published": pl.String,
    "reproduced": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "level": pl.String,
    "verdict": pl.String, "rule": pl.String, "models": pl.String, "note": pl.String,
}
EMBEDDED_MARK = "embedded 135M model"


class ClaimError(ValueError):
    """A claim is malformed (unknown level or verdict, empty text, duplicate id)."""


@dataclass(frozen=True)
class Claim:
    """One finding of a paper and what we found.

    ``rule`` says in words how the verdict was computed (e.g. "equal within 1e-9").
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

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ClaimError(f"claim {self.claim_id}: level must be one of {LEVELS}, got {self.level!r}")
        if self.verdict not in VERDICTS:
            raise ClaimError(f"claim {self.claim_id}: verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if not self.claim.strip() or not self.claim_id.strip():
            raise ClaimError(f"claim {self.claim_id!r} of {self.study}: id and text must not be empty")


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

    ``reproduced``: the estimate has the published sign and its interval excludes 0;
    ``direction reproduced``: the sign agrees but the interval includes 0; ``not
    reproduced``: the estimate has the other sign (or is 0).
    """
    if expected_sign not in (-1, 1):
        raise ClaimError(f"expected_sign must be -1 or 1, got {expected_sign}")
    rule = f"published sign {'+' if expected_sign > 0 else '-'}; CI must exclude 0"
    if not _finite(estimate, ci_low, ci_high):
        return "not comparable", rule
    if estimate * expected_sign <= 0:
        return "not reproduced", rule
    excludes_zero = ci_low > 0 if expected_sign > 0 else ci_high < 0
    return ("reproduced" if excludes_zero else "direction reproduced"), rule


def planted_verdict(planted: float | None, estimate: float | None, *, ci_low: float | None = None,
                    ci_high: float | None = None, tolerance: float | None = None) -> tuple[str, str]:
    """``planted recovered`` when the interval covers the planted value (or, without an
    interval, the estimate is within ``tolerance``); else ``not reproduced``."""
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


def goodness_of_fit_verdict(p_value: float | None, *, alpha: float) -> tuple[str, str]:
    """``reproduced`` when a sample is consistent with the published distribution: the smallest
    goodness-of-fit p-value is at least ``alpha``."""
    rule = f"every goodness-of-fit p-value at least {alpha:g}"
    if not _finite(p_value):
        return "not comparable", rule
    return ("reproduced" if p_value >= alpha else "not reproduced"), rule


def beats_baseline_verdict(baseline: float | None, estimate: float | None, ci_low: float | None) -> tuple[str, str]:
    """``reproduced`` when the interval's lower end is above a trivial baseline."""
    rule = "CI lower bound above the trivial baseline"
    if not _finite(baseline, estimate, ci_low):
        return "not comparable", rule
    if ci_low > baseline:
        return "reproduced", rule
    return ("direction reproduced" if estimate > baseline else "not reproduced"), rule


def as_planted(verdict: tuple[str, str]) -> tuple[str, str]:
    """On a cohort with a planted answer, an effect found as planted is "planted recovered"."""
    outcome, rule = verdict
    return ("planted recovered" if outcome == "reproduced" else outcome), rule


def wald_difference(p1: float, n1: int, p2: float, n2: int, *, z: float = 1.959964) -> tuple[float, float, float]:
    """Difference of two proportions with its Wald interval (NaN without data on either side)."""
    if not (n1 and n2 and _finite(p1, p2)):
        return (math.nan, math.nan, math.nan)
    difference = p1 - p2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return difference, difference - z * se, difference + z * se


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
    write_table(claims_frame(claims), path, schema=CLAIMS_SCHEMA)


def read_claims(paths: Iterable[str]) -> pl.DataFrame:
    """Every study's claims in one table, checked against the schema and the allowed values."""
    frames = []
    for path in paths:
        frame = pl.read_csv(path, schema_overrides=CLAIMS_SCHEMA, infer_schema=False)
        if frame.columns != list(CLAIMS_SCHEMA):
            raise ClaimError(f"{path}: columns {frame.columns} differ from the claims schema {list(CLAIMS_SCHEMA)}")
        for column, allowed in (("level", LEVELS), ("verdict", VERDICTS)):
            bad = sorted(set(frame[column].drop_nulls()) - set(allowed))
            if bad:
                raise ClaimError(f"{path}: column {column} has {bad}; allowed: {allowed}")
        frames.append(frame)
    return pl.concat(frames) if frames else claims_frame([])


def embedded_label(name: str) -> str:
    """How the claims name the embedded model, so no reader takes it for a research subject."""
    return f"{name} ({EMBEDDED_MARK})"
