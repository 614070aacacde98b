"""The synthesis study end to end on real CounselChat posts, with OpenAI-compatible models served by
the local fake server: a planted generator that reasons from the post's symptoms to a condition (and
leaves an eighth of its reasoning unclosed, as a model that runs out of tokens does), a planted
judge that reads the reasoning, and a random generator. The planted generator's claims come out
positive; the random one's must not, judged by the same judge.
"""

import json
import random
import re
import zlib

import polars as pl
import pytest

from tests.conftest import rerun_plan, served_study_run, snakemake

pytestmark = [pytest.mark.workflow, pytest.mark.slow]
TARGETS = ["results/synthesis/manifest.json"]
# symptoms -> (condition name, ICD-11 code), checked in this order: a planted model that reasons
# from what a post describes, not only from a condition's name
SYMPTOMS = [
    (r"passed away|\bdied\b|\blost my (?:mom|mother|dad|father|grandpa|grandma|wife|husband)|funeral|\bgrie", "prolonged grief disorder", "6B42"),
    (r"addict|alcohol|drink|drug|smok|marijuana|weed", "disorder due to substance use", "6C4"),
    (r"trauma|abus|molest|rape|violent|assault|nightmare", "post-traumatic stress disorder", "6B40"),
    (r"depress|empty|hopeless|alone|sad", "major depressive disorder", "6A70"),
    (r"anxi|worr|nervous|fear|freak|panic", "generalized anxiety disorder", "6B00"),
]
WORDS = "river lamp seven quiet orange table window cloud paper stone green music".split()


def condition_of(text):
    return next(((name, code) for pattern, name, code in SYMPTOMS if re.search(pattern, text, re.IGNORECASE)),
                ("generalized anxiety disorder", "6B00"))


def planted_generator(messages):
    post, exchange = messages[1]["content"], len(messages) // 2
    name, code = condition_of(post)
    reasoning = (f"The person describes what points to {name} (ICD-11 {code}). I will use cognitive behavioural "
                 "therapy (CBT) to look at the thoughts that keep it going.")
    if exchange == 1 and zlib.crc32(post.encode()) % 8 == 0:     # ran out of tokens inside the reasoning
        return f"<think>{reasoning} Next I would"
    if exchange == 1:
        return (f"<think>{reasoning}</think> Thank you for telling me this. It sounds hard, and it makes sense that "
                "you feel this way. Could you tell me what goes through your mind when it is at its worst, and what "
                "you have tried so far? We can take it one step at a time.")
    return (f"<think>{reasoning} Now I build on what they tried.</think> It took courage to reach out to friends. When "
            "it comes back, notice the first thought you have and write it down; next time we can look at it together, "
            "one step at a time.")


def random_text(body, words):
    rng = random.Random(json.dumps(body["messages"]))
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return f"<think>{text}.</think> {text}" if rng.random() < 0.5 else text


def filter_judge(prompt):
    """Reads the dialogue as the four issues ask: 1 where an issue is present."""
    dialogue = prompt.split(":\n\n", 1)[1].split("\n\nRate it on these items:")[0]
    lines = dialogue.splitlines()
    reasoning = [line.split(": ", 1)[1] for line in lines if line.startswith("Counsellor (reasoning):")]
    client = " ".join(line.split(": ", 1)[1] for line in lines if line.startswith("Client:"))
    expected = condition_of(client)[0]
    issues = {
        "incomplete_reasoning": any(not r.rstrip().endswith(".") for r in reasoning),
        "incoherent_dialogue": not lines or not lines[0].startswith("Client:"),
        "reasoning_reply_mismatch": any(expected not in r for r in reasoning),
        "ungrounded": any("ICD-11" not in r or "CBT" not in r for r in reasoning),
    }
    return json.dumps({key: {"score": int(value), "rationale": "read"} for key, value in issues.items()})


def benchmark_judge(prompt):
    dialogue = prompt.split(":\n\n", 1)[1].split("\n\nRate it on these items:")[0]
    turns = [line.split(": ", 1)[1] for line in dialogue.splitlines() if line.startswith("Counsellor:")]
    replies, words = " ".join(turns), min((len(turn.split()) for turn in turns), default=0)  # the thinnest reply
    unsafe = re.search(r"your manager|stop taking|stay awake", replies, re.IGNORECASE) is not None
    return json.dumps({"comprehensiveness": 2 if words >= 25 else 1 if words >= 8 else 0,
                       "professionalism": 3 if "step at a time" in replies else 1, "authenticity": 2,
                       "safety": 0 if unsafe else 1})


def served(body):
    messages = body["messages"]
    if len(messages) < 2:   # the client's check of how the server treats seeds
        return "ok"
    system, last = messages[0]["content"], messages[-1]["content"]
    if "synthesised counselling dialogue" in last:
        return filter_judge(last) if "could not be used" not in last else '{"incomplete_reasoning": 0}'
    if "The counselling dialogue:" in last:
        return benchmark_judge(last)
    if system.startswith("You are the person who wrote this post"):
        return "I have tried to talk to friends, but it keeps coming back."
    if body["model"] == "fake-random":
        return random_text(body, 30)
    return planted_generator(messages)


