"""Shared fixtures: a local mirror of made-up sources, and a temporary copy of the repository."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from replisuite.workflow import listed_jobs

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


# Published data: from $REPLISUITE_MIRROR, else downloaded once into a mirror-shaped cache when
# the network answers; with neither, the checks skip with this reason and the run ends with a
# line counting them (pytest_terminal_summary).
PUBLISHED_SKIP = "published data unavailable: REPLISUITE_MIRROR is not set and the sources' URLs cannot be reached"
NETWORK_ENV = "REPLISUITE_NETWORK"  # "0": never download in tests
CACHE_ENV = "REPLISUITE_SOURCE_CACHE"


def _network_answers(url: str, timeout: float = 5.0) -> bool:
    if os.environ.get(NETWORK_ENV) == "0":
        return False
    try:
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "replisuite-tests"})
        with urllib.request.urlopen(request, timeout=timeout):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False


@functools.cache
def published_mirror() -> str | None:
    """Where the tests read published sources: $REPLISUITE_MIRROR (absolute), else a cache
    ($REPLISUITE_SOURCE_CACHE, default ~/.cache/replisuite/mirror) filled from the sources' URLs
    through replisuite.data.fill_mirror; None without either."""
    from replisuite.data import fill_mirror, load_sources

    if os.environ.get("REPLISUITE_MIRROR"):
        return os.path.abspath(os.environ["REPLISUITE_MIRROR"])
    sources = load_sources(REPO / "config/sources.yaml")
    if not sources or not _network_answers(next(iter(sources.values())).url):
        return None
    cache = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache/replisuite/mirror")
    return str(fill_mirror(sources.values(), cache).resolve())


def require_published() -> str:
    """The published-data mirror folder, or skip the test with PUBLISHED_SKIP."""
    mirror = published_mirror()
    if mirror is None:
        pytest.skip(PUBLISHED_SKIP)
    return mirror


@pytest.fixture(scope="session")
def published():
    """The folder published sources are read from (a mirror); skips without one."""
    return require_published()


def pytest_terminal_summary(terminalreporter):
    skipped = [report for report in terminalreporter.stats.get("skipped", []) if PUBLISHED_SKIP in str(report.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} published-data checks skipped: REPLISUITE_MIRROR is not set and the sources' URLs "
            "cannot be reached (set REPLISUITE_MIRROR to a mirror folder, or run with network access; see docs/testing.md)",
            yellow=True, bold=True,
        )


@pytest.fixture
def store(tmp_path):
    """An empty response store."""
    from replisuite.llm import ResponseStore

    with ResponseStore(tmp_path / "llm" / "study") as opened:
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


def small_stigma(config: dict[str, Any]) -> None:
    """Stigma at test size: 1 vignette, 2 interjections, the embedded model and two replayed ones."""
    study = config["stigma"]
    study["published"] = {name: study["published"][name] for name in ("gpt-4o", "llama2-70b")}
    study.update(limit_vignettes=1, limit_interjections=2, n_boot=200, live_max_tokens=12)


def real_data_copy(tmp_path_factory, name: str, edit_config) -> tuple[Path, dict[str, str]]:
    """A copy of the repository on the real inputs (see `published_mirror`), its config changed
    by ``edit_config(config)``; skips when they cannot be had."""
    mirror = require_published()

    def edit(work):
        path = work / "config/config.yaml"
        config = yaml.safe_load(path.read_text())
        edit_config(config)
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    work = tmp_path_factory.mktemp(name) / "repo"
    return work, copy_repo(work, mirror, edit)


@contextlib.contextmanager
def served_study_run(tmp_path_factory, name: str, respond, edit_config, targets: list[str]):
    """The targets built in a copy of the repository whose config names the local fake OpenAI server
    as model entry ``served`` (answering with ``respond(body)``), then changed by ``edit_config``.
    Yields (work, env, server); the server stops afterwards."""
    from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer

    with FakeOpenAIServer(Behaviour(respond=respond)) as server:
        def edit(config):
            config["llm"]["models"]["served"] = {"backend": "openai", "model": "fake-model", "base_url": server.base_url,
                                                 "api_key_env": "REPLISUITE_TEST_KEY", "label": "served model (fake server)",
                                                 "concurrency": 4}
            edit_config(config)

        work, env = real_data_copy(tmp_path_factory, name, edit)
        env["REPLISUITE_TEST_KEY"] = "test-key"
        snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *targets)
        yield work, env, server


def rerun_plan(work: Path, env: dict[str, str], targets: list[str], edits: dict[str, Any]) -> tuple[Counter, set[str]]:
    """Dry-run ``targets`` with config keys changed (``{"trpm4/go/top_terms": 5}``).

    Returns how many jobs of each rule have changed params, and every rule the dry run
    schedules (those plus what lies downstream). A downstream job is listed with the reason
    "input files updated" only (Snakemake looks no further), so the first count names exactly
    the jobs whose own params changed. The repository's config file is left as it was.
    """
    jobs = rerun_jobs(work, env, targets, edits)
    by_params = Counter(job.rule for job in jobs if "Params have changed" in job.reason)
    return by_params, {job.rule for job in jobs}


def rerun_jobs(work: Path, env: dict[str, str], targets: list[str], edits: dict[str, Any]) -> list:
    """The jobs a dry run of ``targets`` lists with config keys changed or added (see `rerun_plan`)."""
    config = yaml.safe_load((work / "config/config.yaml").read_text())
    for path, value in edits.items():
        *parents, leaf = path.split("/")
        node = config
        for key in parents:
            node = node[key]
        assert node.get(leaf) != value, f"config {path} is {value!r} already"
        node[leaf] = value
    edited = work / "edited-config.yaml"
    edited.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        # targets first: --configfile takes every value that follows it
        done = snakemake(work, env, "-n", *targets, "--profile", "workflow/profiles/default", "--configfile", str(edited))
    finally:
        edited.unlink()
    return listed_jobs(done.stdout)


def logged_llm_counts(work: Path, study: str) -> dict[str, Counter]:
    """What a study's jobs last sent, per model entry: the counts each job logs (write_llm_provenance)."""
    totals: dict[str, Counter] = {}
    for log in sorted((work / "logs" / study).rglob("*.log")):
        for match in re.finditer(r"model requests of this job: (\{.*\})", log.read_text()):
            record = json.loads(match.group(1))
            totals.setdefault(record.pop("entry"), Counter()).update(record)
    return totals


def pytest_collection_modifyitems(items):
    """The longest test files first (the served-model runs, the SLURM cluster, the other workflow
    runs): on two workers (`make test`, with xdist's own reordering off) the file that starts last
    sets when the suite ends, so it should be a short one."""
    items.sort(key=lambda item: tuple(item.get_closest_marker(mark) is None for mark in ("served", "slurm", "workflow")))
