"""Rubrics as data: items with their scales and anchors, reverse keying, subscales, the total and
its rescaling, cut-offs with citation, licence and source.

One YAML file per rubric (``data/`` ships those written by us from published definitions:
CTRS, the SQPsych 18-item rubric, the PsyLLM/CPsyCoun dimensions, the PsychoCounsel principles and
the PsychEval subset: MITI 4 globals, WAI short form, SRS, CTRS-6). A rubric whose texts are
restricted loads from a file the user keeps locally. Files are validated on load, as instruments
are: an item without a scale, anchors that overlap or fall outside the scale, unknown subscale or
reverse-keyed items, and cut-off bands that overlap or leave gaps are refused by name.

Scoring: each item's score is reverse-keyed if so marked, then rescaled ``(s + offset) x factor``
(PsychEval puts 1-5 items on 0-10 with offset -1, factor 2.5, and 0-6 items with factor 10/6);
the total is the sum or the mean of the rescaled items, and None unless every item was scored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from replisuite.instruments import SCORING, Band, check_bands, read_spec

DATA = Path(__file__).parent / "data"


class RubricError(ValueError):
    """A rubric file is inconsistent, or scores do not fit it."""


@dataclass(frozen=True)
class Scale:
    """The integer scale of a rubric item, with optional anchor texts for some values."""

    min: int
    max: int
    anchors: tuple[tuple[int, str], ...] = ()

    @property
    def values(self) -> tuple[int, ...]:
        """Every value of the scale, from ``min`` to ``max``."""
        return tuple(range(self.min, self.max + 1))

    def describe(self) -> str:
        """The scale in words, for prompts."""
        anchors = "; ".join(f"{value} = {text}" for value, text in self.anchors)
        return f"an integer from {self.min} to {self.max}" + (f" ({anchors})" if anchors else "")


@dataclass(frozen=True)
class RubricItem:
    """An item; ``prompt`` is a published prompt of its own (a template with ``{{diag}}`` where the
    dialogue goes), sent as is instead of our rubric prompt.
    """

    id: str
    text: str
    scale: Scale
    reverse: bool = False
    prompt: str = ""


@dataclass(frozen=True)
class Rubric:
    """A rubric and how its scores combine."""

    id: str
    name: str
    citation: str
    licence: str
    source: str
    instructions: str
    items: tuple[RubricItem, ...]
    scoring: str = "sum"
    offset: float = 0.0
    factor: float = 1.0
    subscales: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bands: tuple[Band, ...] = ()
    bands_citation: str = ""
    language: str = "en"

    def item(self, item_id: str) -> RubricItem:
        """The item with id ``item_id``; :class:`RubricError` naming the known items otherwise."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise RubricError(f"{self.id}: no item {item_id!r}; items are {[i.id for i in self.items]}")

    def rescaled(self, item_id: str, score: int) -> float:
        """The item's score reverse-keyed (if so marked) and rescaled; out-of-scale scores are refused."""
        item = self.item(item_id)
        if isinstance(score, bool) or score not in item.scale.values:
            raise RubricError(f"{self.id}: item {item_id}: score {score!r} is not {item.scale.describe()}")
        keyed = item.scale.min + item.scale.max - score if item.reverse else score
        return (keyed + self.offset) * self.factor

    def total_range(self, item_ids: tuple[str, ...] | None = None) -> tuple[float, float]:
        """The lowest and highest possible total over ``item_ids`` (default: every item), after offset and factor."""
        items = [self.item(i) for i in item_ids] if item_ids is not None else list(self.items)
        lows = [(i.scale.min + self.offset) * self.factor for i in items]
        highs = [(i.scale.max + self.offset) * self.factor for i in items]
        if self.scoring == "mean":
            return sum(lows) / len(lows), sum(highs) / len(highs)
        return float(sum(lows)), float(sum(highs))

    def total(self, scores: Mapping[str, int | None], item_ids: tuple[str, ...] | None = None) -> float | None:
        """Sum or mean of the rescaled items (default: all); None unless every one was scored (nothing is imputed)."""
        ids = item_ids if item_ids is not None else tuple(i.id for i in self.items)
        if any(scores.get(i) is None for i in ids):
            return None
        values = [self.rescaled(i, scores[i]) for i in ids]
        return float(sum(values)) if self.scoring == "sum" else float(sum(values) / len(values))

    def subset(self, item_ids: Sequence[str]) -> Rubric:
        """The rubric restricted to ``item_ids`` (e.g. one item judged by its own prompt)."""
        return replace(self, items=tuple(self.item(i) for i in item_ids), subscales={}, bands=())

    def band(self, total: float | None) -> str | None:
        """The label of the band that holds ``total``, or ``None``."""
        return next((b.label for b in self.bands if total is not None and b.min <= total <= b.max), None)


