"""README's scorecard block is current: it was generated from the scorecard that dvc.lock records."""

from pathlib import Path

import pytest
import yaml

from replisuite import scorecard

REPO = Path(__file__).resolve().parents[1]


def locked_md5(path: str) -> str | None:
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())
    for stage in lock["stages"].values():
        for out in stage.get("outs", []):
            if out["path"] == path:
                return out["md5"]
    return None


def test_readme_block_was_made_from_the_locked_scorecard():
    readme = (REPO / "README.md").read_text()
    locked = locked_md5("results/scorecard.csv")
    assert locked, "dvc.lock records no results/scorecard.csv: run `make reproduce` (it commits the stages)"
    assert scorecard.block_digest(readme) == locked, (
        "README's scorecard block was made from another scorecard than dvc.lock records: run `make scorecard`")


def test_readme_block_matches_the_local_scorecard_when_there_is_one():
    local = REPO / "results/scorecard.csv"
    if not local.exists() or scorecard.md5(local) != locked_md5("results/scorecard.csv"):
        pytest.skip("no local results/scorecard.csv at the locked version (a fresh clone; the digest test covers it)")
    assert scorecard.update_readme(REPO / "README.md", local, check=True), "run `make scorecard`"
