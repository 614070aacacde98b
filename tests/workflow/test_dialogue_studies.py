"""The roleplay and reconstruct studies end to end with an OpenAI-compatible model (the local fake
server) in every role: a planted client that speaks from its profile must be identified and its
questionnaires recovered above the baselines; the check must fail for a client that ignores it."""

import json
import re

import polars as pl
import pytest
import yaml

from replisuite.instruments import shipped
from tests.conftest import rerun_plan, served_study_run, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGETS = ["results/roleplay/manifest.json", "results/reconstruct/manifest.json"]
# a planted rater aims at the middle of the band the transcript names (item i of n gets its share)
DEPRESSION = {"minimal": 6, "mild": 16, "moderate": 24, "severe": 46}
ANXIETY = {"none": 3, "mild": 11, "moderate": 19, "severe": 35}
INSTRUMENTS = {"bdi2": shipped()["bdi2_topics"], "hama": shipped()["hama"]}


def planted_value(target, item_text, instrument):
    texts = [item.text for item in instrument.items]
    index, n = texts.index(item_text), len(texts)
    return target // n + (1 if index < target % n else 0)


def context(messages):
    """A mark of the whole context, so that a later session (whose turn counts restart) never
    repeats an earlier reply word for word, as no competent model would."""
    return sum(len(m["content"]) for m in messages)


def served(body):
    messages = body["messages"]
    system, prompt = messages[0]["content"], messages[-1]["content"]
    if system.startswith("You are a clinician"):
        anxiety_item = "4 = very severe" in prompt
        found = re.findall(r"(\w+) depressive symptoms and (\w+) anxiety", prompt)
        if not found:
            return "0"
        depression, anxiety = found[-1]
        item_text = re.search(r"\nItem: (.*)\nOptions:", prompt).group(1)
        if anxiety_item:
            return str(planted_value(ANXIETY[anxiety], item_text, INSTRUMENTS["hama"]))
        return str(planted_value(DEPRESSION[depression], item_text, INSTRUMENTS["bdi2"]))
    if system.startswith("Summarise"):
        return "We talked about the main concern."
    if system.startswith("Rewrite"):
        return prompt
    if system.startswith("You are a client"):
        situation = re.search(r"(?:situation|profile): (.*?) (?:Speak|Answer|What happened)", system).group(1)
        return f"{situation} (turn {len(messages)}, {context(messages)})"
    if "Rate it on these items" in prompt:
        items = re.findall(r'^- "([a-z_]+)": .*? integer from (\d+) to (\d+)', prompt, flags=re.MULTILINE)
        asks = prompt.count("?")
        return json.dumps({item: {"score": min(int(high), int(low) + asks // 4), "rationale": "questions"}
                           for item, low, high in items})
    return f"What would you like to change about that, thinking of point {len(messages)} ({context(messages)})?"


@pytest.fixture(scope="module")
def dialogue_run(tmp_path_factory):
    def small(config):
        roleplay = config["roleplay"]
        roleplay["profiles"]["n"] = 8
        roleplay["pairs"] = [{"counsellor": "served", "client": "served"}]
        roleplay["recovery"].update(raters=["served"], method={})
        roleplay["n_boot"] = 200
        config["reconstruct"].update(counsellors=["served"], n_boot=200)
        config["reconstruct"]["judge"].update(judges=["served"], method={"served": "json"})

    with served_study_run(tmp_path_factory, "dialogue", served, small, TARGETS) as run:
        yield run


def table(work, study, name):
    return pl.read_csv(work / f"results/{study}/tables/{name}.csv")


def test_a_client_speaking_from_its_profile_is_identified_and_its_questionnaires_recovered(dialogue_run):
    work, _, _ = dialogue_run
    ident = table(work, "roleplay", "identifiability")
    true = ident.filter((pl.col("pairing") == "true") & (pl.col("k") == 1))
    assert set(true["protocol"]) == {"interactive_agents", "sqpsych", "psycheval"}
    assert (true["accuracy"] >= 0.75).all() and (true["chance"] == 1 / 8).all()
    recovery = table(work, "roleplay", "recovery")
    true, shuffled = (recovery.filter(pl.col("pairing") == p).sort("protocol", "instrument") for p in ("true", "shuffled"))
    # the planted rater reads the bands the client quotes: every band right, totals at the band's middle
    assert (true["band_accuracy"] == 1).all() and (true["pearson_r"] > 0.8).all()
    assert (true["mae"] < true["mae_mean_guess"]).all() and (true["mae"] < shuffled["mae"]).all()
    claims = pl.read_csv(work / "results/roleplay/claims.csv")
    assert set(claims.filter(pl.col("claim_id").str.starts_with("identifiable"))["verdict"]) == {"reproduced"}
    assert set(claims.filter(pl.col("claim_id").str.starts_with("identifiable"))["task_floor"]) == {"passed"}
    table1 = dict(claims.filter(pl.col("claim_id").str.starts_with("psycheval_table1")).select("claim_id", "verdict").iter_rows())
    # turns defined before comparing (utterances / 2 = 26.4) differ from the published 25.9; the client
    # utterances per session (25.88), shown beside it, would match, but choosing by the match cannot fail
    assert table1 == {"psycheval_table1_integrative_cases": "reproduced", "psycheval_table1_integrative_avg_sessions": "reproduced",
                      "psycheval_table1_integrative_avg_turns_per_session": "not reproduced",
                      "psycheval_table1_integrative_max_sessions": "reproduced"}


def test_transcripts_follow_each_protocol_and_every_turn_names_its_request(dialogue_run):
    work, _, _ = dialogue_run
    stats = table(work, "roleplay", "conversations")
    by_protocol = {p: g for (p,), g in stats.group_by("protocol")}
    assert set(by_protocol["interactive_agents"]["exchanges"]) == {3}
    assert set(by_protocol["psycheval"]["sessions"]) == {2}
    for line in (work / "results/roleplay/transcripts/sqpsych/served__served.jsonl").read_text().splitlines():
        record = json.loads(line)
        assert record["turns"][0]["role"] == "counsellor" and record["models"] == {"counsellor": "served", "client": "served"}
        assert all(len(turn["request_key"]) == 64 for turn in record["turns"])
    manifest = json.loads((work / "results/roleplay/manifest.json").read_text())
    assert {e["backend"] for e in manifest["llm"]} == {"openai"}
    for figure in ("dialogue", "identifiability", "recovery"):
        assert (work / f"results/roleplay/figures/{figure}.png").stat().st_size > 3000


def test_reconstructed_sessions_are_compared_with_their_originals(dialogue_run):
    work, _, _ = dialogue_run
    comparison = table(work, "reconstruct", "comparison")
    question = comparison.filter((pl.col("measure") == "question_rate") & (pl.col("label") == "all")).row(0, named=True)
    # the served counsellor only asks questions: more than the real counsellors, by a clear margin
    assert question["sessions"] == 4 and question["reconstructed"] > 0.8 and question["ci_low"] > 0
    assert set(comparison["label"]) == {"all", "high", "low"}
    assert any(m.startswith("ctrs_total") for m in comparison["measure"])
    validation = table(work, "reconstruct", "classifier_validation").row(0, named=True)
    assert validation["ci_low"] > validation["majority_baseline"]
    originals = [json.loads(line) for line in (work / "results/reconstruct/transcripts/original.jsonl").read_text().splitlines()]
    rebuilt = {json.loads(line)["profile_id"]: json.loads(line)
               for line in (work / "results/reconstruct/transcripts/served.jsonl").read_text().splitlines()}
    for original in originals:
        mine = rebuilt[original["profile_id"]]
        assert [t["text"] for t in mine["turns"] if t["role"] == "client"] == \
            [t["text"] for t in original["turns"] if t["role"] == "client"]


def test_rerun_sends_nothing_and_one_key_reruns_only_its_jobs(dialogue_run):
    work, env, server = dialogue_run
    calls = server.counters.calls
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr and server.counters.calls == calls
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"roleplay/protocols/sqpsych/overrides/max_exchanges": 4})
    assert by_params == {"simulate_roleplay": 1} and "prepare_roleplay_profiles" not in scheduled
    by_params, _ = rerun_plan(work, env, TARGETS, {"roleplay/recovery/max_chars": 900})
    assert by_params == {"recover_roleplay_questionnaires": 1}
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"reconstruct/judge/max_chars": 900})
    assert by_params == {"judge_reconstructed_sessions": 1} and "reconstruct_sessions" not in scheduled


