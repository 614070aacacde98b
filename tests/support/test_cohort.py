"""The simulated cohort (planted truth, confounding, name seeds) and the user-table validation."""

import numpy as np
import polars as pl
import pytest
import yaml

from replisuite.coding.annomi import THERAPIST_CODE
from replisuite.instruments import shipped
from replisuite.support.cohort import UserTableError, read_transcripts, read_user_table
from replisuite.support.pipeline import simulated
from replisuite.support.skills import transcript_skill_rates
from tests.conftest import REPO

STUDY = yaml.safe_load((REPO / "config/config.yaml").read_text())["support"]
INSTRUMENTS = {name: shipped()[name] for name in ("phq9", "gad7")}
SKILLS = list(STUDY["skills"])
COVARIATES = STUDY["covariates"]


@pytest.fixture(scope="module")
def sessions():
    rng = np.random.default_rng(0)
    annotated = {s: rng.random(60) * 0.3 for s in SKILLS}
    return pl.DataFrame({"transcript_id": np.arange(60), **annotated,
                         **{f"{s}_measured": 0.5 * v + 0.05 for s, v in annotated.items()}})


def cohort(sessions, scenario="planted", replicate="r001", users=2000):
    study = {**STUDY, "simulation": {**STUDY["simulation"], "users": users}}
    return simulated(study, skills=SKILLS, sessions=sessions, instruments=INSTRUMENTS, scenario=scenario,
                     replicate=replicate)


def test_truth_is_the_sample_att_of_the_potential_outcomes(sessions):
    frame, truth = cohort(sessions)
    chats = frame.filter(pl.col("chat"))
    for outcome in ("phq9", "gad7"):
        expected = (chats[f"{outcome}_post_if_chat"] - chats[f"{outcome}_post_if_no_chat"]).mean()
        assert truth["sample_att"][outcome] == pytest.approx(expected)
        observed = np.where(frame["chat"], frame[f"{outcome}_post_if_chat"], frame[f"{outcome}_post_if_no_chat"])
        np.testing.assert_array_equal(frame[f"{outcome}_post"].to_numpy(), observed)
    assert abs(truth["sample_att"]["phq9"] - STUDY["scenarios"]["planted"]["att"]["phq9"]) < 0.3
    _, null = cohort(sessions, scenario="null")
    assert null["sample_att"] == {"phq9": 0.0, "gad7": 0.0}


def test_uptake_is_confounded_and_baselines_are_scored_from_items(sessions):
    frame, _ = cohort(sessions)
    items = frame.select([f"phq9_pre_{i}" for i in range(1, 10)]).sum_horizontal()
    np.testing.assert_array_equal(frame["phq9_pre"].to_numpy(), items.to_numpy())
    chats, others = frame.filter(pl.col("chat")), frame.filter(~pl.col("chat"))
    assert chats["phq9_pre"].mean() > others["phq9_pre"].mean() + 1
    assert chats["engagement"].mean() > others["engagement"].mean() + 0.3
    assert frame.filter(~pl.col("chat"))["skill_empathy"].null_count() == others.height  # skills only for chat users


def test_cohorts_are_seeded_by_scenario_and_replicate_names(sessions):
    first, _ = cohort(sessions, replicate="r001")
    assert first.equals(cohort(sessions, replicate="r001")[0])
    assert not first.equals(cohort(sessions, replicate="r002")[0])


def write(frame, tmp_path, name="users.csv"):
    path = tmp_path / name
    frame.write_csv(path)
    return path


def user_table():
    return pl.DataFrame({
        "user_id": ["a", "b", "c"], "chat": [1, 0, 1], "phq9_pre": [12, 8, 20], "phq9_post": [9, 8, 15],
        "gad7_pre": [10, 5, 14], "gad7_post": [7, 6, 11], "age": [30, 40, 50], "engagement": [0.1, -0.2, 1.0],
        "prior_use": [True, False, True], "supporter_experience": [3, None, 10],
        **{f"skill_{s}": [0.1, None, 0.2] for s in SKILLS},
    })


def read(path):
    return read_user_table(path, instruments=INSTRUMENTS, covariates=COVARIATES, skills=SKILLS)


def test_a_valid_user_table_is_read_with_boolean_chats(tmp_path):
    frame = read(write(user_table(), tmp_path))
    assert frame["chat"].to_list() == [True, False, True] and frame["prior_use"].dtype == pl.Float64


