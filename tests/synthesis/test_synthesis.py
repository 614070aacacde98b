"""The synthesis study's library: posts and their errors, the topic map, defects and degradations,
the detection score against a random filter, and a killed run that resumes without resending."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import polars as pl
import pytest

from replisuite.dialogue.reasoning import resolve_knowledge
from replisuite.synthesis import analysis
from replisuite.synthesis.defects import DEGRADATIONS, degrade, plant, plantable
from replisuite.synthesis.posts import PostError, counselchat_answers, counselchat_posts, jsonl_posts, read_topic_map
from tests.conftest import REPO

KNOWLEDGE = resolve_knowledge("psyllm")


def counselchat(tmp_path, rows):
    path = tmp_path / "cc.csv"
    pl.DataFrame(rows).write_csv(path)
    return path


def question(qid, topic, text="I feel low."):
    return {"questionID": qid, "questionTitle": f"Title {qid}", "questionText": text, "topic": topic,
            "answerText": "answer"}


def test_posts_are_one_per_question_and_adding_a_topic_leaves_the_others_choice(tmp_path):
    rows = [question(i, "depression") for i in range(6)] + [question(i, "anxiety") for i in range(6, 12)]
    rows.append(question(0, "depression"))              # a second answer to question 0
    path = counselchat(tmp_path, rows)
    one = counselchat_posts(path, topics=["depression"], per_topic=3, seed=1)
    both = counselchat_posts(path, topics=["depression", "anxiety"], per_topic=3, seed=1)
    assert one.height == 3 and both.height == 6 and one["id"].n_unique() == 3
    assert set(one["id"]) <= set(both["id"]) and one["text"][0].startswith("Title ")
    with pytest.raises(PostError, match=r"no question has topic\(s\) \['grief'\]"):
        counselchat_posts(path, topics=["grief"], per_topic=1, seed=1)


@pytest.mark.parametrize(("content", "message"), [
    ('{"id": 1, "text": "fine"}\n{"id": 2}\n', r"posts.jsonl:2: missing field\(s\) \['text'\]"),
    ('{"id": 1, "text": "fine"}\nnot json\n', r"posts.jsonl:2: not JSON"),
    ('{"id": 1, "text": "a"}\n{"id": 1, "text": "b"}\n', r"post 2: duplicate id 1"),
    ('{"id": 1, "text": "  "}\n', r"post 1 \(id 1\): field 'text' must be a non-empty string"),
    ("", r"posts.jsonl: no posts"),
])
def test_a_bad_post_file_is_named_with_its_line_and_field(tmp_path, content, message):
    path = tmp_path / "posts.jsonl"
    path.write_text(content)
    with pytest.raises(PostError, match=message):
        jsonl_posts(path)


def test_a_bad_post_file_stops_the_job_before_any_output_or_request(tmp_path):
    from replisuite.synthesis.pipeline import synthesise

    posts = tmp_path / "posts.jsonl"
    posts.write_text('{"id": "a"}\n')
    out, provenance = tmp_path / "t.jsonl", tmp_path / "p.json"
    study = {"seed": 1, "posts": {"file": str(posts)}, "knowledge": "psyllm", "protocol": "psyllm_synthesis",
             "overrides": {"max_exchanges": 1}, "client": "m"}
    llm = {"store_dir": str(tmp_path / "llm"), "models": {"m": {"backend": "openai", "model": "x",
                                                              "base_url": "http://127.0.0.1:9/v1"}}}
    with pytest.raises(PostError, match="missing field"):
        synthesise(study, llm, "m", counselchat=None, out=str(out), provenance_out=str(provenance))
    assert not out.exists() and not provenance.exists() and not (tmp_path / "llm").exists()


def test_the_topic_map_names_known_conditions_only(tmp_path):
    shipped = read_topic_map(REPO / "config/synthesis/topic_conditions.yaml", conditions=[c.id for c in KNOWLEDGE.conditions])
    assert shipped["depression"] == "depression" and shipped["trauma"] == "ptsd" and "relationships" not in shipped
    path = tmp_path / "map.yaml"
    path.write_text("topics: {depression: melancholy}\n")
    with pytest.raises(PostError, match=r"unknown condition\(s\) \['melancholy'\]"):
        read_topic_map(path, conditions=["depression"])


def good(condition="major depressive disorder (ICD-11 6A70)"):
    return [{"role": "client", "text": "I feel empty.", "exchange": 1},
            {"role": "counsellor", "text": "Tell me more.", "exchange": 1, "reasoning_status": "closed",
             "reasoning": f"This points to {condition}. I will use cognitive behavioural therapy (CBT)."}]


def test_defects_leave_the_originals_alone_and_differ_from_them():
    dialogues = {"a": good(), "b": good("generalized anxiety disorder (ICD-11 6B00)"), "c": good("PTSD (ICD-11 6B40)")}
    before = json.dumps(dialogues, sort_keys=True)
    for defect in ("truncate_reasoning", "swap_reasoning", "strip_names", "shuffle_turns"):
        copies = plant(dialogues, defect, knowledge=KNOWLEDGE, seed=2)
        assert all(copies[f"{u}#{defect}"] != dialogues[u] for u in dialogues), defect
    assert json.dumps(dialogues, sort_keys=True) == before
    assert plant({"a": good()}, "swap_reasoning", knowledge=KNOWLEDGE, seed=2) == {}   # nobody to swap with
    assert not plantable([{"role": "counsellor", "text": "x", "reasoning_status": "missing"}]) and plantable(good())
    for kind, (_dimension, sentence) in DEGRADATIONS.items():
        degraded = degrade(good(), kind)
        assert sentence in degraded[1]["text"] and degraded[0] == good()[0]


def checks_of(drop, *, posts=30, seed=0):
    """Check rows of a filter whose drop probability is ``drop(version)``."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(posts):
        for version in ("original", "truncate_reasoning", "strip_names"):
            unit = f"p{i}" if version == "original" else f"p{i}#{version}"
            rows.append({"unit": unit, "filter": "filter", "check": "x", "kind": "rule", "failed": bool(rng.random() < drop(version)),
                         "status": "ok", "generator": "g", "source": f"p{i}", "version": version})
            rows.append({"unit": unit, "filter": "length rule", "check": "x", "kind": "baseline",
                         "failed": bool(rng.random() < 0.5), "status": "ok", "generator": "g", "source": f"p{i}",
                         "version": version})
    return pl.DataFrame(rows)


