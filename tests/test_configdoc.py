"""The generated configuration reference (replisuite.configdoc)."""

import yaml

from replisuite.configdoc import build, key_comments, main, render, type_of
from tests.conftest import REPO

CONFIG = """\
# the seed
seed: 1
study:
  # how many
  # (two lines)
  n: 3          # wins over the lines above
  nested:
    depth: 2
  plain: x
  # An entry, e.g.
  #   example:
  #     key: not-a-key
  names: [a]
"""


def test_comments_beside_or_above_a_key_by_its_path():
    comments = key_comments(CONFIG)
    assert comments["seed"] == "the seed"
    assert comments["study.n"] == "wins over the lines above"
    assert "study.nested.depth" not in comments and "study.plain" not in comments
    assert comments["study.names"] == "An entry, e.g."          # the indented example is not prose
    assert "example" not in comments and "study.example" not in comments


def test_types_read_like_the_schema():
    assert type_of({"enum": ["json", "loglik"]}) == 'one of "json", "loglik"'
    assert type_of({"type": ["string", "null"]}) == "string or null"
    assert type_of({"type": "array", "items": {"type": "integer"}}) == "list of integer"
    assert type_of({"oneOf": [{"const": "all"}, {"type": "array", "items": {"type": "string"}}]}) == '"all" or list of string'
    assert type_of({"type": "object", "additionalProperties": {"type": "number"}}) == "mapping of name to number"


def test_schema_description_wins_and_a_missing_one_is_counted():
    schema = {"properties": {"seed": {"type": "integer", "description": "Master seed."},
                             "study": {"type": "object", "properties": {
                                 "n": {"type": "integer"}, "plain": {"type": "string"}}}}}
    text, missing = render(schema, yaml.safe_load(CONFIG), key_comments(CONFIG))
    assert "| `seed` | integer | `1` | Master seed. |" in text
    assert "| `study.n` | integer | `3` | wins over the lines above |" in text
    assert "| `study.plain` | string | `\"x\"` |  |" in text
    assert missing == 2      # study (no comment) and study.plain


def test_the_committed_reference_is_current():
    assert main(["--check", "--root", str(REPO)]) == 0, "run: python -m replisuite.configdoc"
    text, _ = build(REPO)
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    assert all(f"## `{section}`" in text for section in schema["properties"])
