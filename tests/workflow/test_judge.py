"""The judge study end to end on the real inputs with a small configuration: the embedded model
and an OpenAI-compatible judge (the local fake server) side by side."""

import json
import re

import polars as pl
import pytest

from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer
from tests.conftest import logged_llm_counts, real_data_copy, rerun_plan, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGET = "results/judge/manifest.json"


def served_judge(body):
    """A deterministic judge: longer counsellor talk scores higher; in pairs, the longer reply wins."""
    prompt = body["messages"][-1]["content"]
    if "Reply A:" in prompt:
        a, b = prompt.split("Reply A:\n")[1].split("\n\nReply B:\n")
        return "A" if len(a) >= len(b.split("\n\nWhich reply")[0]) else "B"
    items = re.findall(r'^- "([a-z_]+)": .*? integer from (\d+) to (\d+)', prompt, flags=re.MULTILINE)
    words = len(" ".join(re.findall(r"^Counsellor: (.*)$", prompt, flags=re.MULTILINE)).split())
    return json.dumps({item: {"score": min(int(high), int(low) + words // 60), "rationale": "length"} for item, low, high in items})


@pytest.fixture(scope="module")
def judge_run(tmp_path_factory):
    server = FakeOpenAIServer(Behaviour(respond=served_judge)).__enter__()

    def small(config):
        config["llm"]["models"]["served-judge"] = {"backend": "openai", "model": "fake-judge", "base_url": server.base_url,
                                                   "api_key_env": "REPLISUITE_TEST_KEY", "label": "served judge (fake server)"}
        config["judge"]["judges"] = ["smollm2-135m", "served-judge"]
        config["judge"]["validation"].update(rubrics=["miti_globals"], per_label={"smollm2-135m": 2, "served-judge": 4},
                                             max_chars=400, repeats=2)
        config["judge"]["arena"].update(questions=2, reply_params={"temperature": 0.0, "max_tokens": 16})

    work, env = real_data_copy(tmp_path_factory, "judge", small)
    env["REPLISUITE_TEST_KEY"] = "test-key"
    snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    yield work, env, server
    server.__exit__(None, None, None)


def test_validation_reliability_and_arena_tables(judge_run):
    work, _, _ = judge_run
    validation = pl.read_csv(work / "results/judge/tables/validation.csv")
    auc = validation.filter((pl.col("set") == "annomi_mi_quality") & (pl.col("measure") == "auc"))
    served = auc.filter((pl.col("judge") == "served-judge"))
    assert served["n"][0] == 8 and auc.filter(pl.col("judge") == "smollm2-135m")["n"][0] == 4
    assert auc.filter(pl.col("judge") == "baseline: counsellor words").height == 2  # the trivial guess beside each judge
    assert set(validation["set"]) >= {"annomi_mi_quality"}
    reliability = pl.read_csv(work / "results/judge/tables/reliability.csv")
    assert set(reliability["comparison"]) == {"repeats", "judge_vs_judge"}
    ratings = pl.read_csv(work / "results/judge/tables/arena_ratings.csv")
    assert set(ratings["reply"]) == {"human_top", "human_other", "smollm2-135m"} and set(ratings["judge"]) == {"smollm2-135m", "served-judge"}
    checks = pl.read_csv(work / "results/judge/tables/arena_checks.csv")
    assert (checks["comparisons"] + checks["unparseable"] == 6).all()
    for name in ("auc", "items", "reliability", "arena"):
        assert (work / f"results/judge/figures/{name}.png").stat().st_size > 5000


def test_manifest_lists_every_judge_and_its_requests(judge_run):
    work, _, server = judge_run
    manifest = json.loads((work / TARGET).read_text())
    entries = {entry["entry"]: entry for entry in manifest["llm"]}
    sent = logged_llm_counts(work, "judge")
    assert entries["served-judge"]["backend"] == "openai" and sent["served-judge"]["new_calls"] >= 8 + 6
    # every call the server saw is accounted for: the judgements and the probe of its seed handling
    assert sent["served-judge"]["new_calls"] + sent["served-judge"]["probe_calls"] == server.counters.calls
    assert "new_calls" not in entries["served-judge"]  # what a run sent is in its logs, not in results
    assert entries["smollm2-135m"]["backend"] == "local"
    claims = pl.read_csv(work / "results/judge/claims.csv")
    assert claims["models"].str.contains("embedded 135M model").any()


def test_rerun_sends_nothing_and_one_key_reruns_only_its_jobs(judge_run):
    work, env, server = judge_run
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", TARGET)
    assert "Nothing to be done" in again.stdout + again.stderr
    by_params, scheduled = rerun_plan(work, env, [TARGET], {"judge/validation/repeats": 3})
    assert by_params == {"judge_sessions": 2}
    assert not scheduled & {"arena_replies", "judge_arena"}
    by_params, scheduled = rerun_plan(work, env, [TARGET], {"judge/validation/per_label/served-judge": 5})
    assert by_params == {"judge_sessions": 1}
    by_params, _ = rerun_plan(work, env, [TARGET], {"judge/arena/reply_params/max_tokens": 24})
    assert by_params == {"arena_replies": 1}
    by_params, _ = rerun_plan(work, env, [TARGET], {"judge/n_boot": 300})
    assert by_params == {"summarise_judge": 1}
