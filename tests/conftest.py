"""Shared fixtures: a local mirror of made-up sources, and a temporary copy of the repository."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_mirror(root: Path, files: dict[str, bytes]) -> tuple[Path, list[dict]]:
    """Write ``files`` ({url: bytes}) into a mirror folder; return it and their source entries."""
    mirror = root / "mirror"
    entries = []
    for index, (url, content) in enumerate(files.items()):
        parts = urllib.parse.urlsplit(url)
        local = mirror / parts.netloc / urllib.parse.unquote(parts.path.lstrip("/"))
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(content)
        entries.append(
            {
                "name": f"src{index}",
                "url": url,
                "sha256": hashlib.sha256(content).hexdigest(),
                "licence": "CC0",
                "citation": "made up by the tests",
                "study": "data",
            }
        )
    return mirror, entries


TEST_FILES = {
    # '=' and '&' in the path, percent-encoded in the URL as in the stigma study's results
    "https://example.org/owner/repo/abc/results/model%3Dx%26steel-man%3DTrue/2025-01-01.jsonl": b'{"a": 1}\n',
    "https://example.org/owner/repo/abc/data/table.csv": b"x,y\n1,2\n3,4\n",
    "https://example.org/owner/repo/abc/data/space%20name.txt": b"hello\n",
}


@pytest.fixture
def store(tmp_path):
    """An empty response store."""
    from replisuite.llm import ResponseStore

    with ResponseStore(tmp_path / "llm" / "study.sqlite") as opened:
        yield opened


@pytest.fixture
def mirror(tmp_path):
    """A mirror folder with three small files, and their source entries."""
    return make_mirror(tmp_path, TEST_FILES)


def repo_files() -> list[str]:
    """Files a fresh clone would have (tracked plus untracked-but-not-ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split("\0")
    return [f for f in listed if f and (REPO / f).is_file()]


def run(args, cwd, env=None, check=True):
    """Run a command, returning the CompletedProcess; on failure show its output."""
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, args))} exited {done.returncode}\n"
            f"--- stdout\n{done.stdout[-5000:]}\n--- stderr\n{done.stderr[-5000:]}"
        )
    return done


def copy_repo(work: Path, mirror_dir: str | os.PathLike[str], edit=None) -> dict[str, str]:
    """Copy the repository's files to ``work``, let ``edit(work)`` change them, commit; return the env."""
    for name in repo_files():
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, target)
    if edit is not None:
        edit(work)
    env = {
        **os.environ,
        "REPLISUITE_MIRROR": str(mirror_dir),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    env.pop("REPLISUITE_RUN_STARTED", None)
    run(["git", "init", "-q", "-b", "main"], work, env)
    run(["git", "add", "-A"], work, env)
    run(["git", "commit", "-qm", "test copy"], work, env)
    return env


@pytest.fixture
def workdir(tmp_path, mirror):
    """A git-initialised copy of the repository wired to the tiny test mirror.

    ``config/config.yaml`` is replaced by the test config and ``config/sources.yaml`` by the
    three made-up sources, so the run is hermetic and takes seconds.
    """
    mirror_dir, entries = mirror

    def hermetic(work):
        (work / "config/sources.yaml").write_text(yaml.safe_dump({"sources": entries}, sort_keys=False))
        shutil.copy2(REPO / ".test/config.yaml", work / "config/config.yaml")

    work = tmp_path / "repo"
    env = copy_repo(work, mirror_dir, hermetic)
    return work, env, entries


def snakemake(work, env, *args, check=True):
    return run([sys.executable, "-m", "snakemake", *args], work, env, check=check)


def dvc(work, env, *args, check=True):
    return run([sys.executable, "-m", "dvc", *args], work, env, check=check)


def real_data_copy(tmp_path_factory, name: str, edit_config) -> tuple[Path, dict[str, str]]:
    """A copy of the repository on the real inputs ($REPLISUITE_MIRROR), its config changed by
    ``edit_config(config)``; skips when no mirror is set."""
    mirror = os.environ.get("REPLISUITE_MIRROR")
    if not mirror:
        pytest.skip("needs REPLISUITE_MIRROR (set by .ci/run)")

    def edit(work):
        path = work / "config/config.yaml"
        config = yaml.safe_load(path.read_text())
        edit_config(config)
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    work = tmp_path_factory.mktemp(name) / "repo"
    return work, copy_repo(work, mirror, edit)
