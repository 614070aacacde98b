"""A model coder: a named model entry codes excerpts against a codebook by in-context learning.

Each excerpt is one request: the codebook, ``k`` worked examples drawn (seeded by the excerpt's
name) from a labelled pool of *other* cases, and the excerpt; the reply is strict JSON
``{"codes": [{"code": ..., "span": ...}]}``. A reply that is not JSON, names an unknown code or quotes
a span that is not in the excerpt gets one repair request with what was wrong; the repaired reply is
kept when it has fewer problems. Every call is a stored request, so a killed job resumes where it was.
The examples for smaller ``k`` are the first of those for larger ``k`` (one seeded order per excerpt).
For the embedded model (``local`` backend) the reply is prefilled with ``{"codes": [`` (a
constrained start, recorded in every request; OpenAI-compatible servers get no prefill), and a reply
cut at the stop string ``]}`` is closed before it is parsed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.coding.codebook import Codebook
from replisuite.coding.codings import locate
from replisuite.judge.judging import extract_json
from replisuite.llm import LLM, Message, Request
from replisuite.stats import name_seed

JSON_PREFILL = '{"codes": ['
STATUSES = ("ok", "no_codes", "unknown_code", "span_not_found", "unparseable")
CODER_SCHEMA = {"unit": pl.String, "coder": pl.String, "k": pl.Int64, "code": pl.String, "span": pl.String,
                "start": pl.Int64, "end": pl.Int64, "status": pl.String, "repaired": pl.Boolean, "request_key": pl.String}


def example_order(unit: str, *, pool: Sequence[str], case_of: Mapping[str, str], seed: int) -> list[str]:
    """The pool's units of other cases in an order drawn from the unit's name (its examples, first k)."""
    others = sorted(u for u in pool if case_of[u] != case_of[unit])
    rng = np.random.default_rng(name_seed(seed, unit))
    return [others[i] for i in rng.permutation(len(others))]


def coder_messages(codebook: Codebook, text: str, examples: Sequence[tuple[str, list[dict[str, str]]]], *,
                   what: str) -> list[Message]:
    """The messages asking a model to code one unit of text: the codebook, few-shot ``examples``, then the text."""
    messages = [Message("system", f"{codebook.instructions} Reply with one JSON object and nothing else.\n\n"
                                  f"Codes:\n{codebook.describe()}\n\n"
                                  'Reply as {"codes": [{"code": "<code id>", "span": "<the exact words>"}]}, '
                                  'or {"codes": []} when no code applies.')]
    for example_text, codes in examples:
        messages += [Message("user", f"The {what}:\n{example_text}"), Message("assistant", json.dumps({"codes": codes}))]
    messages.append(Message("user", f"The {what}:\n{text}"))
    return messages


def parse_codes(reply: str, text: str, codebook: Codebook) -> tuple[list[dict[str, Any]], str]:
    """Rows (code, span, offsets, status) from a reply, and the problem for a repair pass ("" if none)."""
    entries = code_list(reply)
    if entries is None:
        return [{"code": None, "span": None, "start": None, "end": None, "status": "unparseable"}], \
            'no JSON object {"codes": [...]} in the reply'
    rows, problems = [], []
    for entry in entries:
        code = str(entry.get("code")) if isinstance(entry, dict) else str(entry)
        span = str(entry.get("span") or "") if isinstance(entry, dict) else ""
        start, end = locate(text, span)
        if code not in codebook.code_ids:
            status = "unknown_code"
            problems.append(f"{code!r} is not a code")
        elif start < 0:
            status = "span_not_found"
            problems.append(f"the span {span[:60]!r} is not in the text")
        else:
            status = "ok"
        rows.append({"code": code, "span": span, "start": start if start >= 0 else None,
                     "end": end if start >= 0 else None, "status": status})
    if not rows:
        rows.append({"code": None, "span": None, "start": None, "end": None, "status": "no_codes"})
    return rows, "; ".join(dict.fromkeys(problems))


def code_list(reply: str) -> list[Any] | None:
    """The reply's list of codes: the first object with a list ``codes`` (closing a reply that stopped
    at "]}"), else the complete entries of a list cut short; None when there is neither.
    """
    for candidate in (reply, reply + "]}"):
        try:
            value = extract_json(candidate)
        except ValueError:
            continue
        if isinstance(value.get("codes"), list):
            return value["codes"]
    return complete_entries(reply) or None


def complete_entries(reply: str) -> list[dict[str, Any]]:
    """Every complete ``{"code": ..., "span": ...}`` object in a reply whose list was cut off (by the
    token limit), each (code, span) once.
    """
    decoder = json.JSONDecoder()
    entries, seen = [], set()
    for position in [m.start() for m in re.finditer(r"\{", reply)]:
        try:
            value, _ = decoder.raw_decode(reply[position:])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "code" in value and (str(value.get("code")), str(value.get("span"))) not in seen:
            seen.add((str(value.get("code")), str(value.get("span"))))
            entries.append(value)
    return entries


def repair_messages(messages: Sequence[Message], reply: str, problem: str, codebook: Codebook) -> list[Message]:
    """``messages`` extended by the unusable ``reply`` and one request to answer again, naming the ``problem``."""
    return [*messages, Message("assistant", reply),
            Message("user", f"Your reply could not be used: {problem}. Use only these codes: "
                            f"{', '.join(codebook.code_ids)}, and quote spans word for word from the text. Reply "
                            'again with only the JSON object {"codes": [...]}.')]


def code_units(llm: LLM, codebook: Codebook, units: pl.DataFrame, *, pool_units: pl.DataFrame, pool_codings: pl.DataFrame,
               k: int, seed: int, what: str = "excerpt", params: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """Code every unit of ``units`` (unit, case, text) with ``k`` examples.

    Examples are units of ``pool_units`` (unit, case, text) from other cases, shown with their codes
    in ``pool_codings`` (unit, code, span; a pool unit without codings is an example of no code).
    Rows follow :data:`CODER_SCHEMA`: one per code found, or one ``no_codes``/``unparseable`` row.
    """
    params = dict(params or {})
    prefill = JSON_PREFILL if llm.entry.backend == "local" else ""
    case_of = dict(zip(units["unit"], units["case"], strict=True)) | dict(zip(pool_units["unit"], pool_units["case"], strict=True))
    pool_texts = dict(zip(pool_units["unit"], pool_units["text"], strict=True))
    codes_of = {u: [{"code": c, "span": s} for c, s in zip(f["code"], f["span"], strict=True)]
                for (u,), f in pool_codings.group_by("unit", maintain_order=True)}
    jobs: dict[str, tuple[list[Message], Request, str]] = {}
    for unit, text in zip(units["unit"], units["text"], strict=True):
        chosen = example_order(unit, pool=list(pool_texts), case_of=case_of, seed=seed)[:k]
        messages = coder_messages(codebook, text, [(pool_texts[u], codes_of.get(u, [])) for u in chosen], what=what)
        jobs[unit] = (messages, llm.request(messages, prefill=prefill, **params), text)
    answers = _answers(llm, [request for _, request, _ in jobs.values()])
    results, repairs = {}, {}
    for unit, (messages, request, text) in jobs.items():
        reply = prefill + answers[request.key].text
        rows, problem = parse_codes(reply, text, codebook)
        results[unit] = (rows, request.key, False)
        if problem:
            repairs[unit] = llm.request(repair_messages(messages, reply, problem, codebook), prefill=prefill, **params)
    if repairs:
        second = _answers(llm, list(repairs.values()))
        for unit, request in repairs.items():
            rows, _ = parse_codes(prefill + second[request.key].text, jobs[unit][2], codebook)
            if _problems(rows) < _problems(results[unit][0]):
                results[unit] = (rows, request.key, True)
    return pl.DataFrame([
        {"unit": unit, "coder": llm.entry.name, "k": k, **row, "repaired": repaired, "request_key": key}
        for unit, (rows, key, repaired) in results.items() for row in rows
    ], schema=CODER_SCHEMA)


def _problems(rows: Sequence[Mapping[str, Any]]) -> int:
    return sum(row["status"] not in ("ok", "no_codes") for row in rows)


def _answers(llm: LLM, requests: Sequence[Request]) -> dict[str, Any]:
    responses = llm.run(list(requests)).responses
    return {request.key: response for request, response in zip(requests, responses, strict=True)}
