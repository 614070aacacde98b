"""The judge study's public inputs: AnnoMI sessions with their expert MI-quality label, and
CounselChat questions with therapists' answers and upvotes for the arena.
"""

from __future__ import annotations

import os

import polars as pl

from replisuite.coding.annomi import read_annomi, utterances
from replisuite.counselchat import QUESTION_COLUMNS, read_counselchat
from replisuite.judge.transcripts import Transcript, transcript
from replisuite.stats import name_seed

SESSION_SCHEMA = {"unit": pl.String, "label": pl.String, "turns": pl.Int64, "counsellor_words": pl.Int64}


def annomi_sessions(path: str | os.PathLike[str]) -> tuple[dict[str, Transcript], pl.DataFrame]:
    """Every AnnoMI transcript as counsellor/client turns, and a table of its expert label
    (``high``/``low`` MI quality), turns and counsellor words (the length baseline).
    """
    rows = utterances(read_annomi(path))
    sessions, table = {}, []
    for (transcript_id,), frame in rows.group_by("transcript_id", maintain_order=True):
        unit = f"annomi-{transcript_id}"
        turns = [{"role": "client" if speaker == "client" else "counsellor", "text": text}
                 for speaker, text in zip(frame["interlocutor"], frame["utterance_text"], strict=True) if text.strip()]
        sessions[unit] = transcript(unit, turns)
        words = sum(len(t["text"].split()) for t in turns if t["role"] == "counsellor")
        table.append((unit, frame["mi_quality"][0], len(turns), words))
    return sessions, pl.DataFrame(table, schema=SESSION_SCHEMA, orient="row")


def stratified_sample(table: pl.DataFrame, *, per_label: int | None, seed: int) -> pl.DataFrame:
    """``per_label`` units of each label (all when None), chosen by a seed derived from each unit's
    name: the same unit is in the sample whatever else the table holds.
    """
    ranked = table.with_columns(pl.col("unit").map_elements(lambda u: name_seed(seed, u), return_dtype=pl.UInt64).alias("_rank"))
    if per_label is not None:
        ranked = ranked.sort("_rank").group_by("label", maintain_order=True).head(per_label)
    return ranked.drop("_rank").sort("label", "unit")


ARENA_SCHEMA = {"context": pl.String, "reply": pl.String, "text": pl.String, "upvotes": pl.Int64}


def arena_questions(path: str | os.PathLike[str], *, questions: int, max_chars: int, seed: int) -> tuple[dict[str, str], pl.DataFrame]:
    """CounselChat questions answered by at least two therapists with different upvotes, chosen by a
    seed derived from each question's id: the question texts, and per question the most and the
    least upvoted answer (``human_top``, ``human_other``) cut to ``max_chars``.
    """
    frame = read_counselchat(path, required=(*QUESTION_COLUMNS, "answerText", "upvotes"))
    answers = (frame.filter(pl.col("answerText").is_not_null() & pl.col("upvotes").is_not_null())
               .with_columns(pl.col("answerText").str.replace_all(r"\s+", " ").str.strip_chars(),
                             pl.col("questionID").cast(pl.String)))
    spread = answers.group_by("questionID").agg(pl.col("upvotes").max().alias("top"), pl.col("upvotes").min().alias("bottom"),
                                                 pl.len().alias("answers"))
    eligible = spread.filter((pl.col("answers") >= 2) & (pl.col("top") > pl.col("bottom")))["questionID"].to_list()
    chosen = sorted(eligible, key=lambda q: name_seed(seed, q))[:questions]
    contexts, rows = {}, []
    for question in sorted(chosen, key=int):
        part = answers.filter(pl.col("questionID") == question).sort("upvotes", "answerText", descending=[True, False])
        context = f"q{question}"
        title, text = part["questionTitle"][0] or "", part["questionText"][0] or ""
        contexts[context] = " ".join(f"{title}. {text}".split())
        for name, row in (("human_top", part.row(0, named=True)), ("human_other", part.row(-1, named=True))):
            rows.append((context, name, row["answerText"][:max_chars], int(row["upvotes"])))
    return contexts, pl.DataFrame(rows, schema=ARENA_SCHEMA, orient="row")
