"""A filter over synthesised dialogues: rule checks a careful engineer runs first, then a judge's
checks (a rubric whose items are issues scored 1 when present), and the decision to keep or drop.

One row per dialogue and check (:data:`CHECK_SCHEMA`): ``failed`` is True when the dialogue has the
issue. A judge item that could not be scored (unparseable after the repair pass) counts as failed,
with its status kept, so a judge that cannot answer drops dialogues instead of passing them.
Baseline filters (:func:`length_rule`, :func:`keyword_rule`) give the same rows, so any filter's
decisions compare with any other's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.dialogue.reasoning import Knowledge

RULE_CHECKS = ("reasoning_closed", "reasoning_ends_a_sentence", "names_condition_and_framework", "turns_alternate",
               "no_empty_reply")
CHECK_SCHEMA = {"unit": pl.String, "filter": pl.String, "check": pl.String, "kind": pl.String, "failed": pl.Boolean,
                "status": pl.String}
SENTENCE_END = re.compile(r"[.!?][\"')\]]*$")


def _reasoned(turns: Sequence[Mapping[str, Any]], role: str) -> list[Mapping[str, Any]]:
    return [t for t in turns if t["role"] == role]


def rule_checks(turns: Sequence[Mapping[str, Any]], *, knowledge: Knowledge, role: str = "counsellor",
                opener: str = "client", filler: str = "...") -> dict[str, bool]:
    """Which rule checks a dialogue fails (True: the issue is present).

    ``reasoning_closed``: every ``role`` turn has a closed, non-empty reasoning part;
    ``reasoning_ends_a_sentence``: every reasoning part ends with sentence-final punctuation (a cut
    one does not); ``names_condition_and_framework``: every reasoning part names a condition and a
    framework of ``knowledge``; ``turns_alternate``: the dialogue starts with ``opener``, roles
    alternate and exchanges do not go back; ``no_empty_reply``: no reply is empty or the filler.
    """
    mine = _reasoned(turns, role)
    reasonings = [str(t.get("reasoning") or "") for t in mine]
    roles = [t["role"] for t in turns]
    exchanges = [int(t.get("exchange", 0)) for t in turns]
    return {
        "reasoning_closed": not mine or any(t.get("reasoning_status") != "closed" or not r for t, r in zip(mine, reasonings,
                                                                                                          strict=True)),
        "reasoning_ends_a_sentence": not mine or any(not SENTENCE_END.search(r) for r in reasonings),
        "names_condition_and_framework": not mine or any(
            not knowledge.conditions_named(r) or not knowledge.frameworks_named(r) for r in reasonings),
        "turns_alternate": (not roles or roles[0] != opener or any(a == b for a, b in zip(roles, roles[1:], strict=False))
                            or any(b < a for a, b in zip(exchanges, exchanges[1:], strict=False))),
        "no_empty_reply": any(not str(t["text"]).strip() or str(t["text"]).strip() == filler or t.get("filler")
                              for t in mine),
    }


def rule_rows(dialogues: Mapping[str, Sequence[Mapping[str, Any]]], *, knowledge: Knowledge, filter_name: str = "filter",
              **options: Any) -> pl.DataFrame:
    """:func:`rule_checks` of every dialogue (unit id -> turns) as check rows."""
    rows = [{"unit": unit, "filter": filter_name, "check": check, "kind": "rule", "failed": failed, "status": "ok"}
            for unit, turns in dialogues.items()
            for check, failed in rule_checks(turns, knowledge=knowledge, **options).items()]
    return pl.DataFrame(rows, schema=CHECK_SCHEMA)


def judge_rows(judgements: pl.DataFrame, *, filter_name: str = "filter") -> pl.DataFrame:
    """A judge's issue rubric (``judging.judge`` rows, first repeat) as check rows: an issue scored
    1, or not scored at all, fails.
    """
    first = judgements.filter(pl.col("repeat") == 0)
    return first.select(
        "unit", pl.lit(filter_name).alias("filter"), pl.col("item").alias("check"), pl.lit("judge").alias("kind"),
        (pl.col("score").is_null() | (pl.col("score") >= 1)).alias("failed"), "status",
    ).cast(CHECK_SCHEMA)


def decisions(checks: pl.DataFrame, *, keys: Sequence[str] = ("filter", "unit")) -> pl.DataFrame:
    """Per ``keys`` (a filter's unit by default): ``dropped`` (some check failed) and the failed
    checks, joined by ``;``.
    """
    return (checks.group_by(*keys)
            .agg(pl.col("failed").any().alias("dropped"),
                 pl.col("check").filter(pl.col("failed")).sort().str.join(";").alias("failed_checks"))
            .sort(*keys))


def length_rule(dialogues: Mapping[str, Sequence[Mapping[str, Any]]], *, min_words: int, role: str = "counsellor",
                filter_name: str = "length rule") -> pl.DataFrame:
    """A trivial filter: drop a dialogue whose ``role`` turns (reasoning and reply) hold fewer than
    ``min_words`` words in all.
    """
    rows = []
    for unit, turns in dialogues.items():
        words = sum(len(f"{t.get('reasoning') or ''} {t['text']}".split()) for t in _reasoned(turns, role))
        rows.append({"unit": unit, "filter": filter_name, "check": f"fewer than {min_words} words", "kind": "baseline",
                     "failed": words < min_words, "status": "ok"})
    return pl.DataFrame(rows, schema=CHECK_SCHEMA)


def keyword_rule(dialogues: Mapping[str, Sequence[Mapping[str, Any]]], *, keywords: Iterable[str],
                 role: str = "counsellor", filter_name: str = "keyword rule") -> pl.DataFrame:
    """A trivial filter: drop a dialogue whose ``role`` turns (reasoning and reply) contain none of
    ``keywords`` (case-insensitive, whole words).
    """
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, keywords)) + r")\b", re.IGNORECASE)
    rows = []
    for unit, turns in dialogues.items():
        text = " ".join(f"{t.get('reasoning') or ''} {t['text']}" for t in _reasoned(turns, role))
        rows.append({"unit": unit, "filter": filter_name, "check": "no keyword", "kind": "baseline",
                     "failed": pattern.search(text) is None, "status": "ok"})
    return pl.DataFrame(rows, schema=CHECK_SCHEMA)
