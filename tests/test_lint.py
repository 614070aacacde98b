"""``ruff check`` (pyflakes, bugbear, numpy-convention docstrings; ``[tool.ruff]`` in pyproject.toml)
passes on the package, the tests and the benchmarks, and fails on code that breaks its rules."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")

pytestmark = pytest.mark.skipif(RUFF is None, reason="ruff is installed by the test extra (make test)")


def ruff(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([RUFF, "check", "--no-cache", *args], cwd=cwd, capture_output=True, text=True)


def test_the_code_passes_ruff():
    done = ruff("src", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(("code", "rule"), [
    ("def public(x):\n    return x\n", "D103"),                                    # a public function without a docstring
    ('def public(a, b):\n    """Pairs."""\n    return list(zip(a, b))\n', "B905"),  # zip without strict=
    ('def public(x=[]):\n    """Default."""\n    return x\n', "B006"),              # a mutable default
])
def test_ruff_rejects_what_the_rules_forbid(tmp_path, code, rule):
    package = tmp_path / "src" / "replisuite"
    package.mkdir(parents=True)
    (package / "broken.py").write_text(code)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    done = ruff("src", cwd=tmp_path)
    assert done.returncode == 1 and rule in done.stdout, done.stdout + done.stderr


def test_private_helpers_need_no_docstring(tmp_path):
    package = tmp_path / "src" / "replisuite"
    package.mkdir(parents=True)
    (package / "fine.py").write_text('"""A module."""\n\n\ndef _helper(x):\n    return x\n')
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    done = ruff("src", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