def load_rubric(path: str | os.PathLike[str]) -> Rubric:
    """Read and validate one rubric file."""
    values, name = read_spec(path, ("id", "name", "citation", "licence", "instructions", "items", "scoring"), error=RubricError)
    default = _scale(name, "scale", values["scale"]) if values.get("scale") is not None else None
    items = tuple(_item(name, index, item, default) for index, item in enumerate(values["items"] or []))
    if not items:
        raise RubricError(f"{name}: items: a rubric needs at least one item")
    ids = [item.id for item in items]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise RubricError(f"{name}: items: duplicate item id(s) {duplicates}")
    subscales: dict[str, list[str]] = {}
    for raw in values["items"]:
        if raw.get("subscale"):
            subscales.setdefault(str(raw["subscale"]), []).append(str(raw["id"]))
    for subscale, members in (values.get("subscales") or {}).items():
        unknown = sorted(set(map(str, members)) - set(ids))
        if unknown:
            raise RubricError(f"{name}: subscales.{subscale}: item(s) {unknown} do not exist")
        subscales[str(subscale)] = [str(m) for m in members]
    if values["scoring"] not in SCORING:
        raise RubricError(f"{name}: scoring must be one of {SCORING}, got {values['scoring']!r}")
    rescale = values.get("rescale") or {}
    unknown_keys = sorted(set(rescale) - {"offset", "factor"})
    if unknown_keys:
        raise RubricError(f"{name}: rescale: unknown key(s) {unknown_keys}; expected offset and factor")
    bands_section = values.get("bands") or {}
    bands = tuple(Band(float(b["min"]), float(b["max"]), str(b["label"])) for b in bands_section.get("ranges", []))
    rubric = Rubric(
        id=str(values["id"]), name=values["name"], citation=" ".join(str(values["citation"]).split()),
        licence=" ".join(str(values["licence"]).split()), source=str(values.get("source", "")),
        instructions=" ".join(str(values["instructions"]).split()), items=items, scoring=values["scoring"],
        offset=float(rescale.get("offset", 0.0)), factor=float(rescale.get("factor", 1.0)),
        subscales={k: tuple(v) for k, v in subscales.items()}, bands=bands,
        bands_citation=str(bands_section.get("citation", "")), language=str(values.get("language", "en")),
    )
    low, high = rubric.total_range()
    integer_totals = rubric.scoring == "sum" and rubric.factor == 1.0 and rubric.offset == int(rubric.offset)
    check_bands(rubric.id, bands, low, high, step=1.0 if integer_totals else 0.0, error=RubricError)
    return rubric


def _scale(rubric: str, where: str, values: Any) -> Scale:
    if not isinstance(values, dict) or not all(isinstance(values.get(k), int) for k in ("min", "max")):
        raise RubricError(f"{rubric}: {where}: needs integer 'min' and 'max'")
    low, high = values["min"], values["max"]
    if low >= high:
        raise RubricError(f"{rubric}: {where}: min {low} is not below max {high}")
    anchors = []
    for anchor in values.get("anchors") or []:
        if not isinstance(anchor, dict) or not isinstance(anchor.get("value"), int) or not anchor.get("text"):
            raise RubricError(f"{rubric}: {where}: anchors need an integer 'value' and a 'text', got {anchor!r}")
        if not low <= anchor["value"] <= high:
            raise RubricError(f"{rubric}: {where}: anchor {anchor['value']} lies outside the scale {low}-{high}")
        if any(anchor["value"] == value for value, _ in anchors):
            raise RubricError(f"{rubric}: {where}: anchors overlap: two anchors for the value {anchor['value']}")
        anchors.append((anchor["value"], str(anchor["text"])))
    return Scale(low, high, tuple(sorted(anchors)))