def test_the_detection_score_separates_a_working_filter_from_one_that_drops_at_random():
    working = analysis.filter_validation(checks_of(lambda v: 0.0 if v == "original" else 1.0), filter_name="filter",
                                         n_boot=300, seed=1)
    at_random = analysis.filter_validation(checks_of(lambda v: 0.5), filter_name="filter", n_boot=300, seed=1)
    difference = {name: frame.filter(pl.col("measure") == analysis.DIFFERENCE).row(0, named=True)
                  for name, frame in (("working", working), ("random", at_random))}
    assert difference["working"]["ci_low"] > 0.5 and difference["working"]["compared_with"] == "length rule"
    assert difference["random"]["ci_low"] < 0 < difference["random"]["ci_high"]
    detection = analysis.defect_detection(checks_of(lambda v: 0.0 if v == "original" else 1.0))
    untouched = detection.filter((pl.col("filter") == "filter") & (pl.col("version") == "untouched")).row(0, named=True)
    assert untouched["n"] == 30 and untouched["dropped"] == 0


KILLED = """
import sys
sys.path.insert(0, {src!r})
from replisuite.synthesis.pipeline import synthesise
synthesise({study!r}, {llm!r}, "served", counselchat=None, out={out!r}, provenance_out={provenance!r})
"""


