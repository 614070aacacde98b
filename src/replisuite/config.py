"""Workflow configuration: load and validate against the JSON schema before any job runs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not match its schema."""


def load_yaml(path: str | os.PathLike[str]) -> Any:
    """Read a YAML file, naming the file in any parse error."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from error


def validate_config(
    config: Mapping[str, Any], schema: str | os.PathLike[str] | Mapping[str, Any], *, origin: str = "config"
) -> None:
    """Check ``config`` against a JSON schema and raise one message listing every problem.

    Parameters
    ----------
    config
        The merged configuration (as Snakemake's ``config``).
    schema
        A schema mapping, or the path of a YAML/JSON schema file.
    origin
        Named at the start of the message (e.g. the config file path).

    Raises
    ------
    ConfigError
        With one line per violation, each naming the dotted key path and what was expected.
    """
    if not isinstance(schema, Mapping):
        schema = load_yaml(schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = "\n".join(f"  - {_describe(error)}" for error in errors)
        raise ConfigError(f"{origin}: invalid configuration:\n{lines}")


# Where each study names model entries (llm.models): a name, a list of names, a mapping keyed by
# names, or, after "*", every item of a list. tests/test_config.py checks every path exists in the schema.
MODEL_REFERENCES = {
    "roles": ("subjects", "judges", "clients"),
    "stigma": ("live", "judge", "published", "published_judge"),
    "psaich": ("models",),
    "judge": ("judges", "arena/models"),
    "networks": ("coders", "judge"),
    "care": ("coders",),
    "roleplay": ("pairs/*/counsellor", "pairs/*/client", "recovery/raters"),
    "reconstruct": ("counsellors", "judge/judges"),
    "preference": ("principles/judges", "reward/loglik_scorers", "dpo/base", "evaluation/judges"),
    "trauma": ("generate/counsellor", "generate/client", "extraction/rater", "benchmark/raters"),
    "synthesis": ("generators", "client", "judge", "judge_method"),
}


def _values(node: Any, parts: list[str]) -> list[Any]:
    if not parts:  # a name, a list of names, or a mapping keyed by names (stigma.published)
        return list(node) if isinstance(node, (list, Mapping)) else [node]
    head, rest = parts[0], parts[1:]
    if head == "*":
        return [v for item in (node or []) for v in _values(item, rest)]
    return _values(node.get(head), rest) if isinstance(node, Mapping) and head in node else []


def check_model_references(config: Mapping[str, Any], *, origin: str = "config") -> None:
    """Every model a study names must be an ``llm.models`` entry: one message naming each key and
    the names it lacks, with the entries that are defined (a bare KeyError names neither).
    """
    defined = set((config.get("llm") or {}).get("models") or {})
    problems = []
    for study, paths in MODEL_REFERENCES.items():
        for path in paths:
            names = [n for n in _values(config.get(study), path.split("/")) if n is not None]
            unknown = sorted({str(n) for n in names} - defined)
            if unknown:
                problems.append(f"{study}.{path.replace('/*/', '[].').replace('/', '.')} names model entries {unknown} that llm.models "
                                f"does not define")
    if problems:
        lines = "\n".join(f"  - {line}" for line in problems)
        raise ConfigError(f"{origin}: unknown model entries (defined: {sorted(defined)}):\n{lines}")


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {', '.join(map(repr, extra))} (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "type":
        message = f"{where}: expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
        if isinstance(error.instance, str) and _parses_as(error.instance, error.validator_value):
            message += (" (snakemake --config passes values inside a nested mapping as strings: override a nested "
                        "key with --configfile my.yaml instead, e.g. a file holding `support: {n_boot: 301}`)")
        return message
    return f"{where}: {error.message}"


def _parses_as(text: str, expected: str | list[str]) -> bool:
    """Whether a string reads as a value of the expected JSON type (so it came in as text)."""
    value = yaml.safe_load(text) if text.strip() else None
    kinds = {"integer": int, "number": (int, float), "boolean": bool, "array": list, "object": dict}
    wanted = [expected] if isinstance(expected, str) else list(expected)
    return any(isinstance(value, kinds[k]) and not (k != "boolean" and isinstance(value, bool))
               for k in wanted if k in kinds)
