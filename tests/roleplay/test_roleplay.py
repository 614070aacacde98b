"""The roleplay study's steps and claim rules."""

import json

import polars as pl
import pytest

from replisuite.dialogue.profiles import ProfileError
from replisuite.dialogue.transcripts import read_transcripts
from replisuite.llm import LLMError
from replisuite.roleplay.claims import fidelity_claims, table1_claims
from replisuite.roleplay.pipeline import make_profiles, read_profiles, simulate

STUDY = {"seed": 1, "profiles": {"file": None, "n": 3, "severities": [{"bdi2": "mild", "hama": "mild"}]},
         "protocols": {"sqpsych": {"file": "sqpsych", "overrides": {"max_exchanges": 3, "end_allowed_from": 2,
                                                                     "wrap_up_from": 3}}}, "plan": []}


def test_profiles_come_from_the_generator_or_a_validated_user_file(tmp_path):
    make_profiles(STUDY, out=str(tmp_path / "profiles.jsonl"))
    generated = read_profiles(str(tmp_path / "profiles.jsonl"))
    assert [p.kind for p in generated] == ["questionnaire"] * 3
    assert generated[0].fields["totals"]["bdi2"]["band"] == "mild"
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps([{"id": "a", "kind": "post", "text": "I feel alone."}]))
    make_profiles({**STUDY, "profiles": {**STUDY["profiles"], "file": str(mine)}}, out=str(tmp_path / "user.jsonl"))
    assert [p.id for p in read_profiles(str(tmp_path / "user.jsonl"))] == ["a"]
    mine.write_text(json.dumps([{"id": "a", "kind": "post"}]))
    with pytest.raises(ProfileError, match=r"mine.json: profile 1 \(profile a\).*\['text'\]"):
        make_profiles({**STUDY, "profiles": {**STUDY["profiles"], "file": str(mine)}}, out=str(tmp_path / "bad.jsonl"))
    assert not (tmp_path / "bad.jsonl").exists()


def test_an_unknown_model_for_a_role_is_refused_and_nothing_is_written(tmp_path):
    make_profiles(STUDY, out=str(tmp_path / "profiles.jsonl"))
    llm = {"store_dir": str(tmp_path / "llm"), "models": {"a": {"backend": "local", "model": "SmolLM2-135M-Instruct"}}}
    with pytest.raises(LLMError, match=r"unknown model entries \['nobody'\]"):
        simulate(STUDY, llm, protocol="sqpsych", pair="a__nobody", profiles=str(tmp_path / "profiles.jsonl"),
                 out=str(tmp_path / "t.jsonl"), provenance_out=str(tmp_path / "p.json"))
    assert not (tmp_path / "t.jsonl").exists()


def test_table1_claims_compare_with_the_published_row():
    table = pl.DataFrame({"therapy": ["integrative", "cbt"], "cases": [28, 10], "avg_sessions": [7.68, 5.0],
                          "avg_turns_per_session": [25.88, 20.0], "avg_client_utterances_per_session": [25.4, 19.5],
                          "max_sessions": [10, 6],
                          "published_cases": [28, None], "published_avg_sessions": [7.7, None],
                          "published_avg_turns": [25.9, None], "published_max_sessions": [9, None]})
    verdicts = {c.claim_id: c.verdict for c in table1_claims(table)}
    assert verdicts == {"psycheval_table1_integrative_cases": "reproduced",
                        "psycheval_table1_integrative_avg_sessions": "reproduced",
                        "psycheval_table1_integrative_avg_turns_per_session": "reproduced",
                        "psycheval_table1_integrative_max_sessions": "not reproduced"}


