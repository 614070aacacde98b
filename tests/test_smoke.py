"""The smoke run's config merge and output check (the run itself: tests/workflow/test_smoke.py)."""

import json

import pytest
import yaml

from replisuite.config import validate_config
from replisuite.smoke import merged, missing_outputs
from tests.conftest import REPO


def test_overrides_merge_into_nested_sections_and_lists_replace():
    base = {"trpm4": {"cv": {"repeats": 20, "seed": 1}, "patients": ["P1", "P2"]}, "seed": 3}
    result = merged(base, {"trpm4": {"cv": {"repeats": 4}, "patients": ["P1"]}})
    assert result == {"trpm4": {"cv": {"repeats": 4, "seed": 1}, "patients": ["P1"]}, "seed": 3}
    assert base["trpm4"]["cv"]["repeats"] == 20  # the base is not changed


def test_a_key_ending_in_bang_replaces_the_dict_instead_of_merging():
    base = {"stigma": {"published": {"a": 1, "b": 2, "c": 3}, "n_boot": 9}}
    result = merged(base, {"stigma": {"published!": {"a": 1}}})
    assert result == {"stigma": {"published": {"a": 1}, "n_boot": 9}}
    assert merged(base, {"stigma": {"published": {"a": 5}}})["stigma"]["published"] == {"a": 5, "b": 2, "c": 3}


@pytest.mark.parametrize("overrides", [".test/smoke.yaml", "config/larger.yaml", "config/trpm4_calibration.yaml"])
def test_every_override_key_exists_in_the_config_and_the_merge_validates(overrides, tmp_path):
    """A renamed config key must not leave the smoke (or larger) run silently at the default size."""
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    smoke = yaml.safe_load((REPO / overrides).read_text())

    def unknown(over, base, prefix=""):
        for key, value in over.items():
            key = key.removesuffix("!")
            if key not in base:
                yield prefix + key
            elif isinstance(value, dict) and isinstance(base[key], dict):
                yield from unknown(value, base[key], f"{prefix}{key}/")

    assert list(unknown(smoke, config)) == []
    validate_config(merged(config, smoke), REPO / "workflow/schemas/config.schema.yaml", origin=overrides)
    if overrides == ".test/smoke.yaml":
        assert set(smoke) - {"claims"} == set(config) - {"seed", "data", "claims", "llm", "roles"}  # every study is made small


def test_missing_outputs_names_absent_and_changed_files(tmp_path):
    (tmp_path / "results/mi").mkdir(parents=True)
    (tmp_path / "results/mi/a.csv").write_text("x\n1\n")
    (tmp_path / "results/mi/b.csv").write_text("x\n")
    outputs = [{"path": "results/mi/a.csv", "bytes": 4}, {"path": "results/mi/b.csv", "bytes": 9},
               {"path": "results/mi/c.csv", "bytes": 1}]
    (tmp_path / "results/mi/manifest.json").write_text(json.dumps({"study": "mi", "outputs": outputs}))
    assert missing_outputs(tmp_path) == {"mi": ["results/mi/b.csv", "results/mi/c.csv"]}
