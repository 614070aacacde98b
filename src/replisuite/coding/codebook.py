"""Codebooks as data: codes with definitions, inclusion/exclusion notes, examples, a dimension
hierarchy and (for EEMM) the adaptive/maladaptive flag; validated on load, naming file and field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from replisuite.instruments import read_spec

DATA = Path(__file__).parent / "data"
VALENCES = ("adaptive", "maladaptive")


class CodebookError(ValueError):
    """A codebook file is inconsistent."""


@dataclass(frozen=True)
class Code:
    """One code of a codebook: its id, name, definition, when to use it and not, and examples."""

    id: str
    name: str
    definition: str
    include: str
    exclude: str
    examples: tuple[str, ...]
    dimension: str | None
    valence: str | None


@dataclass(frozen=True)
class Codebook:
    """A coding scheme: its provenance and its codes (in file order)."""

    id: str
    name: str
    citation: str
    licence: str
    illustrative: bool
    note: str
    instructions: str
    dimensions: tuple[str, ...]
    codes: tuple[Code, ...]

    def code(self, code_id: str) -> Code:
        """The code with id ``code_id``; :class:`CodebookError` naming the known codes otherwise."""
        for code in self.codes:
            if code.id == code_id:
                return code
        raise CodebookError(f"{self.id}: unknown code {code_id!r}; codes: {[c.id for c in self.codes]}")

    @property
    def code_ids(self) -> tuple[str, ...]:
        """The ids of the codebook's codes, in codebook order."""
        return tuple(code.id for code in self.codes)

    def describe(self) -> str:
        """The codebook as a model reads it: each code with its definition and notes."""
        lines = []
        for code in self.codes:
            line = f"- {code.id}: {code.definition}"
            if code.include:
                line += f" Include: {code.include}"
            if code.exclude:
                line += f" Exclude: {code.exclude}"
            lines.append(line)
        return "\n".join(lines)


def load_codebook(path: str | os.PathLike[str]) -> Codebook:
    """Read and validate one codebook file."""
    values, name = read_spec(path, ("id", "name", "citation", "licence", "instructions", "codes"), error=CodebookError)
    dimensions = tuple(str(d) for d in values.get("dimensions") or ())
    if len(set(dimensions)) != len(dimensions):
        raise CodebookError(f"{path} ({name}): dimensions: a dimension is listed twice")
    if not isinstance(values["codes"], list) or not values["codes"]:
        raise CodebookError(f"{path} ({name}): codes: expected a non-empty list")
    codes = tuple(_code(path, name, index, entry, dimensions) for index, entry in enumerate(values["codes"]))
    ids = [code.id for code in codes]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise CodebookError(f"{path} ({name}): codes: duplicate code id(s) {duplicated}")
    unused = [d for d in dimensions if not any(code.dimension == d for code in codes)]
    if unused:
        raise CodebookError(f"{path} ({name}): dimensions: {unused} have no code")
    return Codebook(id=str(values["id"]), name=values["name"], citation=" ".join(str(values["citation"]).split()),
                    licence=" ".join(str(values["licence"]).split()), illustrative=bool(values.get("illustrative", False)),
                    note=" ".join(str(values.get("note") or "").split()),
                    instructions=" ".join(str(values["instructions"]).split()), dimensions=dimensions, codes=codes)


def _code(path, name: str, index: int, entry, dimensions: tuple[str, ...]) -> Code:
    where = f"{path} ({name}): codes[{index}]"
    if not isinstance(entry, dict):
        raise CodebookError(f"{where}: expected a mapping with id, name and definition")
    missing = [key for key in ("id", "name", "definition") if not entry.get(key)]
    if missing:
        raise CodebookError(f"{where} ({entry.get('id', '?')}): missing field(s) {missing}")
    where = f"{path} ({name}): code {entry['id']}"
    dimension = entry.get("dimension")
    if dimensions and dimension not in dimensions:
        raise CodebookError(f"{where}: dimension {dimension!r} is not one of the codebook's dimensions {list(dimensions)}")
    if not dimensions and dimension is not None:
        raise CodebookError(f"{where}: has a dimension but the codebook lists none")
    valence = entry.get("valence")
    if valence is not None and valence not in VALENCES:
        raise CodebookError(f"{where}: valence must be one of {VALENCES}, got {valence!r}")
    examples = entry.get("examples") or []
    if not isinstance(examples, list) or not all(isinstance(e, str) and e.strip() for e in examples):
        raise CodebookError(f"{where}: examples must be a list of non-empty strings")
    return Code(id=str(entry["id"]), name=str(entry["name"]), definition=" ".join(str(entry["definition"]).split()),
                include=" ".join(str(entry.get("include") or "").split()),
                exclude=" ".join(str(entry.get("exclude") or "").split()), examples=tuple(examples),
                dimension=dimension, valence=valence)


def shipped(codebook_id: str) -> Codebook:
    """A codebook that ships with the suite (``coding/data/<id>.yaml``)."""
    path = DATA / f"{codebook_id}.yaml"
    if not path.is_file():
        raise CodebookError(f"no shipped codebook {codebook_id!r}; shipped: {sorted(p.stem for p in DATA.glob('*.yaml'))}")
    return load_codebook(path)


def resolve(name: str) -> Codebook:
    """A codebook named in config: a path to a YAML file, or the id of a shipped codebook."""
    return load_codebook(name) if name.endswith((".yaml", ".yml")) else shipped(name)
