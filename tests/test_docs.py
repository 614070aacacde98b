"""The documentation site builds with warnings as errors, has a page per study, and loads nothing from the network."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MKDOCS = [sys.executable, "-m", "mkdocs"]
STUDIES = ["stigma", "psaich", "trpm4", "mi", "topics", "judge", "support", "networks", "care", "roleplay",
           "reconstruct", "trauma", "preference", "synthesis"]


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*MKDOCS, "build", "--strict", "--site-dir", str(site)], cwd=root, capture_output=True,
                          text=True, env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    done = build(REPO, out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def nav_pages(nav) -> list[str]:
    pages = []
    for entry in nav:
        for value in entry.values():
            pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_study_has_a_page_in_the_navigation(site):
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    nav = nav_pages(yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"])
    for study in STUDIES:
        assert study in config, f"{study} is not a config section: update STUDIES"
        assert f"studies/{study}.md" in nav
        page = (site / "studies" / f"{study}.html").read_text()
        assert "Configuration" in page and f"configuration.html#{study}" in page
        assert 'id="known-limits"' in page, f"studies/{study}.md has no Known limits section"


def test_pages_load_no_resource_from_the_network(site):
    for page in site.rglob("*.html"):
        text = page.read_text()
        fetched = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', text)
        assert not fetched, f"{page.relative_to(site)} loads {fetched}"


def test_a_broken_link_fails_the_build(tmp_path):
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    shutil.copy(REPO / "mkdocs.yml", tmp_path)
    with (tmp_path / "docs/glossary.md").open("a") as page:
        page.write("\nSee [a page that is not there](no-such-page.md).\n")
    done = build(tmp_path, tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stdout + done.stderr


LAYERS = ["llm", "instruments", "dialogue", "judge", "coding", "singlecell"]
JUDGE_STUDY_MODULES = {"pipeline", "analysis", "claims", "figures"}  # the judge package also holds the judge study


def test_the_api_reference_covers_every_module_of_the_layers(site):
    for layer in LAYERS:
        page = (REPO / "docs/api" / f"{layer}.md").read_text()
        documented = set(re.findall(r"^::: (replisuite\.[\w.]+)$", page, flags=re.M))
        modules = {f"replisuite.{layer}.{p.stem}" for p in (REPO / "src/replisuite" / layer).glob("*.py")
                   if not p.stem.startswith("_") and not (layer == "judge" and p.stem in JUDGE_STUDY_MODULES)}
        if layer == "instruments":
            modules = {"replisuite.instruments"}
        assert modules <= documented, f"docs/api/{layer}.md lacks {sorted(modules - documented)}"
    rendered = (site / "api/llm.html").read_text()
    # a docstring's own words, rendered under its function's anchor
    assert 'id="replisuite.llm.store.ResponseStore"' in rendered
    assert "oldest first" in rendered
    # Sphinx roles in the docstrings (:func:`x`) are rendered as code, not shown as markup
    for page in (site / "api").glob("*.html"):
        assert not re.search(r":(func|class|mod|meth|attr):`", page.read_text()), page.name