def test_a_released_sqpsychconv_export_is_measured_beside_our_runs(dialogue_run, tmp_path):
    """roleplay.reference.sqpsychconv names a corpus file in the released shape: one more job puts its
    dialogue measures beside our SQPsych runs, and nothing else reruns."""
    work, env, server = dialogue_run
    corpus = tmp_path / "sqpsychconv_qwq.csv"
    pl.DataFrame({"file_id": ["d1", "d2", "d3"], "condition": ["mdd", "control", "mdd"],
                  "client_model": "qwq", "therapist_model": "qwq",
                  "dialogue": ["Therapist: Hello.\nClient: I feel low.\nTherapist: Tell me more. [/END]",
                               "Therapist: Hi.\nClient: I am fine.",
                               "Therapist: Welcome.\nClient: I cannot sleep.\nTherapist: Since when?\nClient: Weeks."]}
                 ).write_csv(corpus)
    config = work / "config/config.yaml"
    text = config.read_text()
    edited = yaml.safe_load(text)
    edited["roleplay"]["reference"]["sqpsychconv"] = str(corpus)
    config.write_text(yaml.safe_dump(edited, sort_keys=False))
    try:
        calls = server.counters.calls
        snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *TARGETS)
        assert server.counters.calls == calls
        reference = pl.read_csv(work / "results/roleplay/tables/reference_dialogue.csv")
        turns = {r["source"]: r["mean"] for r in reference.filter(pl.col("measure") == "turns").iter_rows(named=True)}
        assert turns["SQPsychConv (released)"] == 3.0 and "replisuite run" in turns
        manifest = json.loads((work / "results/roleplay/manifest.json").read_text())
        assert "sqpsychconv_qwq.csv" in json.dumps(manifest["inputs"])
    finally:
        config.write_text(text)
