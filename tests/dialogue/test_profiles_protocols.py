"""Profiles (four kinds, the generator), protocol files and their refusals, PsychEval's Table 1."""

import json

import pytest

from replisuite.dialogue.profiles import (
    ProfileError,
    generate_questionnaire_profiles,
    interactive_agents_posts,
    load_profiles,
    psycheval_case,
    scripted,
)
from replisuite.dialogue.protocols import ProtocolError, load_protocol, resolve, shipped_path, with_overrides
from replisuite.dialogue.psycheval import table1
from replisuite.instruments import score, shipped

INSTRUMENTS = shipped()
BDI2, HAMA = INSTRUMENTS["bdi2_topics"], INSTRUMENTS["hama"]


@pytest.mark.parametrize("bdi2_band,hama_band", [("minimal", "none"), ("mild", "mild"), ("moderate", "moderate"),
                                                 ("severe", "severe")])
def test_generated_item_answers_sum_to_a_total_inside_the_target_band(bdi2_band, hama_band):
    profiles = generate_questionnaire_profiles(12, seed=3, bdi2=BDI2, hama=HAMA,
                                               severities=[{"bdi2": bdi2_band, "hama": hama_band}])
    for profile in profiles:
        for instrument, key, band in ((BDI2, "bdi2", bdi2_band), (HAMA, "hama", hama_band)):
            answers = profile.fields[key]
            assert set(answers) == {item.id for item in instrument.items}
            assert all(value in instrument.values for value in answers.values())
            scored = score(instrument, answers)
            assert scored.band == band == profile.fields["totals"][key]["band"]
            assert scored.total == profile.fields["totals"][key]["total"]


def test_a_generated_profile_depends_on_its_own_name_not_on_how_many_are_made():
    few = generate_questionnaire_profiles(2, seed=3, bdi2=BDI2, hama=HAMA, severities=[{"bdi2": "mild", "hama": "mild"}])
    many = generate_questionnaire_profiles(5, seed=3, bdi2=BDI2, hama=HAMA, severities=[{"bdi2": "mild", "hama": "mild"}])
    assert few == many[:2]
    assert few[0].fields != few[1].fields


def test_profile_files_of_every_kind_load_and_bad_ones_name_the_field(tmp_path):
    good = [
        {"id": "p1", "kind": "post", "text": "I cannot sleep since my divorce."},
        {"id": "c1", "kind": "case", "static_traits": {"age": 30}, "main_problem": "panic", "core_demands": "calm",
         "global_plan": [{"goals": "assess"}, {"goals": "exposure"}]},
        {"id": "s1", "kind": "scripted", "turns": [{"role": "counsellor", "text": "Hi"}, {"role": "client", "text": "Hello"}]},
    ]
    path = tmp_path / "profiles.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in good))
    loaded = load_profiles(path)
    assert [p.kind for p in loaded] == ["post", "case", "scripted"] and len(loaded[1].plan) == 2
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "q1", "kind": "questionnaire", "demographics": {"age": 3}, "diagnosis": "x",
                                "bdi2": {"1": 1}}]))
    with pytest.raises(ProfileError, match=r"bad.json: profile 1 \(profile q1\).*\['hama'\]"):
        load_profiles(bad)
    bad.write_text(json.dumps([good[0], good[0]]))
    with pytest.raises(ProfileError, match="duplicate profile id 'p1'"):
        load_profiles(bad)
    bad.write_text(json.dumps([{"id": "s", "kind": "scripted", "turns": [{"role": "counsellor", "text": "Hi"}]}]))
    with pytest.raises(ProfileError, match="at least one client turn"):
        load_profiles(bad)


def test_published_profile_layouts_load(tmp_path):
    posts = tmp_path / "test.json"
    posts.write_text(json.dumps(["帖子一", "帖子二"], ensure_ascii=False))
    assert [p.id for p in interactive_agents_posts(posts, prefix="ia")] == ["ia-0", "ia-1"]
    case = tmp_path / "integrative" / "7.json"
    case.parent.mkdir()
    case.write_text(json.dumps({"client_info": {"basic_info": {"static_traits": {"age": "20"}, "main_problem": "孤独",
                                                                "core_demands": "改善", "growth_experiences": ["a"]}},
                                "global_plan": [{"stage_name": "s1", "content": {"第1次": {"theme": "建立联盟"}}}]},
                               ensure_ascii=False))
    profile = psycheval_case(case)
    assert profile.id == "psycheval-integrative-7" and profile.plan[0]["goals"] == "建立联盟"
    case.write_text("{}")
    with pytest.raises(ProfileError, match="7.json: not a PsychEval case"):
        psycheval_case(case)


