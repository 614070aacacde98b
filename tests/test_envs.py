"""envs/*.yaml must pin exactly what pyproject.toml pins."""

import re
import tomllib
from pathlib import Path

import yaml

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;]+)$")


def pyproject_pins() -> dict[str, str]:
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"pyproject.toml: {requirement!r} is not pinned with =="
        pins[match.group(1).lower()] = match.group(2)
    return pins


def env_pins(path: Path) -> dict[str, str]:
    pins = {}
    for dependency in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dependency, dict):
            for requirement in dependency.get("pip", []):
                if requirement.startswith("-"):
                    continue
                match = PIN.match(requirement)
                assert match, f"{path}: {requirement!r} is not pinned with =="
                pins[match.group(1).lower()] = match.group(2)
    return pins


def test_every_env_pin_matches_pyproject():
    pins = pyproject_pins()
    envs = sorted(Path("envs").glob("*.yaml"))
    assert envs
    for path in envs:
        for name, version in env_pins(path).items():
            assert name in pins, f"{path}: {name} is not a dependency in pyproject.toml"
            assert version == pins[name], f"{path}: {name}=={version}, pyproject.toml pins {pins[name]}"


def test_core_env_has_every_core_dependency():
    project = tomllib.loads(Path("pyproject.toml").read_text())["project"]
    core = {PIN.match(r).group(1).lower() for r in project["dependencies"]}
    heavy = {"scanpy", "anndata", "numba", "pygam", "gseapy", "blitzgsea", "scikit-learn"}
    assert core - heavy <= set(env_pins(Path("envs/core.yaml")))


def test_every_rule_env_exists():
    referenced = set()
    for rules in Path("workflow/rules").glob("*.smk"):
        referenced |= set(re.findall(r'"\.\./\.\./(envs/[^"]+)"', rules.read_text()))
    assert referenced
    for path in referenced:
        assert Path(path).is_file(), path
