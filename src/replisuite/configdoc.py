"""The configuration reference, generated: every key of the schema with its type, default and description.

``python -m replisuite.configdoc`` writes ``docs/configuration.md`` from
``workflow/schemas/config.schema.yaml`` (types, allowed values, descriptions) and
``config/config.yaml`` (defaults, and the comment written beside or above a key where the schema
has no description yet); ``--check`` exits 1 when the file is stale (the tests run it).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

SCHEMA = "workflow/schemas/config.schema.yaml"
CONFIG = "config/config.yaml"
OUTPUT = "docs/configuration.md"
KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w -]*?|\"[^\"]+\"|'[^']+'):(?P<rest>.*)$")


def key_comments(text: str) -> dict[str, str]:
    """Comments of a YAML file by dotted key path: the ``# ...`` after a key on its line, else the
    full-line comments right above it (block-style keys only; flow mappings carry none)."""
    comments: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    above: list[str] = []
    example_started = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            body = stripped[1:]
            if body.startswith("   ") or example_started:   # an indented example in the comment: not prose
                example_started = True
            else:
                above.append(body.strip())
            continue
        example_started = False
        match = KEY_LINE.match(line)
        if not stripped or stripped.startswith("-") or not match:
            above, example_started = [], False
            continue
        indent, key = len(match["indent"]), match["key"].strip("\"'")
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        path = ".".join(k for _, k in stack)
        inline = _inline_comment(match["rest"])
        text_for_key = inline or " ".join(a for a in above if a)
        if text_for_key:
            comments[path] = text_for_key
        above = []
    return comments


def _inline_comment(rest: str) -> str:
    """The comment after a value (a ``#`` outside quotes, preceded by a space)."""
    quote = None
    for index, char in enumerate(rest):
        if char in "\"'" and quote is None:
            quote = char
        elif char == quote:
            quote = None
        elif char == "#" and quote is None and (index == 0 or rest[index - 1] == " "):
            return rest[index + 1:].strip()
    return ""


def schema_keys(schema: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(dotted path, sub-schema) of every named key, depth first; ``*`` stands for a free name."""
    for key, sub in (schema.get("properties") or {}).items():
        path = f"{prefix}{key}"
        yield path, sub
        yield from schema_keys(sub, f"{path}.")
        if isinstance(sub.get("additionalProperties"), Mapping):
            yield from schema_keys(sub["additionalProperties"], f"{path}.*.")


def type_of(sub: Mapping[str, Any]) -> str:
    """A short type: ``integer``, ``string or null``, ``one of a, b``, ``list of string``."""
    if "enum" in sub:
        return "one of " + ", ".join(json.dumps(v) for v in sub["enum"])
    if "const" in sub:
        return json.dumps(sub["const"])
    for combiner in ("oneOf", "anyOf"):
        if combiner in sub:
            return " or ".join(type_of(option) for option in sub[combiner])
    kind = sub.get("type", "any")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array" and isinstance(sub.get("items"), Mapping):
        return f"list of {type_of(sub['items'])}"
    if kind == "object" and isinstance(sub.get("additionalProperties"), Mapping) and not sub.get("properties"):
        return f"mapping of name to {type_of(sub['additionalProperties'])}"
    return kind


def default_of(config: Any, path: str) -> Any:
    """The value at a dotted path of the default config (``*``: no single default)."""
    node = config
    for key in path.split("."):
        if key == "*" or not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def _cell(value: Any, limit: int = 80) -> str:
    if value is None or isinstance(value, Mapping) and len(json.dumps(value)) > limit:
        return ""
    text = json.dumps(value, ensure_ascii=False)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"`{text}`".replace("|", "\\|")


def _plain(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(schema: Mapping[str, Any], config: Mapping[str, Any], comments: Mapping[str, str]) -> tuple[str, int]:
    """The reference as Markdown, and how many keys have neither a schema description nor a comment."""
    lines = ["# Configuration reference", "",
             f"Generated by `python -m replisuite.configdoc` from `{SCHEMA}` and `{CONFIG}` (do not edit by",
             "hand; the tests fail when it is stale). A description comes from the schema, else from the",
             "comment beside or above the key in the default config. `*` stands for a name you choose",
             "(a model entry, a protocol, a published model).", ""]
    missing = 0
    section = None
    for path, sub in schema_keys(schema):
        top = path.split(".")[0]
        if top != section:
            section = top
            about = _plain(sub.get("description") or comments.get(top, ""))
            lines += ["", f"## `{top}`", "", *( [about, ""] if about else []),
                      "| key | type | default | description |", "|---|---|---|---|"]
            if "." not in path:
                lines.append(f"| `{path}` | {_plain(type_of(sub))} | {_cell(default_of(config, path))} | {about} |")
                missing += not about
                continue
        description = _plain(sub.get("description") or comments.get(path.replace(".*.", "."), "")
                             or comments.get(path, ""))
        missing += not description
        lines.append(f"| `{path}` | {_plain(type_of(sub))} | {_cell(default_of(config, path))} | {description} |")
    return "\n".join(lines).replace("\n\n\n", "\n\n") + "\n", missing


def build(root: Path) -> tuple[str, int]:
    schema = yaml.safe_load((root / SCHEMA).read_text())
    config_text = (root / CONFIG).read_text()
    return render(schema, yaml.safe_load(config_text), key_comments(config_text))


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or ``--check``) the configuration reference."""
    parser = argparse.ArgumentParser(prog="python -m replisuite.configdoc", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help=f"exit 1 when {OUTPUT} is not what would be written")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository's top folder (default: here)")
    args = parser.parse_args(argv)
    text, missing = build(args.root)
    target = args.root / OUTPUT
    if args.check:
        current = target.read_text() if target.is_file() else ""
        if current != text:
            print(f"{OUTPUT} is stale: run python -m replisuite.configdoc", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    total = sum(1 for _ in schema_keys(yaml.safe_load((args.root / SCHEMA).read_text())))
    print(f"wrote {OUTPUT}: {total} keys, {total - missing} described, {missing} without a description")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
