"""The filter's rule checks, each on the planted defect it exists to catch, and the judge's issues as checks."""

import polars as pl

from replisuite.dialogue.reasoning import resolve_knowledge
from replisuite.judge.filtering import decisions, judge_rows, keyword_rule, length_rule, rule_checks, rule_rows
from replisuite.synthesis.defects import plant

KNOWLEDGE = resolve_knowledge("psyllm")


def dialogue(condition="major depressive disorder (ICD-11 6A70)", framework="cognitive behavioural therapy (CBT)"):
    return [
        {"role": "client", "text": "I feel empty every day.", "exchange": 1},
        {"role": "counsellor", "text": "That sounds heavy. What is a usual day like?", "exchange": 1,
         "reasoning": f"Empty mood every day points to {condition}. I will use {framework}.", "reasoning_status": "closed"},
        {"role": "client", "text": "I stay in bed.", "exchange": 2},
        {"role": "counsellor", "text": "Let us plan one small thing for tomorrow.", "exchange": 2,
         "reasoning": f"Still {condition}; {framework} with small steps.", "reasoning_status": "closed"},
    ]


def failed(turns):
    return {check for check, value in rule_checks(turns, knowledge=KNOWLEDGE).items() if value}


def test_a_sound_dialogue_passes_every_rule_check():
    assert failed(dialogue()) == set()


def test_each_rule_check_catches_the_defect_it_exists_for():
    dialogues = {"a": dialogue(), "b": dialogue("generalized anxiety disorder (ICD-11 6B00)", "ACT")}
    expected = {"truncate_reasoning": {"reasoning_ends_a_sentence"}, "strip_names": {"names_condition_and_framework"},
                "shuffle_turns": {"turns_alternate"}, "swap_reasoning": set()}  # a swap is for the judge to see
    for defect, checks in expected.items():
        copies = plant(dialogues, defect, knowledge=KNOWLEDGE, seed=3)
        assert set(copies) == {f"a#{defect}", f"b#{defect}"}
        for turns in copies.values():
            assert checks <= failed(turns) and (checks or not failed(turns)), defect
    swapped = plant(dialogues, "swap_reasoning", knowledge=KNOWLEDGE, seed=3)
    assert "6B00" in swapped["a#swap_reasoning"][1]["reasoning"] and dialogues["a"][1]["reasoning"].count("6A70") == 1


def test_unclosed_reasoning_and_filler_replies_fail_their_checks():
    turns = dialogue()
    turns[1] = {**turns[1], "reasoning_status": "unclosed", "text": "...", "filler": True}
    assert failed(turns) == {"reasoning_closed", "no_empty_reply"}
    assert failed([{"role": "client", "text": "hi", "exchange": 1}]) >= {"reasoning_closed"}


def test_an_issue_the_judge_could_not_score_drops_the_dialogue():
    judgements = pl.DataFrame({"unit": ["a", "a", "b", "b"], "item": ["ungrounded", "incoherent_dialogue"] * 2,
                               "repeat": [0] * 4, "score": [0, 0, 0, None], "status": ["ok", "ok", "ok", "unparseable"]})
    rows = judge_rows(judgements)
    decided = {r["unit"]: r for r in decisions(rows).iter_rows(named=True)}
    assert not decided["a"]["dropped"] and decided["b"]["dropped"] and decided["b"]["failed_checks"] == "incoherent_dialogue"


def test_the_trivial_filters_look_at_length_and_keywords_only():
    dialogues = {"long": dialogue(), "short": [{"role": "client", "text": "hi", "exchange": 1},
                                               {"role": "counsellor", "text": "ok", "exchange": 1}]}
    by_length = {r["unit"]: r["failed"] for r in length_rule(dialogues, min_words=20).iter_rows(named=True)}
    by_keyword = {r["unit"]: r["failed"] for r in keyword_rule(dialogues, keywords=["therapy"]).iter_rows(named=True)}
    assert by_length == {"long": False, "short": True} and by_keyword == {"long": False, "short": True}
    assert rule_rows(dialogues, knowledge=KNOWLEDGE).height == 2 * 5
