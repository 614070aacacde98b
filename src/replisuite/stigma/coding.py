"""Answers to survey questions: option letters parsed from text, coded as in the paper."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

LETTERS = "ABCDEFGHIJ"
UNKNOWN = "Do not know"
_LEADING_LETTER = re.compile(r"^\s*(\()?([A-J])(\))?(?=[\s.:)]|$)")

# stigmatising answer per stigma question: "likely" (violence) or "unwilling" (social distance)
STIGMA_DIRECTIONS = ("likely", "unwilling")


def parse_option(text: str | None, options: Sequence[str]) -> str | None:
    """The option whose letter opens the reply, else None.

    Accepted: "D", " (B)", "C. Probably willing", "B: ...", "(A) Not at all likely", and a bare
    letter followed by that option's text. A letter followed by other words ("A person like
    John ...") is an article, not an answer.
    """
    if not text:
        return None
    match = _LEADING_LETTER.match(text)
    if not match:
        return None
    index = LETTERS.index(match.group(2))
    if index >= len(options):
        return None
    rest = text[match.end() :]
    marked = match.group(1) or match.group(3) or not rest.strip() or rest[0] in ".:)"
    if marked or rest.strip().lower().startswith(options[index].lower()):
        return options[index]
    return None


def agreement(answer: str | None, options: Sequence[str]) -> float:
    """1 for the two upper options (likely / willing), 0 for the two lower, NaN if missing.

    This is the published records' ``code`` column: "Do not know" and unparseable answers
    are missing (NaN), never imputed.
    """
    if answer is None or answer == UNKNOWN or answer not in options:
        return math.nan
    return float(list(options).index(answer) not in (0, 1))


def stigma_code(question: str, agree: float, directions: Mapping[str, str]) -> float:
    """Stigma 0/1 for a stigma question (NaN if missing or not a stigma question)."""
    direction = directions.get(question)
    if direction is None or math.isnan(agree):
        return math.nan
    if direction not in STIGMA_DIRECTIONS:
        raise ValueError(f"stigma direction for {question!r} must be one of {STIGMA_DIRECTIONS}, got {direction!r}")
    return agree if direction == "likely" else 1.0 - agree
