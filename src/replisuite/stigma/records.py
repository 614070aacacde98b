"""Published per-model records, imported into the response store for the replay backend.

A record becomes the stored answer to exactly the request a live run of that model would
send, so the paper's tables come out of the same code path as any live model's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from replisuite.llm import LLM, Message, Response
from replisuite.provenance import utc_now
from replisuite.stigma.stimuli import Protocol, read_jsonl, stigma_messages


def _imported(request, text: str | None, model_version: str) -> Response:
    return Response(
        request=request, text=text or "", parsed=None, model_version=model_version,
        fingerprint=None, usage={}, latency_s=0.0, created_at=utc_now(), origin="imported",
    )


def import_stigma_records(
    path: str | os.PathLike[str],
    llm: LLM,
    *,
    steel_man: bool,
    protocol: Protocol,
    prompts: set[str],
    params: Mapping[str, Any],
) -> int:
    """Store each record's ``output`` as the answer to its stigma request; returns new answers.

    Only records whose prompt is among ``prompts`` (the stimuli being asked) are imported; that
    every published prompt is a generated one is checked when the stimuli are prepared.
    """
    records = read_jsonl(path, required=("prompt", "output"))
    responses = []
    for record in records:
        if record["prompt"] not in prompts:
            continue
        request = llm.request(stigma_messages(record["prompt"], steel_man=steel_man, protocol=protocol), **params)
        responses.append(_imported(request, record["output"], llm.entry.model))
    return llm.store.put_many(responses)


def judge_record_request(judge: LLM, record: Mapping[str, Any], *, source: str, params: Mapping[str, Any]):
    """The published judge request of one record.

    The same classification prompt was sometimes sent more than once (identical replies) and
    answered differently; ``sample`` (source and record key) keeps each published verdict.
    """
    messages = [Message(m["role"], m["content"]) for m in record["classification_prompt"]]
    return judge.request(messages, sample=f"{source}:{record['key']}", **params)


def import_judge_records(
    path: str | os.PathLike[str], judge: LLM, *, source: str, verdict_field: str, params: Mapping[str, Any]
) -> int:
    """Store each record's judge verdict as the answer to its published classification prompt."""
    responses = [
        _imported(judge_record_request(judge, record, source=source, params=params), record[verdict_field], judge.entry.model)
        for record in read_jsonl(path, required=("key", "classification_prompt"))
        if record["classification_prompt"] and record.get(verdict_field) is not None
    ]
    return judge.store.put_many(responses)
