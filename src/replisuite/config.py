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


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path) or "<top level>"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        return f"{where}: unknown key(s) {', '.join(map(repr, extra))} (allowed: {', '.join(allowed)})"
    if error.validator == "required":
        return f"{where}: {error.message}"
    if error.validator == "type":
        return f"{where}: expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    return f"{where}: {error.message}"
