"""Questionnaire recovery: a rater model answers an instrument for the client from the transcript alone.

Each item is one request: the transcript (client and counsellor turns), the instrument's
instructions, the item and the option legend. With ``loglik`` the rater's likelihood of each option
value decides (the embedded model); with ``parsed`` a reply is parsed strictly and an unparseable
one stays unanswered (the total is then missing, never imputed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.dialogue.transcripts import render
from replisuite.instruments import Instrument, options_legend, parse_item_answer, score
from replisuite.llm import LLM, Message, Request

RATER_SYSTEM = ("You are a clinician. You read a counselling transcript and rate the client on a "
                "questionnaire item from what the transcript shows. Answer with the option number only.")
ITEMS_SCHEMA = {"conversation": pl.String, "profile_id": pl.String, "instrument": pl.String, "item": pl.String,
                "value": pl.Int64, "reply": pl.String, "request_key": pl.String}


def item_messages(transcript: str, instrument: Instrument, item_text: str) -> list[Message]:
    """The messages asking a rater to answer one questionnaire item from a transcript."""
    prompt = (f"Transcript:\n{transcript}\n\n{instrument.instructions}\nItem: {item_text}\n"
              f"Options:\n{options_legend(instrument)}\nAnswer:")
    return [Message("system", RATER_SYSTEM), Message("user", prompt)]


def transcript_text(record: Mapping[str, Any], *, max_chars: int) -> str:
    """The transcript the rater reads: its last ``max_chars`` characters (where most is known)."""
    text = render(record["turns"])
    return text if len(text) <= max_chars else "[...]\n" + text[-max_chars:]


def rate_items(rater: LLM, records: Sequence[Mapping[str, Any]], instruments: Mapping[str, Instrument], *,
               method: str, max_chars: int, params: Mapping[str, Any]) -> pl.DataFrame:
    """Every item of every instrument for every conversation, one batch per instrument."""
    rows = []
    for key, instrument in instruments.items():
        requests: list[tuple[Mapping[str, Any], str, Request]] = []
        for record in records:
            text = transcript_text(record, max_chars=max_chars)
            for item in instrument.items:
                options = [str(v) for v in instrument.values] if method == "loglik" else ()
                requests.append((record, item.id, rater.request(item_messages(text, instrument, item.text),
                                                                 options=options, method=method if options else None,
                                                                 **params)))
        result = rater.run([r for _, _, r in requests], progress=False)
        for (record, item_id, request), response in zip(requests, result.responses, strict=True):
            reply = response.text if response is not None else ""
            value = int(reply) if method == "loglik" and reply else parse_item_answer(reply, instrument)
            rows.append((record["id"], record["profile_id"], key, item_id, value, reply, request.key))
    return pl.DataFrame(rows, schema=ITEMS_SCHEMA, orient="row")


RECOVERED_SCHEMA = {"conversation": pl.String, "protocol": pl.String, "profile_id": pl.String, "instrument": pl.String,
                    "rater": pl.String, "true_total": pl.Float64, "true_band": pl.String, "total": pl.Float64,
                    "band": pl.String, "unanswered": pl.Int64}


def recovered_totals(items: pl.DataFrame, records: Sequence[Mapping[str, Any]], profiles: Mapping[str, Any],
                     instruments: Mapping[str, Instrument], *, rater: str) -> pl.DataFrame:
    """Score each conversation's recovered answers and put the profile's planted totals beside them."""
    protocol_of = {r["id"]: r["protocol"] for r in records}
    rows = []
    for (conversation, profile_id, key), group in items.group_by("conversation", "profile_id", "instrument",
                                                                 maintain_order=True):
        instrument = instruments[key]
        answers = dict(zip(group["item"].to_list(), group["value"].to_list(), strict=True))
        recovered = score(instrument, answers)
        planted = score(instrument, profiles[profile_id].fields[key])
        rows.append((conversation, protocol_of[conversation], profile_id, key, rater, planted.total, planted.band,
                     recovered.total, recovered.band, sum(v is None for v in answers.values())))
    return pl.DataFrame(rows, schema=RECOVERED_SCHEMA, orient="row").sort("conversation", "instrument")
