"""Checks against published data never vanish silently: without them the run says so in one line."""

import os
import subprocess
import sys

from tests.conftest import PUBLISHED_SKIP, REPO

SELECTION = ["tests/mi/test_mi.py", "tests/test_data.py", "-k", "real_annomi or every_declared_source"]


def run_selection(env):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SELECTION],
                          cwd=REPO, env=env, capture_output=True, text=True)


def test_without_mirror_or_network_the_published_checks_skip_with_a_summary_line():
    env = {k: v for k, v in os.environ.items() if k != "REPLISUITE_MIRROR"} | {"REPLISUITE_NETWORK": "0"}
    done = run_selection(env)
    assert done.returncode == 0, done.stdout
    assert "2 skipped" in done.stdout and PUBLISHED_SKIP in done.stdout
    assert "2 published-data checks skipped: REPLISUITE_MIRROR is not set" in done.stdout


def test_with_published_data_they_run_and_no_summary_line(published):
    done = run_selection({**os.environ, "REPLISUITE_MIRROR": published})
    assert done.returncode == 0, done.stdout
    assert "2 passed" in done.stdout and "published-data checks skipped" not in done.stdout
