"""Suite-wide model roles (replisuite.roles): which study keys they fill, and that a study's own
key still wins."""

import pytest
import yaml

from replisuite.config import MODEL_REFERENCES, ConfigError, check_model_references, load_yaml, validate_config
from replisuite.roles import PAIRS, ROLE_KEYS, apply_roles
from tests.conftest import REPO

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def lookup(config, study, path):
    node = config[study]
    for part in path.split("/"):
        node = node[part]
    return node


def shipped():
    return yaml.safe_load((REPO / "config/config.yaml").read_text())


def with_models(config, *names, backend="openai"):
    for name in names:
        config["llm"]["models"][name] = {"backend": backend, "model": name, "base_url": "http://127.0.0.1:1/v1"}
    return config


def test_every_role_key_is_a_checked_model_reference_and_unset_in_the_shipped_config():
    """The roles fill only keys whose names check_model_references checks, and the shipped config
    leaves them all to the roles (a key written out there would pin that study to one model)."""
    config = shipped()
    study, leaf = PAIRS
    assert {f"{leaf}/*/counsellor", f"{leaf}/*/client"} <= set(MODEL_REFERENCES[study])
    assert leaf not in config[study]
    for key in ROLE_KEYS:
        assert key.path in MODEL_REFERENCES[key.study], (key.study, key.path)
        *parents, leaf = key.path.split("/")
        node = config[key.study]
        for part in parents:
            node = node.get(part, {})
        assert leaf not in node, f"config/config.yaml sets {key.study}.{key.path}: leave it to the roles"


def test_the_shipped_config_filled_from_its_roles_is_valid_and_names_the_embedded_model_everywhere():
    filled = apply_roles(shipped())
    validate_config(filled, SCHEMA)
    check_model_references(filled)
    assert lookup(filled, "stigma", "live") == ["smollm2-135m"]
    assert lookup(filled, "stigma", "judge") == "smollm2-135m"
    assert lookup(filled, "roleplay", "pairs") == [{"counsellor": "smollm2-135m", "client": "smollm2-135m"}]
    # a local judge scores rewards by likelihood
    assert lookup(filled, "preference", "reward/loglik_scorers") == ["smollm2-135m"]


def test_adding_a_subject_reaches_every_subject_key_and_no_judge_or_client_key():
    config = with_models(shipped(), "mine")
    config["roles"]["subjects"] = ["smollm2-135m", "mine"]
    before, after = apply_roles(shipped()), apply_roles(config)
    for key in ROLE_KEYS:
        old, new = lookup(before, key.study, key.path), lookup(after, key.study, key.path)
        if key.role != "subjects" or key.take == "first":
            assert new == old, key
        else:
            assert new == [*old, "mine"], key
    assert lookup(after, "roleplay", "pairs")[-1] == {"counsellor": "mine", "client": "smollm2-135m"}


def test_a_served_judge_gets_no_likelihood_reward_and_a_first_judge_is_the_first():
    config = with_models(shipped(), "big-judge")
    config["roles"]["judges"] = ["big-judge", "smollm2-135m"]
    filled = apply_roles(config)
    assert lookup(filled, "networks", "judge") == "big-judge"
    assert lookup(filled, "reconstruct", "judge/judges") == ["big-judge", "smollm2-135m"]
    assert lookup(filled, "preference", "reward/loglik_scorers") == ["smollm2-135m"]  # local entries only


def test_a_study_key_overrides_its_role_even_when_null():
    config = with_models(shipped(), "mine")
    config["roles"]["subjects"] = ["mine"]
    config["psaich"]["models"] = ["smollm2-135m"]
    config["trauma"]["extraction"]["rater"] = None
    filled = apply_roles(config)
    assert filled["psaich"]["models"] == ["smollm2-135m"]
    assert filled["trauma"]["extraction"]["rater"] is None
    assert filled["care"]["coders"] == ["mine"]
    assert config["care"].get("coders") is None  # the input is left as it was


def test_an_unset_key_without_its_role_names_both_and_a_study_left_out_is_fine():
    config = shipped()
    del config["roles"]
    with pytest.raises(ConfigError, match=r"stigma\.live is not set and roles\.subjects is not given"):
        apply_roles(config)
    only = {key: config[key] for key in ("seed", "data", "claims", "llm", "trpm4")}
    assert apply_roles(only) == only


def test_an_unknown_model_in_a_role_is_named():
    config = shipped()
    config["roles"]["clients"] = ["nobody"]
    validate_config(config, SCHEMA)
    with pytest.raises(ConfigError, match=r"roles\.clients names model entries \['nobody'\]"):
        check_model_references(apply_roles(config))


def test_the_test_config_without_roles_still_validates():
    validate_config(load_yaml(REPO / ".test/config.yaml"), SCHEMA)
