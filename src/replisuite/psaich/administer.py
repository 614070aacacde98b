"""Stage 1 (open therapy questions over sessions) and stage 2 (questionnaires in three modes)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.instruments import Instrument
from replisuite.llm import LLM, Message
from replisuite.psaich.protocol import Protocol, item_prompt, parse_item_answer, parse_whole_answers, whole_prompt

ANSWERS_SCHEMA = {
    "model": pl.String, "seed": pl.Int64, "instrument": pl.String, "mode": pl.String, "answer_method": pl.String,
    "item": pl.String, "value": pl.Int64, "reply": pl.String, "request_key": pl.String,
}


def stage1(llm: LLM, protocol: Protocol, *, sessions: int, params: Mapping[str, Any]) -> tuple[list[Message], list[dict]]:
    """Ask the open therapy questions session after session, carrying the whole conversation.

    Returns the conversation (for stage 2) and the transcript rows with each reply's request key.
    """
    history = [Message("system", protocol.client_system)]
    transcript = []
    for session in range(1, sessions + 1):
        for turn, question in enumerate(protocol.therapy_prompts):
            if turn == 0:
                question = f"{protocol.session_opening.format(session=session)} {question}"
            history.append(Message("user", question))
            response = llm.chat(history, **params)
            history.append(Message("assistant", response.text))
            transcript.append({"session": session, "turn": turn, "therapist": question, "client": response.text,
                               "request_key": response.key})
    return history, transcript


def _values(instrument: Instrument) -> list[str]:
    return [str(value) for value in instrument.values]


def therapy_items(llm: LLM, instrument: Instrument, protocol: Protocol, history: Sequence[Message], *,
                  method: str, params: Mapping[str, Any]) -> list[dict]:
    """Items one at a time inside the ongoing conversation; each answer stays in the history."""
    messages = list(history)
    rows = []
    for item in instrument.items:
        messages.append(Message("user", item_prompt(protocol, instrument, item)))
        if method == "loglik":
            choice = llm.choose(messages, _values(instrument), **params)
            reply, value, key = choice.option, int(choice.option), choice.response.key
        else:
            response = llm.chat(messages, **params)
            reply, value, key = response.text, parse_item_answer(response.text, instrument), response.key
        messages.append(Message("assistant", reply))
        rows.append({"item": item.id, "value": value, "reply": reply, "request_key": key})
    return rows


def stateless_items(llm: LLM, instrument: Instrument, protocol: Protocol, *, method: str,
                    params: Mapping[str, Any]) -> list[dict]:
    """Each item alone, after only the client system prompt (no conversation)."""
    requests = [
        llm.request([Message("system", protocol.client_system), Message("user", item_prompt(protocol, instrument, item))],
                    options=_values(instrument) if method == "loglik" else (), **params)
        for item in instrument.items
    ]
    responses = llm.run(requests, progress=False).responses
    rows = []
    for item, request, response in zip(instrument.items, requests, responses, strict=True):
        value = int(response.text) if method == "loglik" else parse_item_answer(response.text, instrument)
        rows.append({"item": item.id, "value": value, "reply": response.text, "request_key": request.key})
    return rows


def whole_questionnaire(llm: LLM, instrument: Instrument, protocol: Protocol, history: Sequence[Message], *,
                        method: str, params: Mapping[str, Any], tokens_per_item: int) -> list[dict]:
    """The whole questionnaire in one prompt, after the therapy conversation.

    ``generate``: the free-text answer sheet, parsed strictly. ``loglik``: the answer sheet is
    written by constrained decoding: after "1:", each option number is scored, the best one is
    written, then "2:" follows, and so on (each step is one request continuing the sheet).
    """
    messages = [*history, Message("user", whole_prompt(protocol, instrument))]
    if method == "loglik":
        sheet, rows = "", []
        # "1: " then a bare digit: digits are single tokens, so each step is one cached forward pass
        options = _values(instrument)
        for index, item in enumerate(instrument.items, 1):
            sheet += f"{index}: "
            choice = llm.choose(messages, options, prefill=sheet, **params)
            sheet += f"{choice.option}\n"
            rows.append({"item": item.id, "value": int(choice.option), "request_key": choice.response.key})
        return [{**row, "reply": sheet.rstrip()} for row in rows]
    response = llm.chat(messages, **{**params, "max_tokens": tokens_per_item * len(instrument.items)})
    answers = parse_whole_answers(response.text, instrument)
    return [{"item": item.id, "value": answers[item.id], "reply": response.text, "request_key": response.key}
            for item in instrument.items]


def administer(llm: LLM, instruments: Sequence[Instrument], protocol: Protocol, history: Sequence[Message], *,
               modes: Sequence[str], method: str, params: Mapping[str, Any], tokens_per_item: int, seed: int) -> pl.DataFrame:
    """Every instrument in every mode; one row per item with its value (None if unparseable)."""
    rows = []
    for instrument in instruments:
        for mode in modes:
            if mode == "therapy_item":
                answers = therapy_items(llm, instrument, protocol, history, method=method, params=params)
            elif mode == "stateless_item":
                answers = stateless_items(llm, instrument, protocol, method=method, params=params)
            elif mode == "whole":
                answers = whole_questionnaire(llm, instrument, protocol, history, method=method, params=params,
                                              tokens_per_item=tokens_per_item)
            else:
                raise ValueError(f"unknown administration mode {mode!r}")
            rows += [{"model": llm.entry.name, "seed": seed, "instrument": instrument.id, "mode": mode,
                      "answer_method": method, **answer} for answer in answers]
    return pl.DataFrame(rows, schema=ANSWERS_SCHEMA)
