"""Preference pairs of counsellor replies: from CounselChat upvotes (the public default) or from a
file in the released PsychoCounsel shape (``chosen``/``rejected`` chat lists, one pair a line).

Every pair is one question (the client's speech) with a preferred and a dispreferred reply. Pairs
never cross questions, and splits are by question, so no question is in two splits.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from replisuite.counselchat import QUESTION_COLUMNS, read_counselchat
from replisuite.stats import name_seed
from replisuite.tables import read_jsonl

PAIR_SCHEMA = {"pair_id": pl.String, "question_id": pl.String, "question": pl.String, "chosen": pl.String,
               "rejected": pl.String, "chosen_score": pl.Float64, "rejected_score": pl.Float64, "margin": pl.Float64,
               "split": pl.String}
COUNSELCHAT_COLUMNS = (*QUESTION_COLUMNS, "answerText", "upvotes")
SPLITS = ("train", "test")


class PreferenceDataError(ValueError):
    """A preference file is malformed (names file, line and field)."""


def _clean(text: Any) -> str:
    return " ".join(str(text or "").split())


def counselchat_pairs(path: str | os.PathLike[str], *, min_margin: int, max_chars: int | None = None,
                      max_pairs_per_question: int | None = None, seed: int = 0) -> tuple[pl.DataFrame, dict[str, int]]:
    """Within each question, every pair of distinct answers whose upvotes differ by ``min_margin`` or more.

    The more upvoted answer is ``chosen``. Answers with equal upvotes (ties), empty answers and
    answers repeated word for word within a question are dropped and counted. ``max_pairs_per_question``
    keeps a seeded sample of a question's pairs (drawn by the pair's id, so it does not depend on order),
    so questions with many answers do not dominate. Replies are cut to ``max_chars``.
    """
    if min_margin < 1:
        raise ValueError(f"min_margin must be at least 1 (ties are never pairs), got {min_margin}")
    frame = read_counselchat(path, required=COUNSELCHAT_COLUMNS)
    dropped = {"empty_reply": 0, "duplicate_reply": 0, "tie": 0, "below_margin": 0, "over_question_cap": 0}
    rows = []
    for (question_id,), part in frame.group_by("questionID", maintain_order=True):
        question = _clean(f"{part['questionTitle'][0] or ''}. {part['questionText'][0] or ''}")
        answers: dict[str, float] = {}
        for text, votes in zip(part["answerText"], part["upvotes"], strict=True):
            reply = _clean(text)
            if not reply or votes is None:
                dropped["empty_reply"] += 1
            elif reply in answers:
                dropped["duplicate_reply"] += 1
            else:
                answers[reply] = float(votes)
        found = []
        replies = sorted(answers.items(), key=lambda kv: (-kv[1], kv[0]))
        for i, (high, high_votes) in enumerate(replies):
            for low, low_votes in replies[i + 1:]:
                if high_votes == low_votes:
                    dropped["tie"] += 1
                elif high_votes - low_votes < min_margin:
                    dropped["below_margin"] += 1
                else:
                    pair_id = f"cc{question_id}-{len(found)}"
                    found.append((pair_id, str(question_id), question, high[:max_chars], low[:max_chars], high_votes,
                                  low_votes, high_votes - low_votes))
        if max_pairs_per_question is not None and len(found) > max_pairs_per_question:
            keep = sorted(found, key=lambda r: name_seed(seed, r[0]))[:max_pairs_per_question]
            dropped["over_question_cap"] += len(found) - len(keep)
            found = [r for r in found if r in keep]
        rows += found
    pairs = pl.DataFrame([(*r, "") for r in rows], schema=PAIR_SCHEMA, orient="row")
    return pairs, dropped


def _reply(messages: Any, where: str) -> tuple[list[dict[str, str]], str]:
    if not isinstance(messages, list) or not messages:
        raise PreferenceDataError(f"{where}: expected a non-empty list of chat messages")
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or not {"role", "content"} <= set(message):
            raise PreferenceDataError(f"{where}[{number}]: expected a message with 'role' and 'content'")
    if messages[-1]["role"] != "assistant":
        raise PreferenceDataError(f"{where}: the last message must be the assistant's reply, got {messages[-1]['role']!r}")
    return [{"role": m["role"], "content": str(m["content"])} for m in messages[:-1]], _clean(messages[-1]["content"])


def _question_id(question: str) -> str:
    return "q" + hashlib.sha256(question.encode()).hexdigest()[:12]


def read_published_pairs(path: str | os.PathLike[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Pairs from a JSONL file in the released PsychoCounsel preference shape.

    Each line holds ``chosen`` and ``rejected`` chat lists that share the conversation and end in
    the assistant's reply (an optional ``prompt`` list holds the shared part instead). The question
    is the conversation's user turns. A malformed line is an error naming file and line; pairs with
    identical or empty replies are dropped and counted.
    """
    dropped = {"empty_reply": 0, "identical_replies": 0}
    rows = []
    for number, row in enumerate(read_jsonl(path, required=("chosen", "rejected"), error=PreferenceDataError), 1):
        where = f"{path}:{number}"
        prompt = row.get("prompt") or []
        chosen_context, chosen = _reply(prompt + row["chosen"] if prompt else row["chosen"], f"{where} chosen")
        rejected_context, rejected = _reply(prompt + row["rejected"] if prompt else row["rejected"], f"{where} rejected")
        if chosen_context != rejected_context:
            raise PreferenceDataError(f"{where}: chosen and rejected must share the conversation before the reply")
        question = _clean(" ".join(m["content"] for m in chosen_context if m["role"] == "user"))
        if not question:
            raise PreferenceDataError(f"{where}: no user message before the replies")
        if not chosen or not rejected:
            dropped["empty_reply"] += 1
        elif chosen == rejected:
            dropped["identical_replies"] += 1
        else:
            rows.append((f"pc{number}", _question_id(question), question, chosen, rejected,
                         np.nan, np.nan, np.nan, ""))
    if not rows:
        raise PreferenceDataError(f"{path}: no usable pair")
    return pl.DataFrame(rows, schema=PAIR_SCHEMA, orient="row"), dropped


