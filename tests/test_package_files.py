"""The files every published package carries: licence, citation, changelog, make help, the CLI."""

import json
import re
import subprocess
import sys
import tomllib

import jsonschema
import pytest
import yaml

from replisuite import __version__
from replisuite.__main__ import COMMANDS, main
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_licence_file_is_the_licence_pyproject_declares():
    declared = PYPROJECT["project"]["license"]["text"]
    assert declared == "MIT"
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Permission is hereby granted, free of charge" in text


def test_citation_file_is_valid_cff_and_names_this_version_and_licence():
    # the Citation File Format 1.2.0 schema, as shipped by cffconvert 2.0.0 (Apache-2.0)
    schema = json.loads((REPO / "tests/data/cff-1.2.0.schema.json").read_text())
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker()).validate(citation)
    assert citation["version"] == __version__ == PYPROJECT["project"]["version"]
    assert citation["license"] == PYPROJECT["project"]["license"]["text"]


def test_the_cff_schema_rejects_a_broken_citation():
    schema = json.loads((REPO / "tests/data/cff-1.2.0.schema.json").read_text())
    citation = yaml.safe_load((REPO / "CITATION.cff").read_text())
    del citation["authors"]
    with pytest.raises(jsonschema.ValidationError, match="authors"):
        jsonschema.Draft7Validator(schema).validate(citation)


def test_the_changelog_has_this_version():
    headings = re.findall(r"^## \[([^\]]+)\]", (REPO / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert headings[0] == "Unreleased" and __version__ in headings


def test_make_help_lists_every_phony_target():
    makefile = (REPO / "Makefile").read_text()
    phony = re.search(r"^\.PHONY: (.*)$", makefile, flags=re.MULTILINE).group(1).split()
    listed = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout
    names = {line.split()[0] for line in listed.splitlines() if line.strip()}
    assert names == set(phony)


def test_python_m_replisuite_lists_and_runs_the_commands(tmp_path, capsys):
    listed = subprocess.run([sys.executable, "-m", "replisuite", "--help"], capture_output=True, text=True, check=True)
    assert all(name in listed.stdout for name in COMMANDS)
    # a command runs with its own arguments and its exit status is the CLI's
    assert main(["store", "stats", str(tmp_path / "no-store")]) == 1
    assert "no response store there" in capsys.readouterr().err