def test_a_killed_run_resumes_sending_only_the_missing_requests(tmp_path):
    from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer
    from replisuite.synthesis.pipeline import synthesise

    posts = tmp_path / "posts.jsonl"
    posts.write_text("".join(json.dumps({"id": f"p{i}", "text": f"Post number {i}: I feel low."}) + "\n" for i in range(6)))
    study = {"seed": 1, "posts": {"file": str(posts)}, "knowledge": "psyllm", "protocol": "psyllm_synthesis",
             "overrides": {"max_exchanges": 1}, "client": "served"}
    out, provenance = str(tmp_path / "t.jsonl"), str(tmp_path / "p.json")
    child = {}

    def respond(body):
        if len(body["messages"]) < 2:
            return "ok"
        if "process" in child and server.counters.calls >= 3:
            child.pop("process").send_signal(signal.SIGKILL)
            time.sleep(0.5)
        return "<think>Low mood: major depressive disorder (ICD-11 6A70); CBT.</think> Tell me more."

    with FakeOpenAIServer(Behaviour(respond=respond)) as server:
        llm = {"store_dir": str(tmp_path / "llm"), "models": {"served": {
            "backend": "openai", "model": "fake", "base_url": server.base_url, "concurrency": 1}}}
        script = KILLED.format(src=str(REPO / "src"), study=study, llm=llm, out=out, provenance=provenance)
        child["process"] = subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path)
        deadline = time.time() + 60
        while "process" in child and time.time() < deadline:
            time.sleep(0.1)
        assert "process" not in child, "the run was never interrupted"
        assert not os.path.exists(out)
        before = sum(1 for prompt, count in server.counters.per_prompt.items() if "Post number" in prompt)
        synthesise(study, llm, "served", counselchat=None, out=out, provenance_out=provenance)
        asked = [prompt for prompt in server.counters.per_prompt if "Post number" in prompt]
    records = [json.loads(line) for line in open(out)]
    assert len(records) == 6 and all(r["turns"][1]["reasoning_status"] == "closed" for r in records)
    counts = [server.counters.per_prompt[p] for p in asked]
    # every post asked; none twice except the one whose answer was in flight when the run was killed
    assert 0 < before < 6 and len(asked) == 6 and sorted(counts)[:-1] == [1] * 5 and counts.count(2) <= 1, counts


def test_each_dialogue_records_which_checks_it_failed():
    checks = pl.DataFrame([
        {"unit": "a", "filter": "filter", "check": "ungrounded", "kind": "judge", "failed": True, "status": "ok",
         "generator": "g", "source": "a", "version": "original"},
        {"unit": "a", "filter": "filter", "check": "turns_alternate", "kind": "rule", "failed": True, "status": "ok",
         "generator": "g", "source": "a", "version": "original"},
        {"unit": "b", "filter": "filter", "check": "ungrounded", "kind": "judge", "failed": False, "status": "ok",
         "generator": "g", "source": "b", "version": "original"},
        {"unit": "b#strip_names", "filter": "filter", "check": "ungrounded", "kind": "judge", "failed": True,
         "status": "ok", "generator": "g", "source": "b", "version": "strip_names"},
    ])
    decided = {r["post"]: r for r in analysis.dialogue_decisions(checks).iter_rows(named=True)}
    assert decided["a"]["kept"] is False and decided["a"]["failed_checks"] == "turns_alternate;ungrounded"
    assert decided["b"]["kept"] is True and decided["b"]["failed_checks"] == ""   # its defective copy is not the dialogue


def test_the_human_reference_is_each_posts_top_voted_answer(tmp_path):
    rows = [{**question(1, "depression"), "answerText": "Short one.", "upvotes": 1},
            {**question(1, "depression"), "answerText": "The  top\nanswer.", "upvotes": 5},
            {**question(1, "depression"), "answerText": "Tied later.", "upvotes": 5},
            {**question(2, "anxiety"), "answerText": "Not asked for.", "upvotes": 9}]
    assert counselchat_answers(counselchat(tmp_path, rows), ["cc1", "cc3"]) == {"cc1": "The top answer."}


def test_the_benchmark_table_reports_the_human_reference_beside_kept_and_dropped():
    dimensions = ["comprehensiveness", "safety"]
    judgements, checks = [], []
    for i, (version, score) in enumerate([("original", 2), ("original", 0), ("human reference", 1), ("human reference", 1)]):
        post = f"p{i % 2}"
        unit = post if version == "original" else f"{post}#human"
        judgements += [{"unit": unit, "item": d, "repeat": 0, "score": score, "generator": "g", "source": post,
                        "version": version} for d in dimensions]
        if version == "original":
            checks.append({"unit": unit, "filter": "filter", "check": "x", "kind": "rule", "failed": score == 0,
                           "status": "ok", "generator": "g", "source": post, "version": version})
    table = analysis.benchmark_scores(pl.DataFrame(judgements), pl.DataFrame(checks), dimensions=dimensions, n_boot=50,
                                      seed=1)
    total = {r["group"]: r for r in table.filter(pl.col("dimension") == "total").iter_rows(named=True)}
    assert total["kept"]["mean"] == 4 and total["dropped"]["mean"] == 0 and total["human reference"]["mean"] == 2
    assert total["human reference"]["dialogues"] == 2 and total["kept - dropped"]["mean"] == 4