@pytest.fixture(scope="module")
def synthesis_run(tmp_path_factory):
    def small(config):
        served_entry = config["llm"]["models"]["served"]
        config["llm"]["models"]["random"] = {**served_entry, "model": "fake-random", "label": "random responder (fake server)"}
        config["synthesis"].update(generators=["served", "random"], client="served", judge="served", judge_method={},
                                   n_boot=200, overrides={"max_exchanges": 2, "max_tokens": 128})
        config["synthesis"]["posts"]["per_topic"] = 8

    with served_study_run(tmp_path_factory, "synthesis", served, small, TARGETS) as run:
        yield run


def claims(work):
    return {row["claim_id"]: row for row in pl.read_csv(work / "results/synthesis/claims.csv").iter_rows(named=True)}


def test_the_planted_generator_and_judge_make_every_claim_positive(synthesis_run):
    work, _, _ = synthesis_run
    found = claims(work)
    assert found["filter_catches_planted_defects_served"]["verdict"] == "planted recovered"
    assert found["reasoning_names_post_condition_served"]["verdict"] == "reproduced"
    assert found["filter_keeps_better_dialogues_served"]["verdict"] == "reproduced"
    assert {found[c]["task_floor"] for c in ("filter_catches_planted_defects_served",
                                             "filter_keeps_better_dialogues_served")} == {"passed"}
    benchmark = pl.read_csv(work / "results/synthesis/tables/benchmark.csv")
    reference = benchmark.filter((pl.col("group") == "human reference") & (pl.col("dimension") == "total"))
    assert sorted(reference["generator"]) == ["random", "served"] and set(reference["dialogues"]) == {40}
    validation = pl.read_csv(work / "results/synthesis/tables/filter_validation.csv")
    served_scores = validation.filter((pl.col("generator") == "served") & (pl.col("measure") == "detection score"))
    scores = dict(zip(served_scores["filter"], served_scores["value"], strict=True))
    assert scores["filter"] > 0.8 and scores["filter"] > max(scores["length rule"], scores["keyword rule"]) + 0.3


def test_the_random_responder_makes_no_claim_positive(synthesis_run):
    work, _, _ = synthesis_run
    found = {k: v for k, v in claims(work).items() if k.endswith("_random")}
    assert len(found) == 3
    assert not [k for k, v in found.items() if v["verdict"] in ("reproduced", "planted recovered")], found


def test_transcripts_keep_reasoning_and_reply_apart_and_count_unclosed_parts(synthesis_run):
    work, _, _ = synthesis_run
    records = [json.loads(line) for line in (work / "results/synthesis/transcripts/served.jsonl").read_text().splitlines()]
    assert len(records) == 40 and {r["topic"] for r in records} == {"anxiety", "depression", "grief-and-loss",
                                                                    "substance-abuse", "trauma"}
    questions = pl.read_csv(next((work / "data/raw").rglob("*counsel_chat.csv")), infer_schema_length=None)
    for record in records[:5]:                          # the post, as CounselChat has it, opens each dialogue
        row = questions.filter(pl.col("questionID") == int(record["profile_id"].removeprefix("cc"))).row(0, named=True)
        opening = record["turns"][0]
        assert opening["role"] == "client" and opening["request_key"] is None
        assert opening["text"] == " ".join(f"{row['questionTitle']} {row['questionText']}".split())
    counsellor = [t for r in records for t in r["turns"] if t["role"] == "counsellor"]
    assert all("<think>" not in t["text"] and "</think>" not in t["text"] for t in counsellor)
    statuses = {t["reasoning_status"] for t in counsellor}
    assert statuses == {"closed", "unclosed"}
    generation = pl.read_csv(work / "results/synthesis/tables/generation.csv")
    served_row = generation.filter(pl.col("generator") == "served").row(0, named=True)
    assert served_row["unclosed"] == sum(t["reasoning_status"] == "unclosed" for t in counsellor) > 0


def test_rerun_sends_nothing_and_one_key_reruns_only_its_jobs(synthesis_run):
    work, env, server = synthesis_run
    calls = server.counters.calls
    again = snakemake(work, env, "--cores", "2", "--profile", "workflow/profiles/default", *TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr and server.counters.calls == calls
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"synthesis/floor_dialogues": 3})
    assert by_params == {"benchmark_synthesised": 2} and not {"synthesise_dialogues", "filter_synthesised"} & scheduled
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"synthesis/n_boot": 300})
    assert by_params == {"summarise_synthesis": 1} and "filter_synthesised" not in scheduled
    by_params, scheduled = rerun_plan(work, env, TARGETS, {"synthesis/defects": ["strip_names"]})
    assert by_params == {"filter_synthesised": 2} and "synthesise_dialogues" not in scheduled
    manifest = json.loads((work / "results/synthesis/manifest.json").read_text())
    assert {e["entry"] for e in manifest["llm"]} >= {"served", "random"}
