"""Every DVC stage lists, among its deps, every module of ours that its jobs import.

The imports are derived from the code: the stage's rule files (and those every stage parses),
its scripts, and everything they import from replisuite, followed transitively (a module's
package __init__ files included, since importing a module runs them).
"""

import ast
import re
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

SRC = REPO / "src"
ALWAYS = ["Snakefile", "workflow/rules/common.smk", "workflow/rules/provenance.smk", "workflow/scripts/write_manifest.py"]
CLAIMS = ["workflow/rules/claims.smk", "workflow/scripts/state_claims.py"]
SMK_IMPORT = re.compile(r"^\s*(?:from|import)\s+(replisuite[\w.]*)", re.MULTILINE)


def module_file(name: str) -> Path | None:
    path = SRC.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    """replisuite modules named by the imports of one file (a .smk file by its import lines)."""
    text = path.read_text()
    if path.suffix == ".smk" or path.name == "Snakefile":
        return set(SMK_IMPORT.findall(text))
    names = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {name for name in names if name.split(".")[0] == "replisuite"}


def closure(entry_files: list[Path]) -> set[Path]:
    """Our source files that running ``entry_files`` imports, transitively."""
    seen: set[Path] = set()
    todo = list(entry_files)
    while todo:
        path = todo.pop()
        for name in imported_modules(path):
            parts = name.split(".")
            for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__, a/b/__init__
                found = module_file(".".join(parts[:depth]))
                if found is not None and found not in seen:
                    seen.add(found)
                    todo.append(found)
    return seen


def stage_entry_files(stage: str) -> list[Path]:
    if stage == "scorecard":
        names = ["workflow/rules/claims.smk", "workflow/scripts/write_scorecard.py"]
    else:
        names = [*ALWAYS, f"workflow/rules/{stage}.smk", *(CLAIMS if stage != "data" else [])]
        names += [str(p.relative_to(REPO)) for p in sorted((REPO / "workflow/scripts" / stage).glob("*.py"))]
    files = [REPO / name for name in names]
    if stage not in ("data", "scorecard"):
        files.append(SRC / "replisuite" / stage / "claims.py")  # state_claims imports it by name
    return files


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps)


STAGES = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_stage_deps_cover_every_module_its_jobs_import(stage):
    deps = STAGES[stage]["deps"]
    entries = stage_entry_files(stage)
    missing = sorted(str(p.relative_to(REPO)) for p in [*entries, *closure(entries)] if not covered(p, deps))
    assert not missing, f"dvc.yaml stage {stage!r} does not list {missing} among its deps"


def test_the_import_walk_finds_what_a_script_imports():
    found = {p.relative_to(SRC).as_posix() for p in closure([REPO / "workflow/scripts/trpm4/gam.py"])}
    # gam.py imports replisuite.trpm4.fits, which imports replisuite.stats (and so on)
    assert {"replisuite/trpm4/fits.py", "replisuite/trpm4/__init__.py", "replisuite/stats.py", "replisuite/runlog.py",
            "replisuite/singlecell/gam.py", "replisuite/__init__.py"} <= found
    assert "replisuite/llm/local.py" not in found
