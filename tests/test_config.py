import pytest

from replisuite.config import ConfigError, load_yaml, validate_config

SCHEMA = "workflow/schemas/config.schema.yaml"


def project_config():
    return load_yaml("config/config.yaml")


def test_project_and_test_configs_are_valid():
    validate_config(project_config(), SCHEMA)
    validate_config(load_yaml(".test/config.yaml"), SCHEMA)


def test_unknown_key_is_named_with_the_allowed_ones():
    config = project_config()
    config["data"]["raw_dri"] = "x"
    with pytest.raises(ConfigError) as caught:
        validate_config(config, SCHEMA, origin="config/config.yaml")
    message = str(caught.value)
    assert message.startswith("config/config.yaml: invalid configuration")
    assert "data: unknown key(s) 'raw_dri'" in message and "raw_dir" in message


def test_missing_key_and_wrong_type_are_both_reported():
    config = project_config()
    del config["data"]["raw_dir"]
    config["seed"] = "seven"
    with pytest.raises(ConfigError) as caught:
        validate_config(config, SCHEMA)
    lines = str(caught.value).splitlines()[1:]
    assert lines == [
        "  - data: 'raw_dir' is a required property",
        "  - seed: expected integer, got str 'seven'",
    ]


def test_fetch_is_all_or_a_list_of_names():
    config = project_config()
    config["data"]["fetch"] = ["lat_vignettes"]
    validate_config(config, SCHEMA)
    config["data"]["fetch"] = "some"
    with pytest.raises(ConfigError, match="data.fetch"):
        validate_config(config, SCHEMA)


def test_bad_yaml_names_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("a: [1, 2\n")
    with pytest.raises(ConfigError, match="c.yaml: not valid YAML"):
        load_yaml(path)


def test_model_entries_are_validated():
    config = project_config()
    config["llm"]["models"]["mine"] = {"backend": "scripted", "model": "x"}
    with pytest.raises(ConfigError, match="llm.models.mine.backend"):
        validate_config(config, SCHEMA)
    config["llm"]["models"]["mine"] = {"backend": "openai", "model": "x", "api_key": "sk-123"}
    with pytest.raises(ConfigError, match="unknown key\\(s\\) 'api_key'"):
        validate_config(config, SCHEMA)
    config["llm"]["models"]["mine"] = {"backend": "openai", "model": "x", "api_key_env": "MY_KEY", "concurrency": 16}
    validate_config(config, SCHEMA)
