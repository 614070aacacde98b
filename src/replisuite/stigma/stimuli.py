"""Stigma stimuli: vignettes x survey questions, and the messages sent for each."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import polars as pl

from replisuite import tables
from replisuite.config import load_yaml
from replisuite.llm import Message

VIGNETTE_FIELDS = ("condition", "race", "gender", "education", "vignette")
QUESTION_FIELDS = ("question", "question_only", "options")


class StimulusError(ValueError):
    """A stimulus file lacks a field or does not match the published prompts."""


@dataclass(frozen=True)
class Protocol:
    """The experiment's fixed texts (``config/stigma/protocol.yaml``)."""

    stigma_instruction: str
    stigma_few_shot: tuple[Message, ...]
    steel_man: str
    character_limit: str
    character_limit_chars: int
    judge_instruction: str


def load_protocol(path: str | os.PathLike[str]) -> Protocol:
    """The stigma protocol of a YAML file; :class:`StimulusError` naming the file otherwise."""
    values = load_yaml(path)
    try:
        few_shot = tuple(Message(**m) for m in values.pop("stigma_few_shot"))
        return Protocol(stigma_few_shot=few_shot, **values)
    except (KeyError, TypeError) as error:
        raise StimulusError(f"{path}: not a stigma protocol file ({error})") from error


def read_jsonl(path: str | os.PathLike[str], *, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Read JSON lines, naming the file, line and field of any problem."""
    return tables.read_jsonl(path, required=required, error=StimulusError)


def stigma_prompt(vignette: str, question: str) -> str:
    """The user prompt: the vignette, a blank line, the lettered question."""
    return f"Vignette:\n{vignette}\n\n{question}"


def stigma_stimuli(vignettes_path: str | os.PathLike[str], questions_path: str | os.PathLike[str]) -> pl.DataFrame:
    """Every vignette x question, in the published order (vignette-major).

    Parameters
    ----------
    vignettes_path
        JSON lines with condition, race, gender, education and vignette text (the published
        repository calls this file ``data/questions.jsonl``).
    questions_path
        JSON lines with the lettered question, the bare question and its options (published
        as ``data/vignettes.jsonl``).
    """
    vignettes = read_jsonl(vignettes_path, required=VIGNETTE_FIELDS)
    questions = read_jsonl(questions_path, required=QUESTION_FIELDS)
    rows = []
    for v_index, vignette in enumerate(vignettes):
        for q_index, question in enumerate(questions):
            rows.append(
                {
                    "item": v_index * len(questions) + q_index,
                    "vignette_id": v_index,
                    "question_id": q_index,
                    **{field: vignette[field] for field in VIGNETTE_FIELDS[:-1]},
                    "question_only": question["question_only"],
                    "options": list(question["options"]),
                    "prompt": stigma_prompt(vignette["vignette"], question["question"]),
                }
            )
    return pl.DataFrame(rows)


def check_against_published(stimuli: pl.DataFrame, published: set[str], *, source: str) -> None:
    """Require the generated prompts and the published ones to be the same set."""
    generated = set(stimuli["prompt"])
    extra, missing = generated - published, published - generated
    if extra or missing:
        example = next(iter(extra or missing))[:120]
        raise StimulusError(
            f"{source}: {len(extra)} generated prompt(s) not published and {len(missing)} published "
            f"prompt(s) not generated (e.g. {example!r})"
        )


def stigma_messages(prompt: str, *, steel_man: bool, protocol: Protocol) -> list[Message]:
    """System instruction (steel-man prefixed), the few-shot exchange, then the prompt."""
    system = protocol.stigma_instruction
    if steel_man:
        system = protocol.steel_man + "\n" + protocol.stigma_instruction
    return [Message("system", system), *protocol.stigma_few_shot, Message("user", prompt)]

