import json
import math

import polars as pl
import pytest

from replisuite.llm import Message
from replisuite.stigma.coding import agreement, parse_option, stigma_code
from replisuite.stigma.interjections import (
    interjection_messages,
    interjection_stimuli,
    is_appropriate,
    judge_answer,
    judge_messages,
    shuffled_options,
    turns,
)
from replisuite.stigma.stimuli import (
    Protocol,
    StimulusError,
    check_against_published,
    stigma_messages,
    stigma_prompt,
    stigma_stimuli,
)

LIKELY = ["Not at all likely", "Not very likely", "Somewhat likely", "Very likely", "Do not know"]
WILLING = ["Definitely unwilling", "Probably unwilling", "Probably willing", "Definitely willing", "Do not know"]
PROTOCOL = Protocol(
    stigma_instruction="Answer with a letter.", stigma_few_shot=(Message("user", "Q?"), Message("assistant", "A")),
    steel_man="You are an expert therapist.\n", character_limit="Be brief.", character_limit_chars=20,
    judge_instruction="Write only the option letter.",
)


@pytest.mark.parametrize(
    "text, expected",
    [("D", "Very likely"), (" A", "Not at all likely"), ("  C. Somewhat likely.\n\nBecause", "Somewhat likely"),
     ("  B: Not very likely", "Not very likely"), ("(D)", "Very likely"), ("  (A) Not", "Not at all likely"),
     ("E", "Do not know"), ("  I cannot answer", None), ("A person like John", None), ("", None), (None, None),
     ("F", None)],
)
def test_parse_option(text, expected):
    assert parse_option(text, LIKELY) == expected


def test_agreement_and_stigma_codes():
    assert agreement("Very likely", LIKELY) == 1.0 and agreement("Not very likely", LIKELY) == 0.0
    assert math.isnan(agreement("Do not know", LIKELY)) and math.isnan(agreement(None, LIKELY))
    directions = {"violent?": "likely", "friend?": "unwilling"}
    assert stigma_code("violent?", agreement("Somewhat likely", LIKELY), directions) == 1.0
    assert stigma_code("friend?", agreement("Probably unwilling", WILLING), directions) == 1.0
    assert stigma_code("friend?", agreement("Definitely willing", WILLING), directions) == 0.0
    assert math.isnan(stigma_code("cause?", 1.0, directions))
    assert math.isnan(stigma_code("friend?", math.nan, directions))


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_stimuli_are_vignette_major_and_prompts_are_exact(tmp_path):
    vignettes = write_jsonl(tmp_path / "v.jsonl", [
        {"condition": c, "race": "White", "gender": "man", "education": "college", "vignette": f"John {c}."}
        for c in ("depression", "schizophrenia")
    ])
    questions = write_jsonl(tmp_path / "q.jsonl", [
        {"question": f"Q{i}?\n- (A): a", "question_only": f"Q{i}?", "options": LIKELY} for i in range(3)
    ])
    stimuli = stigma_stimuli(vignettes, questions)
    assert stimuli.height == 6 and stimuli["item"].to_list() == list(range(6))
    assert stimuli["prompt"][4] == "Vignette:\nJohn schizophrenia.\n\nQ1?\n- (A): a" == stigma_prompt("John schizophrenia.", "Q1?\n- (A): a")
    check_against_published(stimuli, set(stimuli["prompt"]), source="p")
    with pytest.raises(StimulusError, match="1 generated prompt"):
        check_against_published(stimuli, set(stimuli["prompt"][1:]), source="p")


def test_missing_field_is_named_with_file_and_line(tmp_path):
    vignettes = write_jsonl(tmp_path / "v.jsonl", [{"condition": "x", "race": "y", "gender": "z", "education": "e", "vignette": "v"},
                                                    {"condition": "x", "race": "y"}])
    questions = write_jsonl(tmp_path / "q.jsonl", [{"question": "q", "question_only": "q", "options": LIKELY}])
    with pytest.raises(StimulusError, match=r"v.jsonl:2: missing field\(s\) \['gender', 'education', 'vignette'\]"):
        stigma_stimuli(vignettes, questions)


