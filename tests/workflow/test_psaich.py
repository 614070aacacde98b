"""The psaich study end to end with the embedded model (one seed, one session, PHQ-9)."""

import json

import polars as pl
import pytest

from tests.conftest import copy_repo, logged_llm_counts, rerun_plan, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGET = "results/psaich/manifest.json"


@pytest.fixture(scope="module")
def psaich_run(tmp_path_factory):
    import yaml

    def small(work):
        path = work / "config/config.yaml"
        config = yaml.safe_load(path.read_text())
        for study in ("stigma", "mi", "topics"):
            config.pop(study)  # this test needs no data source
        config["psaich"].update(seeds=[1], sessions=1, instruments=["phq9"], stage1_params={"temperature": 0.7, "max_tokens": 24})
        path.write_text(yaml.safe_dump(config, sort_keys=False))

    work = tmp_path_factory.mktemp("psaich") / "repo"
    env = copy_repo(work, tmp_path_factory.mktemp("empty-mirror"), small)
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    return work, env


def test_scores_transcripts_and_manifest(psaich_run):
    work, _ = psaich_run
    scores = pl.read_csv(work / "results/psaich/tables/scores.csv")
    assert set(scores["mode"]) == {"therapy_item", "stateless_item", "whole"} and set(scores["instrument"]) == {"phq9"}
    # likelihood answers (the whole sheet by constrained decoding) are complete and banded
    assert (scores["answered"] == 9).all() and scores["band"].is_not_null().all()
    assert set(scores["answer_method"]) == {"loglik"}
    differences = pl.read_csv(work / "results/psaich/tables/item_minus_whole.csv")
    assert set(differences["mode"]) == {"therapy_item", "stateless_item"} and (differences["seeds"] == 1).all()
    transcript = [json.loads(line) for line in open(work / "results/psaich/transcripts/smollm2-135m.jsonl")]
    assert len(transcript) == 4 and all(row["request_key"] and row["client"] for row in transcript)
    manifest = json.loads((work / TARGET).read_text())
    [entry] = manifest["llm"]
    assert entry["backend"] == "local" and entry["unique"] > 0 and entry["failures"] == 0
    assert logged_llm_counts(work, "psaich")["smollm2-135m"]["new_calls"] == entry["unique"]
    for figure in ("profile", "item_minus_whole"):
        assert (work / f"results/psaich/figures/{figure}.png").stat().st_size > 1000


def test_rerun_sends_nothing(psaich_run):
    work, env = psaich_run
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET, "--forcerun", "administer_psaich")
    sent = logged_llm_counts(work, "psaich")["smollm2-135m"]
    assert sent["new_calls"] == 0 and sent["cache_hits"] == sent["unique"] > 0



def test_one_config_key_reruns_only_the_jobs_that_read_it(psaich_run):
    work, env = psaich_run
    for key, value in (("psaich/n_boot", 300), ("psaich/bootstrap_seed", 9)):
        by_params, scheduled = rerun_plan(work, env, [TARGET], {key: value})
        assert by_params == {"summarise_psaich": 1}, key
        assert "administer_psaich" not in scheduled
    by_params, _ = rerun_plan(work, env, [TARGET], {"psaich/whole_tokens_per_item": 7})
    assert by_params == {"administer_psaich": 1}
