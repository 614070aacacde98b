"""Self-report instruments as data: items, options, keys, subscales, scoring, cut-offs.

One YAML file per instrument (``data/`` ships those whose texts may be reproduced: PHQ-9,
GAD-7, Mini-IPIP). An instrument whose texts are restricted is used by pointing
:func:`load_instrument` at a file the user keeps locally; none of its text ships here. Files
are validated when loaded: a missing option value, a reverse-keyed or subscale item that does
not exist, or cut-off bands that overlap or leave gaps are refused, naming the instrument,
item and field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"
SCORING = ("sum", "mean")


class InstrumentError(ValueError):
    """An instrument file is inconsistent, or answers do not fit it."""


@dataclass(frozen=True)
class Option:
    """One answer option of an instrument: its label and the value it scores."""

    label: str
    value: int


@dataclass(frozen=True)
class Item:
    """One item of an instrument: its id and text."""

    id: str
    text: str


@dataclass(frozen=True)
class Band:
    """A severity band of an instrument's total: ``min`` to ``max`` inclusive, and its label."""

    min: float
    max: float
    label: str


@dataclass(frozen=True)
class Instrument:
    """A questionnaire and how it is scored."""

    id: str
    name: str
    citation: str
    licence: str
    source: str
    instructions: str
    options: tuple[Option, ...]
    items: tuple[Item, ...]
    reverse_keyed: frozenset[str]
    scoring: str
    subscales: Mapping[str, tuple[str, ...]]
    bands: tuple[Band, ...]
    bands_citation: str

    @property
    def values(self) -> tuple[int, ...]:
        """The values of the answer options, in order."""
        return tuple(option.value for option in self.options)

    def score_range(self, item_ids: tuple[str, ...] | None = None) -> tuple[float, float]:
        """Lowest and highest possible score over ``item_ids`` (default: all items)."""
        count = len(item_ids if item_ids is not None else self.items)
        low, high = min(self.values), max(self.values)
        if self.scoring == "mean":
            return float(low), float(high)
        return float(low * count), float(high * count)

    def value_of(self, item_id: str, label_or_value: str | int) -> int:
        """The keyed value of an answer (reverse-keyed items flipped)."""
        value = self._raw_value(item_id, label_or_value)
        if item_id in self.reverse_keyed:
            return min(self.values) + max(self.values) - value
        return value

    def _raw_value(self, item_id: str, answer: str | int) -> int:
        for option in self.options:
            if answer == option.label or (not isinstance(answer, bool) and answer == option.value):
                return option.value
        raise InstrumentError(f"{self.id}: item {item_id}: answer {answer!r} is not one of the options {self.option_labels()}")

    def option_labels(self) -> list[str]:
        """The labels of the answer options, in order."""
        return [option.label for option in self.options]


def read_spec(path: str | os.PathLike[str], required: tuple[str, ...], *,
              error: type[ValueError] = ValueError) -> tuple[dict[str, Any], str]:
    """A YAML definition file (instrument, rubric) and its id; names the file and any missing field."""
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text())
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML ({problem})") from None
    name = values.get("id", path.stem) if isinstance(values, dict) else path.stem
    missing = [key for key in required if not isinstance(values, dict) or key not in values]
    if missing:
        raise error(f"{path} ({name}): missing field(s) {missing}")
    return values, name


def load_instrument(path: str | os.PathLike[str]) -> Instrument:
    """Read and validate one instrument file."""
    values, name = read_spec(path, ("id", "name", "citation", "licence", "instructions", "options", "items", "scoring"),
                             error=InstrumentError)
    options = tuple(_option(name, index, option) for index, option in enumerate(values["options"]))
    if len({o.value for o in options}) != len(options):
        raise InstrumentError(f"{name}: options: two options share a value")
    items = tuple(_item(name, index, item) for index, item in enumerate(values["items"]))
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise InstrumentError(f"{name}: items: duplicate item id")
    reverse = frozenset(str(i) for i in values.get("reverse_keyed") or ())
    unknown = sorted(reverse - set(ids))
    if unknown:
        raise InstrumentError(f"{name}: reverse_keyed: item(s) {unknown} do not exist")
    subscales = {str(k): tuple(str(i) for i in v) for k, v in (values.get("subscales") or {}).items()}
    for subscale, members in subscales.items():
        unknown = sorted(set(members) - set(ids))
        if unknown:
            raise InstrumentError(f"{name}: subscales.{subscale}: item(s) {unknown} do not exist")
    if values["scoring"] not in SCORING:
        raise InstrumentError(f"{name}: scoring must be one of {SCORING}, got {values['scoring']!r}")
    bands_section = values.get("bands") or {}
    bands = tuple(Band(float(b["min"]), float(b["max"]), str(b["label"])) for b in bands_section.get("ranges", []))
    instrument = Instrument(
        id=str(values["id"]), name=values["name"], citation=" ".join(values["citation"].split()),
        licence=" ".join(values["licence"].split()), source=values.get("source", ""),
        instructions=" ".join(values["instructions"].split()), options=options, items=items, reverse_keyed=reverse,
        scoring=values["scoring"], subscales=subscales, bands=bands, bands_citation=bands_section.get("citation", ""),
    )
    _check_bands(instrument)
    return instrument