def _item(rubric: str, index: int, values: Any, default: Scale | None) -> RubricItem:
    if not isinstance(values, dict) or "id" not in values or not values.get("text"):
        raise RubricError(f"{rubric}: items[{index}]: needs 'id' and 'text'")
    item_id = str(values["id"])
    if values.get("scale") is not None:
        scale = _scale(rubric, f"item {item_id}: scale", values["scale"])
    elif default is not None:
        scale = default
    else:
        raise RubricError(f"{rubric}: item {item_id}: has no scale (and the rubric sets no default 'scale')")
    return RubricItem(item_id, " ".join(str(values["text"]).split()), scale, bool(values.get("reverse", False)))


PSYCHEVAL = {
    "name": "PsychEval published judge prompts (Chinese)",
    "citation": "PsychEval: A Multi-Session and Multi-Therapy Benchmark (ECNU-ICALK, 2025), eval/prompts_cn",
    "licence": "CC BY-NC 4.0 (the prompt texts stay in data/raw; none ship with replisuite)",
    "source": "https://github.com/ECNU-ICALK/PsychEval at e04df535749e5bca76fcc45d9a85f3f46a082d91",
}
PROMPT_KEY = re.compile(r"JSON键名\s*\(Key\)\s*定义为[：:][ \t]*(\S[^\n]*?)[ \t]*$", re.MULTILINE)
PROMPT_ANCHOR = re.compile(r"^(\d+)分[：:]\s*(.+)$", re.MULTILINE)


def published_prompts(rubric_id: str, paths: Sequence[str | os.PathLike[str]], *, name: str, citation: str,
                      licence: str, source: str) -> Rubric:
    """A rubric whose items are published single-dimension judge prompts (PsychEval's
    ``eval/prompts_cn``): each file names its JSON key ("JSON键名 (Key) 定义为：focus") and its
    score points ("0分：..." to "6分：..."), and carries ``{{diag}}`` where the dialogue goes.
    Scores are put on 0-10 as PsychEval does: (s - min) x 10 / (max - min), i.e. (s-1) x 2.5 for
    1-5 items and s/6 x 10 for 0-6 items; the total is their mean. The prompt text is used
    verbatim (it stays in the user's data folder; none of it ships here).
    """
    items = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        key = PROMPT_KEY.search(text)
        anchors = [(int(v), " ".join(t.split())) for v, t in PROMPT_ANCHOR.findall(text)]
        if key is None or len(anchors) < 2 or "{{diag}}" not in text:
            raise RubricError(f"{path}: not a published judge prompt (needs its JSON key, at least two 'N分：' score "
                              "points and a {{diag}} placeholder)")
        values = [v for v, _ in anchors]
        items.append(RubricItem(key.group(1), f"{key.group(1)} (published prompt, {Path(path).name})",
                                Scale(min(values), max(values), tuple(sorted(anchors))), prompt=text))
    scales = {(i.scale.min, i.scale.max) for i in items}
    if len(scales) != 1:
        raise RubricError(f"{rubric_id}: the published prompts use different scales {sorted(scales)}; load them as separate rubrics")
    low, high = scales.pop()
    return Rubric(id=rubric_id, name=name, citation=citation, licence=licence, source=source,
                  instructions="(each item's published prompt)", items=tuple(items), scoring="mean",
                  offset=-float(low), factor=10.0 / (high - low), language="zh")


def shipped() -> dict[str, Rubric]:
    """The rubrics that ship with the suite, by id."""
    return {rubric.id: rubric for rubric in map(load_rubric, sorted(DATA.glob("*.yaml")))}


def resolve(names: list[str], files: Sequence[str] = (), published: Mapping[str, Rubric] | None = None) -> dict[str, Rubric]:
    """The named rubrics: shipped ones by id, rubrics from local files (restricted texts), and
    ``published`` prompt rubrics (see `published_prompts`).
    """
    available = {**shipped(), **(published or {})}
    for path in files:
        rubric = load_rubric(path)
        available[rubric.id] = rubric
    unknown = [name for name in names if name not in available]
    if unknown:
        raise RubricError(f"unknown rubric(s) {unknown}; available: {sorted(available)} (add local rubric files to load others)")
    return {name: available[name] for name in names}
