"""The trauma study end to end with an OpenAI-compatible model (the local fake server) as therapist,
client and rater: a client that reports the SUDS its case planted, in words that carry its distress,
must be extracted as planted (beating the shuffled null) and predicted better than the mean; then the
same rules on a folder in the released file layout."""

import json
import re

import polars as pl
import pytest

from tests.conftest import rerun_plan, served_study_run, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGETS = ["results/trauma/manifest.json"]
DISTRESS = ["terrified", "shaking", "panic"]


def served(body):
    system = body["messages"][0]["content"]
    prompt = body["messages"][-1]["content"]
    if system.startswith("You read a therapy client's answer") or system.startswith("You rate how distressed"):
        # a rater that reads the distress words: k of them stand for SUDS 30k + 15
        k = sum(w.strip(".,()") in DISTRESS for w in prompt.split())
        return str(min(9, (30 * k + 15) // 10))
    if system.startswith("You are a client"):
        found = re.search(r"say your SUDS is (\d+) out of 100", system)
        if found:
            value = int(found.group(1))
            return f"My SUDS is {value}. I feel " + " ".join(DISTRESS[: value // 30] or ["calmer"]) + f" ({len(body['messages'])})."
        return f"I remember it clearly ({len(body['messages'])})."
    if "rate their distress" in system:
        return f"Please rate your distress on the SUDS scale from 0 to 100 ({len(body['messages'])})."
    return f"Stay with the memory; you're doing well. What do you notice? ({len(body['messages'])})"


@pytest.fixture(scope="module")
def trauma_run(tmp_path_factory):
    def small(config):
        config["claims"]["min_units"] = 4      # 6 generated cases, 4 released subjects
        study = config["trauma"]
        study.update(n_boot=200, phases=["P6", "P10"])
        study["generate"].update(cases=6, flat_cases=6, max_exchanges=4, counsellor="served", client="served")
        study["extraction"]["rater"] = "served"
        study["benchmark"].update(raters=["served"], n_splits=3)

    with served_study_run(tmp_path_factory, "trauma", served, small, TARGETS) as run:
        yield run


def table(work, name):
    return pl.read_csv(work / f"results/trauma/tables/{name}.csv")


def test_a_client_reporting_its_plan_is_extracted_as_planted_and_beats_the_null(trauma_run):
    work, _, _ = trauma_run
    rows = {r["measure"]: r for r in table(work, "extraction").iter_rows(named=True)}
    assert rows["status: number"]["value"] == 2 * 6 * 4 * 2           # planted and flat arcs
    assert rows["within 5 of planted: extracted"]["value"] == 1.0
    assert rows["within 5 of planted: shuffled planted (null)"]["value"] < 0.5
    claims = pl.read_csv(work / "results/trauma/claims.csv")
    verdicts = dict(zip(claims["claim_id"], claims["verdict"], strict=True))
    assert verdicts["extracted_suds_follow_the_plan"] == "planted recovered"
    # the planted decline is read back and the flat arcs are not called habituation
    assert verdicts["planted_habituation_recovered"] == "planted recovered"
    arc = {(r["scenario"], r["source"]): r for r in table(work, "arc_recovery").iter_rows(named=True)}
    assert arc["flat", "extracted"]["ci_low"] <= 0 <= arc["flat", "extracted"]["ci_high"]
    assert "sampled_marginals_match_published" not in verdicts   # a unit test of the sampler, not a claim
    floors = dict(zip(claims["claim_id"], claims["task_floor"], strict=True))
    assert floors["extracted_suds_follow_the_plan"] == "passed"


def test_words_that_carry_the_distress_predict_the_trajectory(trauma_run):
    work, _, _ = trauma_run
    overall = table(work, "benchmark").filter((pl.col("phase") == "all") & (pl.col("target") == "extracted"))
    rmse = {r["predictor"]: r for r in overall.filter(pl.col("metric") == "rmse").iter_rows(named=True)}
    assert rmse["distress lexicon"]["ci_high"] < rmse["training mean (baseline)"]["value"]
    assert rmse["rated by served"]["value"] < rmse["training mean (baseline)"]["value"]
    adherence = table(work, "adherence")
    monitoring = adherence.filter(pl.col("element") == "monitoring").row(0, named=True)
    assert monitoring["present"] == 1.0
    records = [json.loads(line) for line in (work / "results/trauma/transcripts/generated.jsonl").read_text().splitlines()]
    assert len(records) == 24 and all(any(t.get("cued") for t in r["turns"]) for r in records)
    assert {r["scenario"] for r in records} == {"planted", "flat"}


def test_one_config_edit_reruns_only_its_jobs(trauma_run):
    work, env, _ = trauma_run
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"trauma/benchmark/ridge_alpha": 3.0})
    assert by_params == {"predict_trauma_trajectories": 1}
    assert "generate_trauma_conversations" not in scheduled and "extract_trauma_trajectories" not in scheduled


def test_the_released_file_layout_runs_through_the_same_rules(trauma_run, tmp_path):
    work, env, _ = trauma_run
    folder = tmp_path / "released"
    (folder / "conversations").mkdir(parents=True)
    (folder / "metadata").mkdir()
    for case in range(4):
        for phase in ("P6", "P10"):
            (folder / "metadata" / f"{case + 1}_{phase}_metadata.json").write_text(json.dumps(
                {"client": {"age": 40 + case, "gender": "female", "trauma_type": "bullying", "behaviour": "nightmares"},
                 "therapist": {"age": 50, "gender": "male", "profile": "psychologist"}}))
            turns = []
            for value in (80 - 10 * case, 60 - 10 * case, 40 - 5 * case):
                turns += [{"speaker": "therapist", "text": "What is your SUDS now, 0 to 100?"},
                          {"speaker": "client", "text": f"It is {value}, I feel " + " ".join(DISTRESS[: value // 30])}]
            (folder / "conversations" / f"{case + 1}_{phase}_conversations.json").write_text(json.dumps(turns))
    config = work / "config/config.yaml"
    text = config.read_text()
    config.write_text(text.replace("published_dir: null", f"published_dir: {folder}"))
    try:
        snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *TARGETS)
        rows = {r["measure"]: r for r in table(work, "extraction").iter_rows(named=True)}
        assert rows["status: number"]["value"] == 4 * 2 * 3 and "within 5 of planted: extracted" not in rows
        habituation = table(work, "habituation").filter(pl.col("source") == "extracted")
        assert (habituation["mean_slope"] < 0).all()
        verdicts = dict(pl.read_csv(work / "results/trauma/claims.csv").select("claim_id", "verdict").iter_rows())
        assert verdicts["suds_habituates_released"] == "direction reproduced"
        assert verdicts["released_marginals_match_published"] == "not comparable"   # 4 subjects: too few to test shares
        manifest = json.loads((work / "results/trauma/manifest.json").read_text())
        assert "conversations/1_P6_conversations.json" in json.dumps(manifest["inputs"])
    finally:
        config.write_text(text)