def _option(instrument: str, index: int, option: Any) -> Option:
    if not isinstance(option, dict) or "label" not in option:
        raise InstrumentError(f"{instrument}: options[{index}]: missing field 'label'")
    if not isinstance(option.get("value"), int) or isinstance(option.get("value"), bool):
        raise InstrumentError(f"{instrument}: options[{index}] ({option['label']!r}): missing or non-integer field 'value'")
    return Option(str(option["label"]), int(option["value"]))


def _item(instrument: str, index: int, item: Any) -> Item:
    if not isinstance(item, dict) or "id" not in item or not item.get("text"):
        raise InstrumentError(f"{instrument}: items[{index}]: needs 'id' and 'text'")
    return Item(str(item["id"]), str(item["text"]))


def _check_bands(instrument: Instrument) -> None:
    low, high = instrument.score_range()
    check_bands(instrument.id, instrument.bands, low, high, step=1.0 if instrument.scoring == "sum" else 0.0,
                error=InstrumentError)


def check_bands(owner: str, bands: tuple[Band, ...], low: float, high: float, *, step: float,
                error: type[ValueError] = ValueError) -> None:
    """Bands must tile the possible totals ``low..high``: start at the minimum, end at the maximum,
    each starting ``step`` after the previous one ends (1 for integer sums, 0 for means) with no overlap.
    """
    if not bands:
        return
    bands = tuple(sorted(bands, key=lambda b: b.min))
    if bands[0].min != low or bands[-1].max != high:
        raise error(f"{owner}: bands: must cover {low:g}-{high:g}, they cover {bands[0].min:g}-{bands[-1].max:g}")
    for before, after in zip(bands, bands[1:], strict=False):
        if after.min <= before.max and not (step == 0.0 and after.min == before.max):
            raise error(f"{owner}: bands: {before.label!r} ({before.min:g}-{before.max:g}) overlaps {after.label!r}")
        if after.min > before.max + step:
            raise error(f"{owner}: bands: gap between {before.label!r} (ends {before.max:g}) and {after.label!r} "
                        f"(starts {after.min:g})")
    for band in bands:
        if band.min > band.max:
            raise error(f"{owner}: bands: {band.label!r} has min above max")


def shipped() -> dict[str, Instrument]:
    """The instruments whose texts ship with the suite, by id."""
    return {instrument.id: instrument for instrument in map(load_instrument, sorted(DATA.glob("*.yaml")))}


@dataclass(frozen=True)
class Score:
    """A scored questionnaire. Totals are None unless every item (of the scale) was answered."""

    total: float | None
    band: str | None
    subscales: Mapping[str, float | None]
    answered: int
    items: int


def score(instrument: Instrument, answers: Mapping[str, str | int | None]) -> Score:
    """Score answers (item id -> option label or value; None = unanswered). Nothing is imputed."""
    unknown = sorted(set(answers) - {item.id for item in instrument.items})
    if unknown:
        raise InstrumentError(f"{instrument.id}: answers name item(s) {unknown} that do not exist")
    keyed = {item_id: instrument.value_of(item_id, answer) for item_id, answer in answers.items() if answer is not None}
    total = _aggregate(instrument, [item.id for item in instrument.items], keyed)
    subscales = {name: _aggregate(instrument, list(members), keyed) for name, members in instrument.subscales.items()}
    band = next((b.label for b in instrument.bands if total is not None and b.min <= total <= b.max), None)
    return Score(total=total, band=band, subscales=subscales, answered=len(keyed), items=len(instrument.items))


def _aggregate(instrument: Instrument, item_ids: list[str], keyed: Mapping[str, int]) -> float | None:
    if any(i not in keyed for i in item_ids):
        return None
    values = [keyed[i] for i in item_ids]
    return float(sum(values)) if instrument.scoring == "sum" else float(sum(values) / len(values))


def options_legend(instrument: Instrument) -> str:
    """The answer options as ``value = label`` lines, for prompts."""
    return "\n".join(f"{option.value} = {option.label}" for option in instrument.options)


def parse_item_answer(text: str | None, instrument: Instrument) -> int | None:
    """The option value a reply gives: a leading option number ("2", "2 - Several days") or
    exactly an option's label. Anything else is unparseable (None), never guessed.
    """
    if not text:
        return None
    reply = text.strip()
    match = re.match(r"^\(?(\d+)\)?(?:\W|$)", reply)
    if match and int(match.group(1)) in instrument.values:
        return int(match.group(1))
    for option in instrument.options:
        if reply.rstrip(".").strip().lower() == option.label.lower():
            return option.value
    return None
