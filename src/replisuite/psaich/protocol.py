"""Protocol texts, the prompts built from them, and strict answer parsers."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from replisuite.config import load_yaml
from replisuite.instruments import Instrument, Item, options_legend, parse_item_answer  # noqa: F401  (re-exported)

MODES = ("therapy_item", "stateless_item", "whole")


@dataclass(frozen=True)
class Protocol:
    """The psaich protocol's prompts: client system prompt, session opening, therapy prompts, item and whole-form prompts."""

    client_system: str
    session_opening: str
    therapy_prompts: tuple[str, ...]
    item_prompt: str
    whole_prompt: str


def load_protocol(path: str | os.PathLike[str]) -> Protocol:
    """The protocol of a YAML file; ``ValueError`` naming the file and the missing fields."""
    values = load_yaml(path)
    missing = [field for field in Protocol.__dataclass_fields__ if field not in values]
    if missing:
        raise ValueError(f"{path}: missing field(s) {missing}")
    return Protocol(**{**values, "therapy_prompts": tuple(values["therapy_prompts"])})


def item_prompt(protocol: Protocol, instrument: Instrument, item: Item) -> str:
    """The prompt for one instrument item."""
    return protocol.item_prompt.format(instructions=instrument.instructions, item=item.text,
                                       options=options_legend(instrument))


def whole_prompt(protocol: Protocol, instrument: Instrument) -> str:
    """The prompt for a whole instrument at once."""
    items = "\n".join(f"{index}. {item.text}" for index, item in enumerate(instrument.items, 1))
    return protocol.whole_prompt.format(instructions=instrument.instructions, items=items,
                                        options=options_legend(instrument))


_LINE = re.compile(r"^\s*(\d+)\s*[:.)\-]\s*\(?(\d+)\)?(?:\W|$)")


def parse_whole_answers(text: str | None, instrument: Instrument) -> dict[str, int | None]:
    """Answers of a whole-questionnaire reply, one "<item>: <value>" per line. An item given
    twice with different values, or with a value that is not an option, is unparseable.
    """
    found: dict[int, set[int]] = {}
    for line in (text or "").splitlines():
        match = _LINE.match(line)
        if match:
            found.setdefault(int(match.group(1)), set()).add(int(match.group(2)))
    answers: dict[str, int | None] = {}
    for index, item in enumerate(instrument.items, 1):
        values = found.get(index, set())
        answers[item.id] = next(iter(values)) if len(values) == 1 and next(iter(values)) in instrument.values else None
    return answers
