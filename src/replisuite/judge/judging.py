"""A rubric applied by a model: strict-JSON judgements with one repair pass, or per-item constrained
choice for likelihood backends. Every judgement is a stored request (resumable, replayable).

Rows (`JUDGEMENT_SCHEMA`): one per unit x item x repeat, with the score (null when the reply
could not be used), a short rationale, a ``status`` (``ok``, ``missing``, ``out_of_range``,
``unparseable``) and the key of the request that produced it. Nothing is imputed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.judge.rubrics import Rubric, RubricItem
from replisuite.llm import LLM, Message, Request, Response
from replisuite.stats import name_seed

METHODS = ("json", "loglik")
STATUSES = ("ok", "missing", "out_of_range", "unparseable")
JUDGEMENT_SCHEMA = {"unit": pl.String, "rubric": pl.String, "item": pl.String, "repeat": pl.Int64, "score": pl.Int64,
                    "rationale": pl.String, "status": pl.String, "method": pl.String, "repaired": pl.Boolean,
                    "request_key": pl.String}
FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def json_messages(rubric: Rubric, context: str, *, what: str = "counselling session") -> list[Message]:
    """Ask for one JSON object: each item id -> {"score": integer on its scale, "rationale": short text}."""
    lines = [f'- "{item.id}": {item.text} Score: {item.scale.describe()}.' for item in rubric.items]
    example = ", ".join(f'"{item.id}": {{"score": {item.scale.min}, "rationale": "..."}}' for item in rubric.items[:2])
    return [
        Message("system", f"{rubric.instructions} Reply with one JSON object and nothing else."),
        Message("user", f"The {what}:\n\n{context}\n\nRate it on these items:\n" + "\n".join(lines)
                + f"\n\nReply with a JSON object with one key per item, e.g. {{{example}, ...}}."),
    ]


def item_messages(rubric: Rubric, item: RubricItem, context: str, *, what: str = "counselling session") -> list[Message]:
    """One item as a constrained choice: the reply is one of the scale's values (the context comes
    first, so every item of one unit shares a long prompt prefix).
    """
    return [
        Message("system", rubric.instructions),
        Message("user", f"The {what}:\n\n{context}\n\nItem: {item.text}\nAnswer with {item.scale.describe()}, "
                        "and nothing else."),
    ]


def repair_messages(messages: Sequence[Message], reply: str, problem: str) -> list[Message]:
    """The one repair pass: the original conversation, the reply, and what was wrong with it."""
    return [*messages, Message("assistant", reply),
            Message("user", f"Your reply could not be used: {problem}. Reply again with only the JSON object, "
                            "one key per item, each with an integer score on its scale.")]


def extract_json(text: str) -> Any:
    """The first JSON object in ``text`` (inside a code fence or among other words); raises ValueError."""
    candidates = [m.group(1) for m in FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for start in (m.start() for m in re.finditer(r"\{", candidate)):
            try:
                value, _ = decoder.raw_decode(candidate[start:])
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    raise ValueError("no JSON object in the reply")


def parse_judgement(text: str, rubric: Rubric) -> tuple[dict[str, dict[str, Any]], str]:
    """Per item ``{"score", "rationale", "status"}`` from a reply, and the problem to send back in a
    repair pass ("" when every item is usable). Accepts ``{"item": 3}``, ``{"item": {"score": 3}}``
    and either wrapped in ``{"scores": ...}``; a score outside its scale or missing is never imputed.
    """
    try:
        value = extract_json(text)
    except ValueError as error:
        return {item.id: {"score": None, "rationale": "", "status": "unparseable"} for item in rubric.items}, str(error)
    if isinstance(value.get("scores"), dict):
        value = value["scores"]
    elif isinstance(value.get("items"), list):  # PsychEval's shape: {"items": [{"item": key, "score": n}]}
        value = {str(entry.get("item")): entry for entry in value["items"] if isinstance(entry, dict)}
    parsed, problems = {}, []
    for item in rubric.items:
        entry = value.get(item.id)
        raw, rationale = (entry.get("score"), str(entry.get("rationale") or "")) if isinstance(entry, dict) else (entry, "")
        score = _integer(raw)
        if raw is None:
            status = "missing"
            problems.append(f"no score for {item.id!r}")
        elif score is None or score not in item.scale.values:
            status, score = "out_of_range", None
            problems.append(f"{item.id!r} scored {raw!r}, not {item.scale.describe()}")
        else:
            status = "ok"
        parsed[item.id] = {"score": score, "rationale": rationale[:500], "status": status}
    return parsed, "; ".join(problems)


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


def judge(llm: LLM, rubric: Rubric, contexts: Mapping[str, str], *, method: str, repeats: int = 1, seed: int = 0,
          what: str = "counselling session") -> pl.DataFrame:
    """Every unit of ``contexts`` (unit id -> rendered text) judged on ``rubric`` (see the module docstring).

    ``json``: one request per unit and repeat (repeats beyond the first sample with a seed derived
    from the unit and repeat), one repair request for replies with unusable items. ``loglik``: one
    constrained choice per unit and item; repeat 0 takes the most likely value, further repeats
    draw from the model's own distribution over the scale (softmax of the option log-likelihoods)
    with a seed derived from ``seed``, unit, item and repeat, so no new request is needed.
    """
    if method not in METHODS:
        raise ValueError(f"judge method must be one of {METHODS}, got {method!r}")
    if method == "loglik":
        return _judge_loglik(llm, rubric, contexts, repeats=repeats, seed=seed, what=what)
    return _judge_json(llm, rubric, contexts, repeats=repeats, seed=seed, what=what)


def _prompts(rubric: Rubric, context: str, what: str) -> list[tuple[Rubric, list[Message]]]:
    """Our prompt for all items at once; or, for items with a published prompt, that prompt per item."""
    if all(item.prompt for item in rubric.items):
        return [(rubric.subset([item.id]), [Message("user", item.prompt.replace("{{diag}}", context))]) for item in rubric.items]
    return [(rubric, json_messages(rubric, context, what=what))]


def _judge_json(llm: LLM, rubric: Rubric, contexts: Mapping[str, str], *, repeats: int, seed: int, what: str) -> pl.DataFrame:
    jobs = {}
    for unit, context in contexts.items():
        for part, messages in _prompts(rubric, context, what):
            for repeat in range(repeats):
                sampled = {} if repeat == 0 else {"temperature": max(llm.entry.params.temperature, 0.7),
                                                  "seed": name_seed(seed, unit, str(repeat))}
                jobs[(unit, repeat, part.items[0].id)] = (part, messages, llm.request(messages, **sampled))
    first = _answers(llm, [request for _, _, request in jobs.values()])
    rows, repairs = {}, {}
    for key, (part, messages, request) in jobs.items():
        parsed, problem = parse_judgement(first[request.key].text, part)
        rows[key] = (parsed, request.key, False)
        if problem:
            repairs[key] = llm.request(repair_messages(messages, first[request.key].text, problem),
                                       **_same_params(request))
    if repairs:
        second = _answers(llm, list(repairs.values()))
        for key, request in repairs.items():
            parsed, _ = parse_judgement(second[request.key].text, jobs[key][0])
            earlier = rows[key][0]
            # the repair may fix some items; an item already usable keeps its first score
            merged = {item: earlier[item] if earlier[item]["status"] == "ok" else parsed[item] for item in earlier}
            rows[key] = (merged, request.key, True)
    return pl.DataFrame([
        {"unit": unit, "rubric": rubric.id, "item": item, "repeat": repeat, **values, "method": "json",
         "repaired": repaired, "request_key": key}
        for (unit, repeat, _), (parsed, key, repaired) in rows.items() for item, values in parsed.items()
    ], schema=JUDGEMENT_SCHEMA)


def _same_params(request: Request) -> dict[str, Any]:
    params = request.params
    return {"temperature": params.temperature, "seed": params.seed, "max_tokens": params.max_tokens}


def _answers(llm: LLM, requests: Sequence[Request]) -> dict[str, Response]:
    result = llm.run(list(requests))
    return {request.key: response for request, response in zip(requests, result.responses, strict=True)}


def _judge_loglik(llm: LLM, rubric: Rubric, contexts: Mapping[str, str], *, repeats: int, seed: int,
                  what: str) -> pl.DataFrame:
    requests = {(unit, item.id): _choice_request(llm, rubric, item, context, what)
                for unit, context in contexts.items() for item in rubric.items}
    answers = _answers(llm, list(requests.values()))
    rows = []
    for (unit, item_id), request in requests.items():
        parsed = answers[request.key].parsed or {}
        values = rubric.item(item_id).scale.values
        logliks = np.asarray(parsed.get("scores") or [], dtype=np.float64)
        for repeat in range(repeats):
            if logliks.size != len(values):
                score, status = None, "unparseable"
            elif repeat == 0:
                score, status = values[int(parsed["index"])], "ok"
            else:
                probability = np.exp(logliks - logliks.max())
                rng = np.random.default_rng(name_seed(seed, unit, item_id, str(repeat)))
                score, status = values[int(rng.choice(len(values), p=probability / probability.sum()))], "ok"
            rows.append({"unit": unit, "rubric": rubric.id, "item": item_id, "repeat": repeat, "score": score,
                         "rationale": "", "status": status, "method": "loglik", "repaired": False,
                         "request_key": request.key})
    return pl.DataFrame(rows, schema=JUDGEMENT_SCHEMA)


def _choice_request(llm: LLM, rubric: Rubric, item: RubricItem, context: str, what: str) -> Request:
    """An item's constrained choice; a published prompt keeps its own wording and JSON answer,
    whose score is the choice (the reply is prefilled up to it).
    """
    options = [str(v) for v in item.scale.values]
    if item.prompt:
        return llm.request([Message("user", item.prompt.replace("{{diag}}", context))], options=options, method="loglik",
                           prefill='{"items": [{"item": "' + item.id + '", "score": ')
    return llm.request(item_messages(rubric, item, context, what=what), options=options, method="loglik")


def totals(judgements: pl.DataFrame, rubrics: Mapping[str, Rubric]) -> pl.DataFrame:
    """Per unit, rubric and repeat (and any other key columns, e.g. ``judge``): the rubric total
    (null unless every item was scored), its band, and how many items were usable.
    """
    keys = [c for c in judgements.columns if c not in JUDGEMENT_SCHEMA or c in ("unit", "rubric", "repeat")]
    rows = []
    for key, frame in judgements.group_by(keys, maintain_order=True):
        named = dict(zip(keys, key, strict=True))
        rubric = rubrics[named["rubric"]]
        scores = dict(zip(frame["item"], frame["score"], strict=True))
        total = rubric.total(scores)
        rows.append({**named, "total": total, "band": rubric.band(total), "items_scored": sum(v is not None for v in scores.values()),
                     "items": len(rubric.items)})
    schema = {k: judgements.schema[k] for k in keys} | {"total": pl.Float64, "band": pl.String, "items_scored": pl.Int64,
                                                         "items": pl.Int64}
    return pl.DataFrame(rows, schema=schema)
