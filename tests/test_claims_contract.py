"""The claims contract: every study that states claims (registers ``STUDY_CLAIMS`` in its rules)
ships a positive and a null fixture of the tables its ``claims_from_files`` reads. On the positive
one some claim must come out positive; on the null one none may. A claim that passes on its null
fixture reads back what was planted or passes on noise, and fails the suite.

A new study gets the contract for free: it fails here until its fixtures are in
``tests/contract_fixtures.py``.
"""

import json
import re
from importlib import import_module

import polars as pl
import pytest

from tests.conftest import REPO
from tests.contract_fixtures import FIXTURES

POSITIVE = ("reproduced", "planted recovered", "direction reproduced")
REGISTERED = re.compile(r'^STUDY_CLAIMS\["(\w+)"\]', re.MULTILINE)
STUDIES = sorted({study for rules in (REPO / "workflow/rules").glob("*.smk")
                  for study in REGISTERED.findall(rules.read_text())})


def test_the_contract_covers_every_study_that_states_claims():
    assert len(STUDIES) >= 13
    missing = sorted(set(STUDIES) - set(FIXTURES))
    assert not missing, f"studies without claims-contract fixtures in tests/contract_fixtures.py: {missing}"


def state_claims(study: str, kind: str, folder):
    tables, options = FIXTURES[study](kind)
    paths = {}
    for name, table in tables.items():
        if isinstance(table, pl.DataFrame):
            paths[name] = str(folder / f"{name}.csv")
            table.write_csv(paths[name])
        else:
            paths[name] = str(folder / f"{name}.json")
            (folder / f"{name}.json").write_text(json.dumps(table))
    return import_module(f"replisuite.{study}.claims").claims_from_files(paths, **options)


@pytest.mark.parametrize("study", STUDIES)
def test_some_claim_is_positive_on_the_positive_fixture(study, tmp_path):
    claims = state_claims(study, "positive", tmp_path)
    assert any(c.verdict in POSITIVE for c in claims), {c.claim_id: c.verdict for c in claims}


@pytest.mark.parametrize("study", STUDIES)
def test_no_claim_is_positive_on_the_null_fixture(study, tmp_path):
    claims = state_claims(study, "null", tmp_path)
    assert claims, f"{study} states no claim on its null fixture"
    passing = {c.claim_id: f"{c.verdict} ({c.rule})" for c in claims if c.verdict in POSITIVE}
    assert not passing, f"{study}: claims positive on the null fixture: {passing}"