def test_baseline_items_are_scored_by_the_instrument_library(tmp_path):
    table = user_table().drop("phq9_pre").with_columns(
        [pl.Series(f"phq9_pre_{i}", [1, 0, 3]) for i in range(1, 10)])
    assert read(write(table, tmp_path))["phq9_pre"].to_list() == [9.0, 0.0, 27.0]
    bad = table.with_columns(pl.Series("phq9_pre_4", [1, 4, 3]))
    with pytest.raises(UserTableError, match=r"users.csv: user 'b': phq9: item 4: answer 4 is not one of"):
        read(write(bad, tmp_path))


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.drop("gad7_post"), r"missing column\(s\) \['gad7_post'\]"),
    (lambda t: t.drop("phq9_pre"), r"missing column phq9_pre \(or its items phq9_pre_1 \.\.\. phq9_pre_9\)"),
    (lambda t: t.with_columns(chat=pl.Series(["yes", "no", "yes"])), r"column chat: expected true/false or 1/0, got 'yes' \(user 'a'\)"),
    (lambda t: t.with_columns(phq9_post=pl.Series([9, 30, 15])), r"column phq9_post: a value above 27 \(30, user 'b'\)"),
    (lambda t: t.with_columns(skill_empathy=pl.Series([0.1, None, 1.5])), r"column skill_empathy: a value above 1 \(1.5, user 'c'\)"),
    (lambda t: t.with_columns(supporter_experience=pl.Series([None, None, 1])), r"column supporter_experience: a missing value \(None, user 'a'\)"),
    (lambda t: t.with_columns(user_id=pl.Series(["a", "a", "c"])), r"column user_id: duplicate user id 'a'"),
    (lambda t: t.drop("engagement"), r"missing covariate column\(s\) \['engagement'\]"),
    (lambda t: t.with_columns(age=pl.Series(["x", "y", "z"])), r"column age: expected numbers, got String"),
])
def test_bad_user_tables_are_refused_naming_file_column_and_user(tmp_path, edit, message):
    path = write(edit(user_table()), tmp_path)
    with pytest.raises(UserTableError, match=rf"{path}: {message}"):
        read(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(UserTableError, match="no such user table"):
        read(tmp_path / "absent.csv")


def transcripts_file(tmp_path, rows):
    path = tmp_path / "chats.csv"
    pl.DataFrame(rows, schema=["user_id", "turn", "speaker", "text"], orient="row").write_csv(path)
    return path


def test_transcripts_are_checked_against_the_user_table(tmp_path):
    users = read(write(user_table(), tmp_path))
    good = transcripts_file(tmp_path, [("a", 1, "client", "Hi."), ("a", 2, "supporter", "Tell me more."),
                                       ("c", 1, "Supporter", "What would help?"), ("c", 2, "client", "Sleep.")])
    turns = read_transcripts(good, users=users)
    assert turns.select("user_id", "utterance_text", "previous_text").rows() == [
        ("a", "Tell me more.", "Hi."), ("c", "What would help?", "")]
    for rows, message in (
        ([("a", 1, "bot", "x"), ("c", 1, "supporter", "y")], r"column speaker: 'bot' \(user 'a'\) is not one of"),
        ([("a", 1, "supporter", "x"), ("b", 1, "supporter", "y"), ("c", 1, "supporter", "z")], r"\['b'\] are not chat users"),
        ([("a", 1, "supporter", "x"), ("c", 1, "client", "y")], r"chat user\(s\) \['c'\] have no supporter turn"),
    ):
        with pytest.raises(UserTableError, match=message):
            read_transcripts(transcripts_file(tmp_path, rows), users=users)


def test_skill_rates_from_transcripts_follow_the_classifier():
    codes = pl.DataFrame({
        "utterance_text": ["you could try a or b", "here are your options", "it sounds really hard", "you feel let down",
                           "smoking damages lungs", "the facts are these"] * 5,
        "previous_text": [""] * 30,
        THERAPIST_CODE: ["therapist_input:options", "therapist_input:options", "reflection:complex", "reflection:complex",
                         "therapist_input:information", "therapist_input:information"] * 5})
    turns = pl.DataFrame({"user_id": ["a", "a", "b"], "turn": [1, 2, 1],
                          "utterance_text": ["your options are a or b", "it sounds hard", "the facts about smoking"],
                          "previous_text": ["", "", ""]})
    rates = transcript_skill_rates(turns, codes, skills={"autonomy": ["therapist_input:options"],
                                                         "empathy": ["reflection:complex"]},
                                   classifier={"name": "tfidf", "tfidf": {"ngram_max": 1, "min_df": 1}, "logistic_C": 10.0})
    assert rates.rows() == [("a", 0.5, 0.5), ("b", 0.0, 0.0)]
