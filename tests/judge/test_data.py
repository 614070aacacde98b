"""The judge study's inputs: stratified samples by name-derived seeds, arena questions, bad files named."""

import polars as pl
import pytest

from replisuite.judge.data import arena_questions, stratified_sample
from replisuite.topics.data import CounselChatError


def test_a_units_place_in_the_sample_does_not_depend_on_the_others():
    table = pl.DataFrame({"unit": [f"s{i}" for i in range(40)], "label": ["high", "low"] * 20,
                          "turns": 10, "counsellor_words": 100})
    sample = stratified_sample(table, per_label=5, seed=3)
    assert sample.group_by("label").len().sort("label")["len"].to_list() == [5, 5]
    fewer = stratified_sample(table.filter(~pl.col("unit").is_in(["s0", "s1"]) | pl.col("unit").is_in(sample["unit"].to_list())),
                              per_label=5, seed=3)
    assert fewer["unit"].to_list() == sample["unit"].to_list()  # dropping unsampled units changes nothing
    assert stratified_sample(table, per_label=None, seed=3).height == 40
    assert stratified_sample(table, per_label=5, seed=4)["unit"].to_list() != sample["unit"].to_list()


def test_arena_questions_take_the_most_and_least_upvoted_answers(tmp_path):
    rows = [(1, "Q1", "text one", "a great answer", 5), (1, "Q1", "text one", "a weak answer", 0),
            (1, "Q1", "text one", "a middling answer", 2), (2, "Q2", "text two", "tied one", 1), (2, "Q2", "text two", "tied two", 1),
            (3, "Q3", "text three", "only answer", 4)]
    path = tmp_path / "cc.csv"
    pl.DataFrame(rows, schema=["questionID", "questionTitle", "questionText", "answerText", "upvotes"], orient="row").write_csv(path)
    contexts, replies = arena_questions(path, questions=5, max_chars=8, seed=1)
    assert list(contexts) == ["q1"] and contexts["q1"] == "Q1. text one"  # ties and single answers are not eligible
    assert replies["reply"].to_list() == ["human_top", "human_other"] and replies["upvotes"].to_list() == [5, 0]
    assert replies["text"].to_list() == ["a great ", "a weak a"]  # cut to max_chars
    pl.DataFrame({"questionID": [1]}).write_csv(path)
    with pytest.raises(CounselChatError, match=r"cc.csv: missing column\(s\) \['questionTitle'"):
        arena_questions(path, questions=1, max_chars=10, seed=1)
