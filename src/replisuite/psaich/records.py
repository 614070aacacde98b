"""Published PsAIch-style transcripts, imported for the replay backend.

Format: a JSON list of records ``{"model", "instrument", "mode", "item", "answer", "messages"}``:
``item`` is the item id (absent for ``whole``), ``answer`` the model's reply text, and
``messages`` the conversation before the questionnaire prompt (required for ``therapy_item``
and ``whole``, whose prompts follow a conversation; ``stateless_item`` needs none). Each
record becomes the stored answer to exactly the request a live administration sends.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from replisuite.instruments import Instrument
from replisuite.llm import LLM, Message, Response
from replisuite.provenance import utc_now
from replisuite.psaich.protocol import MODES, Protocol, item_prompt, whole_prompt


class RecordError(ValueError):
    """A published record does not fit the protocol."""


def import_transcripts(path: str | os.PathLike[str], models: Mapping[str, LLM], instruments: Mapping[str, Instrument],
                       protocol: Protocol, *, params: Mapping[str, Any], tokens_per_item: int) -> int:
    """Store every record as the answer to its request; returns how many were new."""
    records = json.loads(open(path).read())
    responses = []
    for number, record in enumerate(records):
        where = f"{path}: record {number}"
        model, instrument, mode = record.get("model"), record.get("instrument"), record.get("mode")
        if model not in models:
            raise RecordError(f"{where}: model {model!r} is not a configured replay entry ({sorted(models)})")
        if instrument not in instruments:
            raise RecordError(f"{where}: unknown instrument {instrument!r}")
        if mode not in MODES:
            raise RecordError(f"{where}: mode must be one of {MODES}, got {mode!r}")
        questionnaire = instruments[instrument]
        before = [Message(m["role"], m["content"]) for m in record.get("messages") or []]
        if mode != "stateless_item" and not before:
            raise RecordError(f"{where}: mode {mode} needs the conversation before the prompt ('messages')")
        if mode == "whole":
            prompt = whole_prompt(protocol, questionnaire)
        else:
            item = next((i for i in questionnaire.items if i.id == str(record.get("item"))), None)
            if item is None:
                raise RecordError(f"{where}: {instrument} has no item {record.get('item')!r}")
            prompt = item_prompt(protocol, questionnaire, item)
        if mode == "stateless_item":
            before = [Message("system", protocol.client_system)]
        llm = models[model]
        request_params = dict(params)
        if mode == "whole":  # as administered: room for every item's answer
            request_params["max_tokens"] = tokens_per_item * len(questionnaire.items)
        request = llm.request([*before, Message("user", prompt)], **request_params)
        responses.append(Response(request, str(record.get("answer") or ""), None, llm.entry.model, None, {}, 0.0,
                                  utc_now(), "imported"))
    return next(iter(models.values())).store.put_many(responses) if responses else 0
