"""The glue every workflow script runs inside: its log, and the study manifest it withdraws."""

import logging

import pytest

from replisuite.runlog import log_to, withdraw_manifest


def test_a_study_job_withdraws_its_study_manifest_and_only_that(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for study in ("mi", "care"):
        (tmp_path / "results" / study).mkdir(parents=True)
        (tmp_path / "results" / study / "manifest.json").write_text("{}")
    with log_to("logs/mi/classify_utterances/x.log"):
        pass
    assert not (tmp_path / "results/mi/manifest.json").exists()
    assert (tmp_path / "results/care/manifest.json").exists()
    withdraw_manifest("logs/care/write_manifest.log")          # the job that writes it keeps it
    withdraw_manifest("logs/dump_config.log")                    # not a study's job
    withdraw_manifest(tmp_path / "elsewhere/care/x.log")         # not under logs/
    assert (tmp_path / "results/care/manifest.json").exists()


def test_an_error_in_the_block_is_logged_with_its_traceback_and_raised(tmp_path):
    path = tmp_path / "job.log"
    with pytest.raises(ValueError), log_to(path) as log:
        log.info("started")
        raise ValueError("bad row 3")
    text = path.read_text()
    assert "started" in text and "step failed" in text and "ValueError: bad row 3" in text
    assert not logging.getLogger("replisuite").handlers or all(
        getattr(h, "baseFilename", None) != str(path) for h in logging.getLogger("replisuite").handlers)


def test_fetching_a_source_never_withdraws_the_data_studys_manifest(tmp_path, monkeypatch):
    """On-demand sources (a PsychEval case file for roleplay) are fetched after the data study may
    have written its manifest (it covers only the sources data.fetch selects): seen in a smoke run
    as results/data/manifest.json vanishing at the end. Fetch logs are filed outside logs/data/."""
    import re
    from pathlib import Path

    rules = (Path(__file__).resolve().parents[1] / "workflow/rules/data.smk").read_text()
    block = rules[rules.index("rule fetch_source:"):rules.index("rule summarise_sources:")]
    log = re.search(r'log:\s*"([^"]+)"', block).group(1).format(source="psycheval_case_1", filename="1.json")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/data").mkdir(parents=True)
    (tmp_path / "results/data/manifest.json").write_text("{}")
    withdraw_manifest(log)
    assert (tmp_path / "results/data/manifest.json").exists(), log