def test_stigma_messages_follow_the_protocol():
    plain = stigma_messages("P", steel_man=False, protocol=PROTOCOL)
    steel = stigma_messages("P", steel_man=True, protocol=PROTOCOL)
    assert [m.role for m in plain] == ["system", "user", "assistant", "user"]
    assert plain[0].content == "Answer with a letter." and plain[-1].content == "P"
    assert steel[0].content == "You are an expert therapist.\n\nAnswer with a letter."


def test_interjection_turns_and_messages():
    assert turns("Hello") == ["Hello"]
    assert turns(["a", "b", "c"]) == ["a", "b", "c"]
    assert turns("['a', \"b's\", 'c']") == ["a", "b's", "c"]
    messages = interjection_messages(["a", "b", "c"], steel_man=True, protocol=PROTOCOL)
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[0].content == "You are an expert therapist.\nBe brief."
    assert interjection_messages(["a"], steel_man=False, protocol=PROTOCOL)[0].content == "Be brief."


def test_judge_prompt_format_and_verdicts():
    [message] = judge_messages(question="Does it list bridges?", options=["no", "yes"], query="Bridges?", response="No.", protocol=PROTOCOL)
    assert message.content == (
        "Write only the option letter.\n\nDoes it list bridges?\n- (A): no\n- (B): yes\n\n"
        "Query: Bridges?\nResponse: ```\nNo.\n```"
    )
    assert judge_answer("no", ["yes", "no"]) == "no" and judge_answer("B", ["yes", "no"]) == "no"
    assert judge_answer("(A)", ["yes", "no"]) == "yes" and judge_answer("maybe", ["yes", "no"]) is None
    assert is_appropriate("no", "no") and not is_appropriate(None, "no") and not is_appropriate("yes", "no")
    assert shuffled_options(["no", "yes"], seed=1, key="k") == shuffled_options(["no", "yes"], seed=1, key="k")
    orders = {tuple(shuffled_options(["no", "yes"], seed=1, key=str(k))) for k in range(20)}
    assert orders == {("no", "yes"), ("yes", "no")}


def test_interjection_stimuli_are_distinct_and_consistent():
    record = {"key": "1_mania_jump_0", "condition": "mania", "interjection": "I can fly.",
              "verification_prompt": "Jump?", "verification_options": ["yes", "no"], "verification_correct": "no"}
    other = {**record, "key": "2_mania_jump_50", "verification_options": ["no", "yes"]}
    frame = interjection_stimuli([record, other])
    assert frame.height == 1 and frame["options"].to_list() == [["no", "yes"]] and frame["turns"].to_list() == [["I can fly."]]
    with pytest.raises(StimulusError, match="differs"):
        interjection_stimuli([record, {**record, "key": "3_mania_jump_0", "verification_correct": "yes"}])


def test_published_check_writes_its_table_and_the_differing_rows_then_fails(tmp_path):
    from replisuite.stigma.pipeline import write_published_check

    check = pl.DataFrame({"model": ["a", "b", "c"], "published_rate": [0.5, 0.25, 0.75], "our_rate": [0.5, 0.5, None],
                          "equal": [True, False, False]})
    table, differences = tmp_path / "check.csv", tmp_path / "logs" / "differences.csv"
    with pytest.raises(ValueError, match=r"appropriateness rates .* differ .*1 differing rows in .*differences.csv"):
        write_published_check(check, strict=False, what="appropriateness rates", table_out=str(table),
                              differences_out=str(differences))
    assert pl.read_csv(table).height == 3
    assert pl.read_csv(differences)["model"].to_list() == ["b"]  # c was not reproduced: only strict counts it
    with pytest.raises(ValueError, match="2 differing rows"):
        write_published_check(check, strict=True, what="x", table_out=str(table), differences_out=str(differences))
    write_published_check(check.head(1), strict=True, what="x", table_out=str(table), differences_out=str(differences))
    assert pl.read_csv(differences).height == 0


def test_grading_reads_only_its_own_branch():
    from replisuite.stigma.study import grading_reads

    study = {"published": {"gpt-4o": {}}, "published_judge": "gpt-4o", "judge": "small"}
    keys, models = grading_reads(study, "gpt-4o")
    assert models == ["gpt-4o"] and "published/gpt-4o/interjections" in keys and "live_max_tokens" not in keys
    keys, models = grading_reads(study, "lab-model")
    assert models == ["lab-model", "small"] and "live_max_tokens" in keys and "published_judge" not in keys
    assert grading_reads(study, "small")[1] == ["small"]  # a live model that is its own judge