def test_fidelity_claims_need_the_interval_above_chance_and_above_the_mean_guess():
    ident = pl.DataFrame({"protocol": ["a", "b"], "pairing": "true", "k": 1, "accuracy": [0.9, 0.2],
                          "ci_low": [0.7, 0.0], "ci_high": [1.0, 0.5], "chance": 0.125, "profiles": 8,
                          "models": ["m/m", "m/m"]})
    recovery = pl.DataFrame({"protocol": ["a"], "instrument": "bdi2", "rater": "m", "pairing": "true", "n": 8,
                             "pearson_r": 0.1, "mae": 14.0, "mae_mean_guess": 11.0, "mae_gain": -3.0, "gain_low": -6.0,
                             "gain_high": 0.5})
    verdicts = {c.claim_id: c.verdict for c in fidelity_claims(ident, recovery, embedded=["m"], min_profiles=8)}
    assert verdicts == {"identifiable_a_m_m": "reproduced", "identifiable_b_m_m": "not reproduced",
                        "recovery_a_bdi2_m": "not reproduced"}
    # 5 profiles decide nothing
    few = fidelity_claims(ident.with_columns(pl.lit(5).alias("profiles")), recovery.with_columns(pl.lit(5).alias("n")),
                          embedded=["m"], min_profiles=8)
    assert {c.verdict for c in few} == {"not comparable"}


def test_recovery_rater_floor_turns_a_constant_rater_into_not_comparable():
    recovery = pl.DataFrame({"protocol": ["a"], "instrument": "bdi2", "rater": "m", "pairing": "true", "n": 10,
                             "pearson_r": 0.8, "mae": 3.0, "mae_mean_guess": 11.0, "mae_gain": 8.0, "gain_low": 5.0,
                             "gain_high": 10.0, "conversations": 10, "distinct_totals": 7})
    ident = pl.DataFrame(schema={"protocol": pl.String, "pairing": pl.String, "k": pl.Int64, "accuracy": pl.Float64,
                                 "ci_low": pl.Float64, "ci_high": pl.Float64, "chance": pl.Float64, "profiles": pl.Int64,
                                 "models": pl.String})
    capable = fidelity_claims(ident, recovery, embedded=[], min_profiles=8)[0]
    assert capable.verdict == "reproduced" and capable.task_floor == "passed"
    constant = fidelity_claims(ident, recovery.with_columns(pl.lit(1).alias("distinct_totals")), embedded=[],
                               min_profiles=8)[0]
    assert constant.verdict == "not comparable" and "1 distinct over 10 profiles" in constant.note


def test_transcripts_written_by_the_study_are_readable(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": "x", "profile_id": "p", "protocol": "sqpsych", "models": {}, "stop_reason": "farewell",
                                "turns": [{"role": "client", "text": "hi", "session": 1, "exchange": 1}]}) + "\n")
    assert read_transcripts(path)[0]["id"] == "x"


def test_published_profiles_load_from_their_layouts(tmp_path):
    posts = tmp_path / "test.json"
    posts.write_text(json.dumps(["一", "二", "三"], ensure_ascii=False))
    study = {**STUDY, "profiles": {**STUDY["profiles"], "published": "interactive_agents_test", "limit": 2}}
    make_profiles(study, out=str(tmp_path / "p.jsonl"), published=[str(posts)])
    loaded = read_profiles(str(tmp_path / "p.jsonl"))
    assert [(p.id, p.kind, p.language) for p in loaded] == [("test-0", "post", "zh"), ("test-1", "post", "zh")]


def test_identifiability_of_conversations_made_of_fillers_is_below_the_floor():
    ident = pl.DataFrame({"protocol": ["a"], "pairing": "true", "k": 1, "accuracy": [0.9], "ci_low": [0.7], "ci_high": [1.0],
                          "chance": 0.1, "profiles": 10, "models": ["m/m"]})
    recovery = pl.DataFrame(schema={"protocol": pl.String, "instrument": pl.String, "rater": pl.String,
                                    "pairing": pl.String, "n": pl.Int64})
    conversations = pl.DataFrame({"protocol": "a", "counsellor_model": "m", "client_model": "m", "turns": [10] * 10,
                                  "fillers": [6] * 10})
    claim = fidelity_claims(ident, recovery, embedded=[], min_profiles=8, conversations=conversations)[0]
    assert claim.verdict == "not comparable" and "40 of 100 turns usable" in claim.note
    fine = fidelity_claims(ident, recovery, embedded=[], min_profiles=8,
                           conversations=conversations.with_columns(pl.lit(0).alias("fillers")))[0]
    assert fine.verdict == "reproduced" and fine.task_floor == "passed"
