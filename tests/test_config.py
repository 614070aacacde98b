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


def test_every_model_reference_path_is_in_the_schema():
    from replisuite.config import MODEL_REFERENCES

    schema = load_yaml(SCHEMA)
    for study, paths in MODEL_REFERENCES.items():
        for path in paths:
            node = schema["properties"][study]
            for part in path.split("/"):
                node = node["items"] if part == "*" else node["properties"][part]
            assert node, (study, path)


def test_a_model_no_entry_defines_is_named_for_every_study():
    from replisuite.config import check_model_references

    config = project_config()
    check_model_references(config)
    config["care"]["coders"] = ["my-vlm"]
    config["judge"]["arena"]["models"] = ["smollm2-135m", "other"]
    config["roleplay"]["pairs"] = [{"counsellor": "smollm2-135m", "client": "ghost"}]
    with pytest.raises(ConfigError) as caught:
        check_model_references(config, origin="config/config.yaml")
    message = str(caught.value)
    assert "care.coders names model entries ['my-vlm'] that llm.models does not define" in message
    assert "judge.arena.models names model entries ['other']" in message
    assert "roleplay.pairs[].client names model entries ['ghost']" in message
    assert "defined: [" in message and "smollm2-135m" in message


def test_a_number_passed_as_a_string_points_at_configfile():
    config = project_config()
    config["support"]["n_boot"] = "301"          # what --config 'support={n_boot: 301}' gives
    with pytest.raises(ConfigError, match=r"support.n_boot: expected integer, got str '301' \(snakemake --config passes"):
        validate_config(config, SCHEMA)
    config["support"]["n_boot"] = "many"
    with pytest.raises(ConfigError) as caught:
        validate_config(config, SCHEMA)
    assert "--configfile" not in str(caught.value)
