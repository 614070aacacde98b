"""The preference study end to end on a file in the released chosen/rejected shape, with the local
fake OpenAI server as principle and win-rate judge: a planted preference must be learnt by the reward
models and found by a judge that reads the replies, and must not be found by a judge that ignores
them; DPO trains the embedded model for two steps and the tuned adapter answers as a model entry."""

import json
import re

import numpy as np
import polars as pl
import pytest

from tests.conftest import rerun_plan, served_study_run

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGETS = ["results/preference/manifest.json"]
FILLER = "we can look at what happened this week and how the days have felt for you lately".split()
# as many words each, so reply length cannot tell them apart
CARING, DISMISSIVE = "I hear how painful this is.", "You should just stop complaining now."


def published_pairs(path, n_questions=40):
    rng = np.random.default_rng(5)
    lines = []
    for q in range(n_questions):
        question = f"Question {q}: I have been feeling {rng.choice(['low', 'tense', 'alone', 'tired'])} for weeks."
        for _ in range(2):
            filler = " ".join(rng.choice(FILLER, size=10))
            lines.append({"chosen": [{"role": "user", "content": question},
                                     {"role": "assistant", "content": f"{CARING} {filler}"}],
                          "rejected": [{"role": "user", "content": question},
                                       {"role": "assistant", "content": f"{DISMISSIVE} {filler}"}]})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return path


def served(body):
    prompt = body["messages"][-1]["content"]
    if "Rate it on these items" in prompt:
        items = re.findall(r'^- "([a-z_]+)": .*? integer from (\d+) to (\d+)', prompt, flags=re.MULTILINE)
        reads = body["model"] == "fake-model"
        caring = CARING in prompt.split("Counsellor:")[-1]
        score = (lambda high, low: high if caring else low) if reads else (lambda high, low: low)
        return json.dumps({item: {"score": int(score(high, low)), "rationale": "tone"} for item, low, high in items})
    return "A"   # the win-rate judge always picks the reply shown first: every verdict follows the position


@pytest.fixture(scope="module")
def preference_run(tmp_path_factory):
    pairs_file = published_pairs(tmp_path_factory.mktemp("published") / "preference_pairs.jsonl")

    def small(config):
        config["llm"]["models"]["served-null"] = {**config["llm"]["models"]["served"], "model": "fake-null",
                                                  "label": "judge ignoring the replies (fake server)"}
        study = config["preference"]
        study.update(published_pairs=str(pairs_file), n_boot=200)
        study["principles"].update(judges=["served", "served-null"], method={"served": "json", "served-null": "json"},
                                   pairs=8)
        study["reward"].update(loglik_scorers=[], l2={"embedding": [1.0], "length": [0.01],
                                                                 "embedding+length": [1.0], "tfidf": [1.0]})
        study["dpo"].update(train_pairs=8, heldout_pairs=4, steps=2, batch_size=2, max_length=96)
        study["evaluation"].update(questions=3, max_tokens=12, judges=["served"], judge_method={"served": "parsed"})

    with served_study_run(tmp_path_factory, "preference", served, small, TARGETS) as run:
        yield run


def table(work, name):
    return pl.read_csv(work / f"results/preference/tables/{name}.csv")


def test_the_published_shape_trains_reward_models_that_learn_the_planted_preference(preference_run):
    work, _, _ = preference_run
    stats = dict(table(work, "pair_statistics").iter_rows())
    assert stats["pairs"] == 80 and stats["questions"] == 40 and stats["pairs_test"] > 0
    accuracy = {r["model"]: r for r in table(work, "reward_accuracy").iter_rows(named=True)}
    assert accuracy["tfidf"]["accuracy"] > 0.95 and accuracy["embedding+length"]["ci_low"] > 0.6
    assert accuracy["length"]["accuracy"] == 0.5
    claims = pl.read_csv(work / "results/preference/claims.csv")
    verdicts = dict(zip(claims["claim_id"], claims["verdict"], strict=True))
    assert verdicts["reward_model_beats_length"] == "reproduced"


def test_a_judge_that_reads_the_replies_agrees_with_the_preference_and_one_that_does_not_fails(preference_run):
    work, _, _ = preference_run
    agreement = table(work, "principle_agreement")
    total = {r["judge"]: r for r in agreement.filter(pl.col("principle") == "total").iter_rows(named=True)}
    assert total["served"]["agreement"] == 1.0 and total["served"]["pairs"] == 8
    assert total["served-null"]["ties"] == 8
    claims = pl.read_csv(work / "results/preference/claims.csv")
    verdicts = dict(zip(claims["claim_id"], claims["verdict"], strict=True))
    assert verdicts["principles_agree_with_upvotes[served]"] == "reproduced"
    assert verdicts["principles_agree_with_upvotes[served-null]"] != "reproduced"


def test_dpo_writes_an_adapter_the_tuned_policy_answers_with_and_position_bias_is_a_tie(preference_run):
    work, _, server = preference_run
    assert (work / "results/preference/adapter/adapter_model.safetensors").stat().st_size < 5_000_000
    log = table(work, "dpo_log")
    assert log["step"].to_list() == [1, 2]
    (entry,) = json.loads((work / "results/preference/llm/replies_dpo.json").read_text())
    assert entry["adapter"] == "results/preference/adapter" and entry["request_model"].startswith(
        "SmolLM2-135M-Instruct+lora:") and entry["unique"] == 3
    policy = table(work, "policy_comparison")
    win = policy.filter(pl.col("measure") == "judge win rate of dpo over base").row(0, named=True)
    assert win["estimate"] == 0.5 and "3 ties" in win["note"]
    claims = pl.read_csv(work / "results/preference/claims.csv")
    # a judge that follows the position gives only ties: below its task floor, so no verdict on DPO
    dpo = claims.filter(pl.col("claim_id") == "dpo_beats_base[served]").row(0, named=True)
    assert dpo["verdict"] == "not comparable" and dpo["task_floor"] == "below"
    assert "0 of 3 questions order-consistent" in dpo["note"]
    manifest = json.loads((work / "results/preference/manifest.json").read_text())
    assert "preference_pairs.jsonl" in json.dumps(manifest["inputs"])


def test_one_config_edit_reruns_only_its_jobs(preference_run):
    work, env, _ = preference_run
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"preference/dpo/steps": 3})
    assert by_params == {"train_preference_dpo": 1}
    assert not {"fit_preference_rewards", "judge_preference_principles", "build_preference_pairs"} & scheduled
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"preference/dpo/base": "served"})
    assert set(by_params) == {"generate_preference_replies"} and "train_preference_dpo" not in scheduled
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"preference/principles/max_chars": 650})
    assert set(by_params) == {"judge_preference_principles"} and "train_preference_dpo" not in scheduled
