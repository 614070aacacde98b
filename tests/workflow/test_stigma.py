"""The stigma study end to end on the real published records (small: 1 vignette, 2 interjections)."""

import json

import polars as pl
import pytest

from tests.conftest import logged_llm_counts, real_data_copy, rerun_plan, small_stigma, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

TARGET = "results/stigma/manifest.json"


@pytest.fixture(scope="module")
def stigma_run(tmp_path_factory):
    work, env = real_data_copy(tmp_path_factory, "stigma", small_stigma)
    first = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    return work, env, first


def table(work, name):
    return pl.read_csv(work / "results/stigma/tables" / name)


def test_tables_figures_and_checks(stigma_run):
    work, _, _ = stigma_run
    by_condition = table(work, "stigma_by_condition.csv")
    assert set(by_condition["model"]) == {"gpt-4o", "llama2-70b", "smollm2-135m"}
    local = by_condition.filter(pl.col("model") == "smollm2-135m")
    assert local["label"][0].startswith("SmolLM2-135M") and "135M" in local["label"][0]
    assert local["n"].sum() + local["n_missing"].sum() == 6 * 2  # 6 stigma items x 2 prompts
    check = table(work, "check_published_stigma.csv")
    assert (check["equal_codes"] == check["matched_rows"]).all() and check["matched_rows"].sum() > 0
    interjections = table(work, "appropriateness_by_condition.csv")
    assert {"gpt-4o", "smollm2-135m", "human therapists", "Pi"} <= set(interjections["model"])
    notes = dict(zip(interjections["model"], interjections["judge_note"], strict=True))
    assert "differs from the paper's gpt-4o judge" in notes["smollm2-135m"]
    assert "replayed" in notes["gpt-4o"]
    assert table(work, "check_published_interjections.csv")["equal"].all()
    assert (table(work, "judge_agreement.csv")["cohen_kappa"] > 0.9).all()
    for figure in ("stigma_by_condition", "answers_by_question", "appropriateness_by_condition"):
        for suffix in ("png", "pdf"):
            assert (work / f"results/stigma/figures/{figure}.{suffix}").stat().st_size > 1000


def test_manifest_records_models_and_requests(stigma_run):
    work, _, _ = stigma_run
    manifest = json.loads((work / TARGET).read_text())
    assert manifest["study"] == "stigma" and manifest["config"]["stigma"]["limit_vignettes"] == 1
    entries = {(e["entry"], e["backend"]) for e in manifest["llm"]}
    assert {("gpt-4o", "replay"), ("llama2-70b", "replay"), ("smollm2-135m", "local")} <= entries
    local = [e for e in manifest["llm"] if e["entry"] == "smollm2-135m"]
    sent = logged_llm_counts(work, "stigma")
    assert sent["smollm2-135m"]["new_calls"] > 0 and all(e["failures"] == 0 for e in local)
    assert any(v.startswith("SmolLM2-135M-Instruct.Q4_1.gguf sha256:") for e in local for v in e["model_versions"])
    replayed = [e for e in manifest["llm"] if e["backend"] == "replay"]
    assert all(sent[e["entry"]]["new_calls"] == 0 and sent[e["entry"]]["cache_hits"] == sent[e["entry"]]["unique"] > 0
               for e in replayed)
    assert any(i["path"].endswith("all_combined.csv") for i in manifest["inputs"])


def test_second_run_sends_nothing(stigma_run):
    work, env, _ = stigma_run
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    assert "Nothing to be done" in again.stdout + again.stderr
    # Recompute every answer table: all answers come from the store, no new call is made.
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET,
              "--forcerun", "ask_stigma_questions", "grade_interjections")
    sent = logged_llm_counts(work, "stigma")
    assert all(counts["new_calls"] == 0 for counts in sent.values()), sent


def test_one_config_key_reruns_only_the_jobs_that_read_it(stigma_run):
    work, env, _ = stigma_run
    by_params, _ = rerun_plan(work, env, [TARGET], {"stigma/n_boot": 300})
    assert by_params == {"summarise_stigma": 1, "summarise_interjections": 1}
    # one model entry's decoding: that model's jobs only (published models are graded by their replayed judge)
    by_params, scheduled = rerun_plan(work, env, [TARGET], {"llm/models/smollm2-135m/params/max_tokens": 99})
    assert by_params == {"ask_stigma_questions": 2, "grade_interjections": 1}
    assert "prepare_stigma_stimuli" not in scheduled


def test_adding_a_model_sends_only_its_requests_and_its_key_leaks_nowhere(stigma_run):
    """A lab adds an OpenAI-compatible endpoint as one config entry and reruns."""
    import yaml

    from replisuite.llm.fake_server import FakeOpenAIServer

    work, env, _ = stigma_run
    secret = "sk-test-do-not-leak-7f3a9c"
    with FakeOpenAIServer() as server:
        path = work / "config/config.yaml"
        config = yaml.safe_load(path.read_text())
        config["llm"]["models"]["lab-model"] = {
            "backend": "openai", "model": "lab/model-1", "base_url": server.base_url,
            "api_key_env": "LAB_API_KEY", "concurrency": 4, "label": "lab model (fake server)",
        }
        config["roles"]["subjects"].append("lab-model")  # the one key that puts a model through every paper
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        snakemake(work, {**env, "LAB_API_KEY": secret}, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
        # 14 stigma items x 2 prompts + 2 interjections x 2 prompts: nothing for the other models
        assert server.counters.calls == 14 * 2 + 2 * 2
        assert server.counters.authorization == {f"Bearer {secret}"}
    manifest = json.loads((work / TARGET).read_text())
    lab = next(e for e in manifest["llm"] if e["entry"] == "lab-model")
    sent = logged_llm_counts(work, "stigma")
    assert sent["lab-model"]["new_calls"] == 32 and lab["model_versions"] == ["fake-model-2026-01-01"]
    assert all(counts["new_calls"] == 0 for entry, counts in sent.items() if entry not in ("lab-model", "smollm2-135m"))
    assert "lab-model" in set(table(work, "stigma_by_condition.csv")["model"])
    for folder in ("results", "logs", "data/llm", ".snakemake/log"):
        for file in (work / folder).rglob("*"):
            if file.is_file():
                assert secret.encode() not in file.read_bytes(), file
