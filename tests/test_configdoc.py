"""The generated configuration reference (replisuite.configdoc) and the schema's descriptions."""

import yaml

from replisuite.configdoc import build, main, render, schema_keys, type_of, undescribed
from tests.conftest import REPO

SCHEMA = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())


def test_every_config_key_has_a_description():
    assert undescribed(SCHEMA) == [], "describe these keys in workflow/schemas/config.schema.yaml"


def test_a_key_without_a_description_is_found_wherever_it_is():
    schema = {"properties": {"study": {"description": "A study.", "type": "object", "properties": {
        "named": {"type": "object", "additionalProperties": {"type": "object", "properties": {
            "deep": {"type": "integer"}}}}}}}}
    assert undescribed(schema) == ["study.named", "study.named.*.deep"]
    listed = {"properties": {"pairs": {"description": "Pairs.", "type": "array", "items": {"type": "object", "properties": {
        "client": {"type": "string"}}}}}}
    assert undescribed(listed) == ["pairs[].client"]


def test_types_read_like_the_schema():
    assert type_of({"enum": ["json", "loglik"]}) == 'one of "json", "loglik"'
    assert type_of({"type": ["string", "null"]}) == "string or null"
    assert type_of({"type": "array", "items": {"type": "integer"}}) == "list of integer"
    assert type_of({"oneOf": [{"const": "all"}, {"type": "array", "items": {"type": "string"}}]}) == '"all" or list of string'
    assert type_of({"type": "object", "additionalProperties": {"type": "number"}}) == "mapping of name to number"


def test_rows_hold_type_default_and_description():
    schema = {"properties": {"seed": {"type": "integer", "description": "Master seed."},
                             "study": {"type": "object", "description": "A study.", "properties": {
                                 "n": {"type": "integer", "description": "How many | which."}}}}}
    text = render(schema, {"seed": 1, "study": {"n": 3}})
    assert "| `seed` | integer | `1` | Master seed. |" in text
    assert "| `study.n` | integer | `3` | How many \\| which. |" in text


def test_the_committed_reference_is_current_and_lists_every_key():
    assert main(["--check", "--root", str(REPO)]) == 0, "run: python -m replisuite.configdoc"
    text = build(REPO)
    assert all(f"| `{path}` |" in text for path, _ in schema_keys(SCHEMA))