def test_scripted_profiles_merge_consecutive_turns_of_one_speaker():
    profile = scripted("x", [{"role": "client", "text": "a"}, {"role": "client", "text": "b"},
                             {"role": "counsellor", "text": "c"}])
    assert [dict(t) for t in profile.script] == [{"role": "client", "text": "a b"}, {"role": "counsellor", "text": "c"}]


def test_the_shipped_protocols_carry_the_published_rules():
    ia, sq, pe = resolve("interactive_agents"), resolve("sqpsych"), resolve("psycheval")
    assert (ia.opener, ia.max_exchanges, ia.farewell_roles) == ("client", 49, ("client",))
    assert (sq.opener, sq.counsellor.max_words, sq.client.max_words) == ("counsellor", 63, 31)
    assert (sq.end_token, sq.wrap_up_from, sq.max_exchanges, sq.retries) == ("[/END]", 22, 33, 10)
    assert (sq.rewrite.p, sq.rewrite.role) == (0.3, "counsellor")
    assert pe.sessions.count == 8 and pe.sessions.summariser == "counsellor"
    for protocol in (ia, sq, pe):
        assert protocol.citations


def test_the_chinese_variant_needs_its_published_prompts():
    with pytest.raises(ProtocolError, match="names a prompt file that was not supplied"):
        resolve("interactive_agents_zh")
    protocol = resolve("interactive_agents_zh", prompts={"client_prompt": "来访者 {profile}", "counselor_prompt": "咨询师"})
    assert protocol.client.system == "来访者 {profile}" and protocol.language == "zh"


def test_impossible_rules_are_refused_naming_the_file_and_field(tmp_path):
    text = shipped_path("sqpsych").read_text()
    path = tmp_path / "broken.yaml"
    path.write_text(text.replace("max_exchanges: 33", "max_exchanges: 10"))
    with pytest.raises(ProtocolError, match=r"broken.yaml.*max_exchanges \(10\) is before end_allowed_from \(16\)"):
        load_protocol(path)
    path.write_text(text.replace("opener: counsellor", "opener: supervisor"))
    with pytest.raises(ProtocolError, match="opener must be one of"):
        load_protocol(path)
    path.write_text(text + "\nmax_turns: 3\n")
    with pytest.raises(ProtocolError, match=r"unknown field\(s\) \['max_turns'\]"):
        load_protocol(path)
    with pytest.raises(ProtocolError, match="wrap_up_from"):
        with_overrides(resolve("sqpsych"), {"max_exchanges": 18, "end_allowed_from": 5}, where="config x")
    with pytest.raises(ProtocolError, match="cannot override 'opener'"):
        with_overrides(resolve("sqpsych"), {"opener": "client"}, where="config x")


def write_case(path, sessions):
    path.parent.mkdir(parents=True, exist_ok=True)
    dialogue = lambda n: [{"role": "Counselor" if i % 2 == 0 else "Client", "text": "话" * 3} for i in range(n)]
    path.write_text(json.dumps({"sessions": [{"session_dialogue": dialogue(n)} for n in sessions]}))


def test_table1_counts_sessions_and_client_turns(tmp_path):
    write_case(tmp_path / "a" / "1.json", [5, 7])      # 2 and 3 client turns
    write_case(tmp_path / "a" / "2.json", [9, 9, 9])   # 4 each
    table = table1({"a": [str(tmp_path / "a" / "1.json"), str(tmp_path / "a" / "2.json")], "b": []},
                   {"a": {"cases": 2, "avg_sessions": 2.5, "avg_turns": 3.4, "max_sessions": 3}})
    row = table.row(0, named=True)
    assert table.height == 1 and row["therapy"] == "a"
    assert (row["cases"], row["avg_sessions"], row["max_sessions"]) == (2, 2.5, 3)
    assert row["avg_client_utterances_per_session"] == pytest.approx((2 + 3 + 4 * 3) / 5)
    assert row["avg_turns_per_session"] == pytest.approx((5 + 7 + 9 * 3) / 5 / 2)   # utterances / 2
    assert row["avg_chars_per_utterance"] == 3 and row["published_avg_turns"] == 3.4
    write_case(tmp_path / "a" / "3.json", [])
    with pytest.raises(ProfileError, match="3.json: field 'sessions' is empty"):
        table1({"a": [str(tmp_path / "a" / "3.json")]}, {})
