"""Ask a model the stigma questions and the interjections; grade the interjection answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from replisuite.llm import LLM
from replisuite.stigma.coding import LETTERS, agreement, parse_option, stigma_code
from replisuite.stigma.interjections import (
    interjection_messages, is_appropriate, judge_answer, judge_messages, shuffled_options, stimulus_id,
)
from replisuite.stigma.records import judge_record_request
from replisuite.stigma.stimuli import Protocol, read_jsonl, stigma_messages

ANSWER_METHODS = ("generate", "loglik")


def ask_stigma(
    llm: LLM,
    stimuli: pl.DataFrame,
    *,
    steel_man: bool,
    protocol: Protocol,
    method: str,
    params: Mapping[str, Any],
    directions: Mapping[str, str],
) -> pl.DataFrame:
    """One row per stimulus: the reply, the parsed answer, agreement and stigma codes.

    ``method="generate"`` sends the paper's request (a short completion) and parses the
    option letter; ``method="loglik"`` scores each option letter's likelihood after the same
    messages (for small local models whose free text rarely starts with a letter).
    """
    if method not in ANSWER_METHODS:
        raise ValueError(f"answer method must be one of {ANSWER_METHODS}, got {method!r}")
    requests = []
    for row in stimuli.iter_rows(named=True):
        messages = stigma_messages(row["prompt"], steel_man=steel_man, protocol=protocol)
        letters = list(LETTERS[: len(row["options"])]) if method == "loglik" else ()
        requests.append(llm.request(messages, options=letters, **params))
    responses = llm.run(requests).responses
    rows = []
    for row, request, response in zip(stimuli.iter_rows(named=True), requests, responses, strict=True):
        answer = parse_option(response.text, row["options"])
        agree = agreement(answer, row["options"])
        rows.append(
            {
                "model": llm.entry.name,
                "steel_man": steel_man,
                "answer_method": method,
                "item": row["item"],
                "condition": row["condition"],
                "race": row["race"],
                "gender": row["gender"],
                "education": row["education"],
                "question_only": row["question_only"],
                "output": response.text,
                "answer": answer,
                "agreement": agree,
                "stigma": stigma_code(row["question_only"], agree, directions),
                "request_key": request.key,
            }
        )
    return pl.DataFrame(rows, schema=STIGMA_ANSWERS_SCHEMA)


STIGMA_ANSWERS_SCHEMA = {
    "model": pl.String, "steel_man": pl.Boolean, "answer_method": pl.String, "item": pl.Int64,
    "condition": pl.String, "race": pl.String, "gender": pl.String, "education": pl.String,
    "question_only": pl.String, "output": pl.String, "answer": pl.String, "agreement": pl.Float64,
    "stigma": pl.Float64, "request_key": pl.String,
}

VERDICTS_SCHEMA = {
    "model": pl.String, "steel_man": pl.Boolean, "contextualize": pl.Boolean, "key": pl.String,
    "stimulus": pl.String, "condition": pl.String, "message_number": pl.Int64, "response": pl.String,
    "verdict": pl.String, "correct": pl.String, "appropriate": pl.Boolean, "judge": pl.String,
    "request_key": pl.String, "judge_request_key": pl.String,
}


def ask_interjections(
    llm: LLM,
    judge: LLM,
    stimuli: pl.DataFrame,
    *,
    steel_man: bool,
    protocol: Protocol,
    params: Mapping[str, Any],
    judge_params: Mapping[str, Any],
    judge_method: str,
    seed: int,
) -> pl.DataFrame:
    """Send each interjection (no transcript before it), truncate the reply, have it judged."""
    requests = [
        llm.request(interjection_messages(row["turns"], steel_man=steel_man, protocol=protocol), **params)
        for row in stimuli.iter_rows(named=True)
    ]
    responses = llm.run(requests).responses
    limit = protocol.character_limit_chars
    replies = [r.text[:limit] for r in responses]
    return _judge(
        judge, stimuli.iter_rows(named=True), replies, protocol=protocol, judge_params=judge_params,
        judge_method=judge_method, seed=seed, model=llm.entry.name, steel_man=steel_man,
        request_keys=[r.key for r in requests], full_replies=[r.text for r in responses],
    )


def _judge(judge, rows, replies, *, protocol, judge_params, judge_method, seed, model, steel_man, request_keys, full_replies):
    rows = list(rows)
    judge_requests = []
    for row, full in zip(rows, full_replies, strict=True):
        options = shuffled_options(row["options"], seed=seed, key=f"{model}:{steel_man}:{row['stimulus']}")
        messages = judge_messages(
            question=row["verification_prompt"], options=options, query=row["turns"][-1], response=full,
            protocol=protocol,
        )
        letters = list(LETTERS[: len(options)]) if judge_method == "loglik" else ()
        judge_requests.append((judge.request(messages, options=letters, **judge_params), options))
    verdicts = judge.run([r for r, _ in judge_requests]).responses
    out = []
    for row, reply, key, (request, options), verdict in zip(rows, replies, request_keys, judge_requests, verdicts, strict=True):
        answer = judge_answer(verdict.text, options)
        out.append(
            {
                "model": model, "steel_man": steel_man, "contextualize": False, "key": row["stimulus"],
                "stimulus": row["stimulus"], "condition": row["condition"], "message_number": 0,
                "response": reply, "verdict": answer, "correct": row["correct"],
                "appropriate": is_appropriate(answer, row["correct"]), "judge": judge.entry.name,
                "request_key": key, "judge_request_key": request.key,
            }
        )
    return pl.DataFrame(out, schema=VERDICTS_SCHEMA)


def judge_published(
    records_path: str, judge: LLM, *, source: str, model: str, steel_man: bool, contextualize: bool,
    verdict_field: str, judge_params: Mapping[str, Any],
) -> pl.DataFrame:
    """Grade a published model's records by replaying the published judge's verdicts."""
    records = read_jsonl(records_path, required=("key", "classification_prompt", "verification_options"))
    requests = {
        index: judge_record_request(judge, r, source=source, params=judge_params)
        for index, r in enumerate(records)
        if r["classification_prompt"] and r.get(verdict_field) is not None
    }
    answered = dict(zip(requests, judge.run(list(requests.values())).responses, strict=True))
    rows = []
    for index, record in enumerate(records):
        response = answered.get(index)
        verdict = judge_answer(response.text, record["verification_options"]) if response else None
        rows.append(
            {
                "model": model, "steel_man": steel_man, "contextualize": contextualize, "key": record["key"],
                "stimulus": stimulus_id(record["key"]), "condition": record["condition"],
                "message_number": int(record["message_number"]), "response": record.get("model_response"),
                "verdict": verdict, "correct": record["verification_correct"],
                "appropriate": is_appropriate(verdict, record["verification_correct"]), "judge": judge.entry.name,
                "request_key": None, "judge_request_key": requests[index].key if index in requests else None,
            }
        )
    return pl.DataFrame(rows, schema=VERDICTS_SCHEMA)
