"""Stage 1 (open therapy questions over sessions) and stage 2 (questionnaires in three modes).

Every seed is one client conversation, and the conversations of a run advance together: turn
t of every seed is one batch of requests (the embedded model answers it in one batched pass,
an HTTP model concurrently). Seeds only change sampled stage-1 replies; each stage-2 answer is
asked within its seed's conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.instruments import Instrument
from replisuite.llm import LLM, Message, Request
from replisuite.psaich.protocol import Protocol, item_prompt, parse_item_answer, parse_whole_answers, whole_prompt

ANSWERS_SCHEMA = {
    "model": pl.String, "seed": pl.Int64, "instrument": pl.String, "mode": pl.String, "answer_method": pl.String,
    "item": pl.String, "value": pl.Int64, "reply": pl.String, "request_key": pl.String,
}

Conversations = dict[int, list[Message]]


def _ask(llm: LLM, requests: Mapping[int, Request]) -> dict[int, str]:
    """One batch: every conversation's next request; the reply text per seed."""
    responses = llm.run(list(requests.values()), progress=False).responses
    return {seed: response.text for seed, response in zip(requests, responses, strict=True)}


def stage1(llm: LLM, protocol: Protocol, *, sessions: int, params: Mapping[str, Any],
           seeds: Sequence[int]) -> tuple[Conversations, list[dict]]:
    """Ask the open therapy questions session after session, one conversation per seed.

    Each seed's replies are sampled with that seed. Returns every seed's conversation (for
    stage 2) and the transcript rows with each reply's request key.
    """
    conversations = {seed: [Message("system", protocol.client_system)] for seed in seeds}
    transcript = []
    for session in range(1, sessions + 1):
        for turn, question in enumerate(protocol.therapy_prompts):
            if turn == 0:
                question = f"{protocol.session_opening.format(session=session)} {question}"
            for messages in conversations.values():
                messages.append(Message("user", question))
            requests = {seed: llm.request(messages, **{**params, "seed": seed}) for seed, messages in conversations.items()}
            for seed, text in _ask(llm, requests).items():
                conversations[seed].append(Message("assistant", text))
                transcript.append({"seed": seed, "session": session, "turn": turn, "therapist": question,
                                   "client": text, "request_key": requests[seed].key})
    return conversations, transcript


def _values(instrument: Instrument) -> list[str]:
    return [str(value) for value in instrument.values]


def _item_request(llm: LLM, messages: Sequence[Message], instrument: Instrument, *, method: str,
                  params: Mapping[str, Any]) -> Request:
    return llm.request(messages, options=_values(instrument) if method == "loglik" else (), **params)


def _item_value(text: str, instrument: Instrument, method: str) -> int | None:
    return int(text) if method == "loglik" else parse_item_answer(text, instrument)


def therapy_items(llm: LLM, instrument: Instrument, protocol: Protocol, conversations: Mapping[int, Sequence[Message]],
                  *, method: str, params: Mapping[str, Any]) -> list[dict]:
    """Items one at a time inside each ongoing conversation; each answer stays in its history."""
    ongoing = {seed: list(messages) for seed, messages in conversations.items()}
    rows = []
    for item in instrument.items:
        prompt = item_prompt(protocol, instrument, item)
        requests = {}
        for seed, messages in ongoing.items():
            messages.append(Message("user", prompt))
            requests[seed] = _item_request(llm, messages, instrument, method=method, params=params)
        for seed, text in _ask(llm, requests).items():
            ongoing[seed].append(Message("assistant", text))
            rows.append({"seed": seed, "item": item.id, "value": _item_value(text, instrument, method), "reply": text,
                         "request_key": requests[seed].key})
    return rows


def stateless_items(llm: LLM, instrument: Instrument, protocol: Protocol, seeds: Sequence[int], *, method: str,
                    params: Mapping[str, Any]) -> list[dict]:
    """Each item alone, after only the client system prompt (no conversation, so one answer serves every seed)."""
    requests = {
        item.id: _item_request(llm, [Message("system", protocol.client_system),
                                     Message("user", item_prompt(protocol, instrument, item))],
                               instrument, method=method, params=params)
        for item in instrument.items
    }
    replies = _ask(llm, requests)
    return [{"seed": seed, "item": item, "value": _item_value(replies[item], instrument, method), "reply": replies[item],
             "request_key": request.key} for seed in seeds for item, request in requests.items()]


def whole_questionnaire(llm: LLM, instrument: Instrument, protocol: Protocol,
                        conversations: Mapping[int, Sequence[Message]], *, method: str, params: Mapping[str, Any],
                        tokens_per_item: int) -> list[dict]:
    """The whole questionnaire in one prompt, after each therapy conversation.

    ``generate``: the free-text answer sheet, parsed strictly. ``loglik``: the answer sheet is
    written by constrained decoding: after "1:", each option number is scored, the best one is
    written, then "2:" follows, and so on (each step is one request continuing the sheet).
    """
    prompts = {seed: [*messages, Message("user", whole_prompt(protocol, instrument))]
               for seed, messages in conversations.items()}
    if method == "loglik":
        sheets, rows = dict.fromkeys(prompts, ""), []
        # "1: " then a bare digit: digits are single tokens, so each step is one forward pass
        for index, item in enumerate(instrument.items, 1):
            requests = {}
            for seed, messages in prompts.items():
                sheets[seed] += f"{index}: "
                requests[seed] = llm.request(messages, options=_values(instrument), prefill=sheets[seed], **params)
            for seed, option in _ask(llm, requests).items():
                sheets[seed] += f"{option}\n"
                rows.append({"seed": seed, "item": item.id, "value": int(option), "request_key": requests[seed].key})
        return [{**row, "reply": sheets[row["seed"]].rstrip()} for row in rows]
    requests = {seed: llm.request(messages, **{**params, "max_tokens": tokens_per_item * len(instrument.items)})
                for seed, messages in prompts.items()}
    rows = []
    for seed, text in _ask(llm, requests).items():
        answers = parse_whole_answers(text, instrument)
        rows += [{"seed": seed, "item": item.id, "value": answers[item.id], "reply": text,
                  "request_key": requests[seed].key} for item in instrument.items]
    return rows


def administer(llm: LLM, instruments: Sequence[Instrument], protocol: Protocol,
               conversations: Mapping[int, Sequence[Message]], *, modes: Sequence[str], method: str,
               params: Mapping[str, Any], tokens_per_item: int) -> pl.DataFrame:
    """Every instrument in every mode for every seed's conversation; one row per seed and item
    with its value (None if unparseable).
    """
    rows = []
    for instrument in instruments:
        for mode in modes:
            if mode == "therapy_item":
                answers = therapy_items(llm, instrument, protocol, conversations, method=method, params=params)
            elif mode == "stateless_item":
                answers = stateless_items(llm, instrument, protocol, list(conversations), method=method, params=params)
            elif mode == "whole":
                answers = whole_questionnaire(llm, instrument, protocol, conversations, method=method, params=params,
                                              tokens_per_item=tokens_per_item)
            else:
                raise ValueError(f"unknown administration mode {mode!r}")
            rows += [{"model": llm.entry.name, "instrument": instrument.id, "mode": mode, "answer_method": method,
                      **answer} for answer in answers]
    return pl.DataFrame(rows, schema=ANSWERS_SCHEMA)
