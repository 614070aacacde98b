import pytest

from replisuite.config import load_yaml
from replisuite.data import fetch_all, load_sources
from replisuite.stigma.study import referenced_sources


@pytest.fixture(scope="session")
def project_config():
    return load_yaml("config/config.yaml")


@pytest.fixture(scope="session")
def raw(tmp_path_factory, project_config, published):
    """The study's published inputs, fetched from the published-data mirror with their hashes verified."""
    sources = load_sources("config/sources.yaml")
    names = referenced_sources(project_config["stigma"])
    folder = tmp_path_factory.mktemp("raw")
    paths = fetch_all([sources[n] for n in names], folder, mirror=published)
    return {name: str(path) for name, path in zip(names, paths, strict=True)}