def split_by_question(pairs: pl.DataFrame, *, test_share: float, seed: int) -> pl.DataFrame:
    """Each question's pairs all go to ``train`` or all to ``test``, drawn by a seed from the question's id."""
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must be in (0, 1), got {test_share}")
    questions = pairs["question_id"].unique().to_list()
    draws = {q: np.random.default_rng(name_seed(seed, "split", q)).random() for q in questions}
    split = pairs["question_id"].map_elements(lambda q: "test" if draws[q] < test_share else "train", return_dtype=pl.String)
    return check_splits(pairs.with_columns(split.alias("split")))


def check_splits(pairs: pl.DataFrame) -> pl.DataFrame:
    """The pairs, or an error naming a question that is in two splits."""
    spread = pairs.group_by("question_id").agg(pl.col("split").n_unique().alias("n"), pl.col("split").unique().alias("splits"))
    leaking = spread.filter(pl.col("n") > 1)
    if leaking.height:
        row = leaking.row(0, named=True)
        raise PreferenceDataError(f"question {row['question_id']} is in splits {sorted(row['splits'])}; "
                                  f"{leaking.height} question(s) cross splits")
    unknown = set(pairs["split"]) - set(SPLITS)
    if unknown:
        raise PreferenceDataError(f"unknown split(s) {sorted(unknown)}; expected {SPLITS}")
    return pairs


STATISTICS_SCHEMA = {"measure": pl.String, "value": pl.Float64}


def pair_statistics(pairs: pl.DataFrame, dropped: Mapping[str, int]) -> pl.DataFrame:
    """Pairs and questions per split, margin distribution, reply lengths, and what was dropped."""
    rows = [("pairs", pairs.height), ("questions", pairs["question_id"].n_unique())]
    for split in SPLITS:
        part = pairs.filter(pl.col("split") == split)
        rows += [(f"pairs_{split}", part.height), (f"questions_{split}", part["question_id"].n_unique())]
    margins = pairs["margin"].drop_nans().drop_nulls()
    if margins.len():
        rows += [(f"margin_{name}", float(value)) for name, value in
                 (("mean", margins.mean()), ("median", margins.median()), ("max", margins.max()))]
        rows += [(f"margin_{int(m)}", int((margins == m).sum())) for m in sorted(set(margins.to_list()))]
    words = {side: pairs[side].str.split(" ").list.len() for side in ("chosen", "rejected")}
    rows += [(f"words_{side}_mean", float(values.mean())) for side, values in words.items()]
    rows.append(("chosen_longer_share", float((words["chosen"] > words["rejected"]).mean())))
    rows += [(f"dropped_{reason}", count) for reason, count in dropped.items()]
    return pl.DataFrame([(m, float(v)) for m, v in rows], schema=STATISTICS_SCHEMA, orient="row")


def as_chat_pairs(pairs: pl.DataFrame, *, system: str | None = None) -> list[dict[str, Any]]:
    """Pairs as prompt messages plus chosen and rejected texts (the shape DPO trains on)."""
    head = [{"role": "system", "content": system}] if system else []
    return [{"prompt": [*head, {"role": "user", "content": row["question"]}], "chosen": row["chosen"],
             "rejected": row["rejected"]} for row in pairs.iter_rows(named=True)]


def pick(frame: pl.DataFrame, *, n: int | None, seed: int, by: str = "pair_id") -> pl.DataFrame:
    """A sample of ``n`` rows chosen by a seed from each row's id (all when ``n`` is None)."""
    if n is None or n >= frame.height:
        return frame
    order = sorted(frame[by].to_list(), key=lambda key: name_seed(seed, key))[:n]
    return frame.filter(pl.col(by).is_in(order))
