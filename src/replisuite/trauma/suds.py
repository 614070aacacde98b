"""SUDS trajectories from transcripts: where the therapist elicits a rating, what the client's reply
says (a number in context or a number word; a model reads verbal ratings), per conversation.

A reply with a number outside 0-100 is ``out_of_range`` and one with no rating ``unparseable``:
both are counted rows with no value, never dropped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.llm import LLM, Message

ELICITS = re.compile(r"\bsuds\b|\b0\s*(?:-|to|–)\s*100\b|distress (?:level|rating)|\brate (?:your|it|how)", re.IGNORECASE)
SCALE = re.compile(r"\b0\s*(?:-|to|–)\s*100\b|\bout of (?:100|a hundred)\b|/\s*100\b|\bscale of\b", re.IGNORECASE)
UNITS = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
TENS = {w: 10 * i for i, w in enumerate(["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]) if w != "_"}
# single number words only where a rating is plausible ("one of the worst" is not a SUDS of 1)
STANDALONE = ("zero", "five", "ten", "fifteen")
NUMBER_WORD = re.compile(r"\b(?:(a|one) hundred|(" + "|".join(TENS) + r")(?:[\s-](" + "|".join(list(UNITS)[1:10])
                         + r"))?|(" + "|".join(STANDALONE) + r"))\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\d.,])(\d{1,4})(?:\.\d+)?(?![\d.,]*\d)")
# A model answers with one digit, the SUDS decile (0: 0-9 ... 9: 90-100), read as the decile's middle:
# single-token options are scored in one batched pass (multi-digit numbers take one pass each).
DECILES = tuple("0123456789")
DECILE_SCALE = "one digit: 0 for SUDS 0-9 (calm), 1 for 10-19, and so on up to 9 for 90-100 (the worst distress)"
TRAJECTORY_SCHEMA = {"conversation": pl.String, "case_id": pl.String, "phase": pl.String, "point": pl.Int64,
                     "exchange": pl.Int64, "text": pl.String, "value": pl.Float64, "status": pl.String,
                     "planted": pl.Float64, "scenario": pl.String}


def _words_to_number(match: re.Match) -> int:
    hundred, tens, unit, single = match.groups()
    if hundred:
        return 100
    if tens:
        return TENS[tens.lower()] + (UNITS[unit.lower()] if unit else 0)
    return UNITS[single.lower()]


def parse_suds(text: str) -> tuple[int | None, str]:
    """The rating a reply states: ``(value, "number" | "word")``, ``(None, "out_of_range")`` when the
    only numbers lie outside 0-100, or ``(None, "unparseable")``. The scale's own numbers ("0 to 100",
    "out of 100") are not ratings.
    """
    stripped = SCALE.sub(" ", text)
    numbers = [int(m.group(1)) for m in NUMBER.finditer(stripped)]
    if numbers:
        inside = [n for n in numbers if 0 <= n <= 100]
        return (inside[0], "number") if inside else (None, "out_of_range")
    word = NUMBER_WORD.search(stripped)
    if word:
        return _words_to_number(word), "word"
    return None, "unparseable"


def elicitation_points(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The client turns that answer a SUDS elicitation: turns the generator cued (``cued``), or, in
    transcripts without cues, client turns after a therapist turn that asks for a rating.
    """
    turns = record["turns"]
    cued = any("cued" in t for t in turns)
    points, previous = [], None
    for turn in turns:
        if turn["role"] == "client":
            asked = turn.get("cued", False) if cued else bool(previous and ELICITS.search(previous["text"]))
            if asked:
                points.append(turn)
        previous = turn
    return points


def trajectories(records: Sequence[Mapping[str, Any]], *, planted: Mapping[str, Mapping[str, int]] | None = None,
                 rater: LLM | None = None) -> pl.DataFrame:
    """One row per elicited rating: the parsed value, or the ``rater``'s reading of a verbal reply
    (status ``model``), and the planted value where the generator planted one.
    """
    rows, verbal = [], []
    for record in records:
        plan = (planted or {}).get(record["profile_id"], {})
        for point, turn in enumerate(elicitation_points(record), start=1):
            value, status = parse_suds(turn["text"])
            row = {"conversation": record["id"], "case_id": record.get("case_id") or record["profile_id"].rsplit("_", 1)[0],
                   "phase": record.get("phase") or record["profile_id"].rsplit("_", 1)[-1], "point": point,
                   "exchange": turn["exchange"], "text": turn["text"], "value": value, "status": status,
                   "planted": plan.get(str(turn["exchange"])),
                   # released conversations have no plan; generated ones say whether their arc was flat
                   "scenario": record.get("scenario") or ("published" if record.get("protocol") == "published" else "planted")}
            if status == "unparseable" and rater is not None:
                verbal.append(row)
            rows.append(row)
    if verbal:
        for row, value in zip(verbal, rate_verbal(rater, [r["text"] for r in verbal]), strict=True):
            if value is not None:
                row["value"], row["status"] = float(value), "model"
    return pl.DataFrame(rows, schema=TRAJECTORY_SCHEMA)


def decile_value(option: str | None) -> float | None:
    """The SUDS a decile answer stands for (the middle of its range), None for no answer."""
    return 10 * int(option) + 5 if option in DECILES else None


def rate_verbal(llm: LLM, texts: Sequence[str]) -> list[float | None]:
    """A model's reading of verbal ratings: one SUDS decile per reply, the likeliest (a local entry)
    or the one its reply names, parsed strictly (a served entry: no token likelihoods there).
    """
    requests = [llm.request([Message("system", "You read a therapy client's answer to 'How distressed are you now, "
                                               "from 0 (calm) to 100 (the worst distress)?'"),
                             Message("user", f"The client said: {text}\n\nWhich SUDS does the answer express? "
                                             f"Answer with {DECILE_SCALE}.")],
                            options=DECILES) for text in texts]
    return [decile_value((r.parsed or {}).get("option")) for r in llm.run(requests).responses]


def mask_ratings(text: str) -> str:
    """The reply with its numbers and number words replaced, so a predictor cannot read the rating."""
    return NUMBER_WORD.sub("<n>", NUMBER.sub("<n>", text))
