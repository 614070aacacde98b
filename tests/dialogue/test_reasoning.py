"""Reasoned turns: the split of <think> reasoning from the reply, the knowledge file, and the engine
keeping both parts while the other role sees only the reply."""

import pytest

from replisuite.dialogue.engine import Engine
from replisuite.dialogue.profiles import Profile
from replisuite.dialogue.protocols import ProtocolError, resolve, shipped_path, with_overrides
from replisuite.dialogue.reasoning import KnowledgeError, load_knowledge, render_reasoned, resolve_knowledge, split_reasoning
from replisuite.llm import LLM, ModelEntry, ScriptedBackend


@pytest.fixture(autouse=True)
def scripted_allowed(monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")


@pytest.mark.parametrize(("text", "reasoning", "reply", "status"), [
    ("<think>Low mood. CBT.</think> How are you?", "Low mood. CBT.", "How are you?", "closed"),
    ("<think>Low mood and then it stops", "Low mood and then it stops", "", "unclosed"),
    ("Just a reply.", "", "Just a reply.", "missing"),
    ("Low mood, started without the tag.</think> Reply", "Low mood, started without the tag.", "Reply", "closed"),
    ("Reply first <think>then\n  reasoning</think> and more", "then reasoning", "and more", "closed"),
])
def test_a_reply_splits_into_reasoning_and_reply_with_a_status(text, reasoning, reply, status):
    split = split_reasoning(text)
    assert (split.reasoning, split.reply, split.status) == (reasoning, reply, status)


def test_the_knowledge_file_names_conditions_and_frameworks_and_acronyms_keep_their_case():
    knowledge = resolve_knowledge("psyllm")
    assert knowledge.conditions_named("Signs of major depressive disorder (ICD-11 6A70) and PTSD") == ["depression", "ptsd"]
    assert knowledge.frameworks_named("I will use ACT and CBT") == ["cbt", "act"]
    assert knowledge.frameworks_named("we act on it together") == []          # a verb, not the framework
    stripped = knowledge.strip_names("Generalized anxiety disorder (ICD-11 6B00); I will use CBT.")
    assert not knowledge.conditions_named(stripped) and not knowledge.frameworks_named(stripped)
    assert "6A70" in knowledge.describe() and "acceptance and commitment therapy" in knowledge.describe()


def test_a_bad_knowledge_file_is_named_with_the_entry_and_field(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("id: mine\nconditions:\n  - {id: x, name: X, summary: s, patterns: ['(']}\nframeworks: []\n")
    with pytest.raises(KnowledgeError, match=r"mine.yaml \(mine\): conditions\[0\]: needs field\(s\) \['icd11'\]"):
        load_knowledge(path)
    path.write_text("id: mine\nconditions:\n  - {id: x, name: X, summary: s, icd11: 1A, patterns: ['(']}\nframeworks: []\n")
    with pytest.raises(KnowledgeError, match=r"conditions\[0\] \(x\): pattern '\(' does not compile"):
        load_knowledge(path)
    with pytest.raises(KnowledgeError, match="no knowledge file 'nope'; shipped: \\['psyllm'\\]"):
        resolve_knowledge("nope")


def test_the_post_opens_and_the_client_never_sees_the_counsellors_reasoning(store):
    knowledge = resolve_knowledge("psyllm")
    protocol = with_overrides(resolve("psyllm_synthesis", prompts={"knowledge": knowledge.describe()}),
                              {"max_exchanges": 2}, where="test")
    seen = []

    def responder(request):
        seen.append(request)
        if request.messages[0].content.startswith("You are the person"):
            return "Client: It started after the funeral."
        return "<think>Grief after a loss: prolonged grief disorder (ICD-11 6B42). Person-centred therapy.</think> " \
               f"Counsellor: Tell me more about that ({len(seen)})."

    llm = LLM(ModelEntry(name="fake", backend="scripted", model="fake"), store, backend=ScriptedBackend(responder))
    post = Profile(id="p1", kind="post", fields={"text": "My  mother died\nand I cannot stop crying."})
    record = Engine(protocol, {"counsellor": llm, "client": llm}, seed=1).run([post])[0]
    turns = record["turns"]
    assert [t["role"] for t in turns] == ["client", "counsellor", "client", "counsellor"]
    assert turns[0]["text"] == "My mother died and I cannot stop crying." and turns[0]["request_key"] is None
    assert turns[1]["reasoning"].startswith("Grief after a loss") and turns[1]["reasoning_status"] == "closed"
    assert turns[1]["text"] == "Tell me more about that (1)."
    assert "knowledge" not in seen[0].messages[0].content and "6B42" in seen[0].messages[0].content
    client_prompt = next(r for r in seen if r.messages[0].content.startswith("You are the person"))
    assert "My  mother died" in client_prompt.messages[0].content  # the profile, as written
    assert all("<think>" not in m.content and "Grief after" not in m.content for m in client_prompt.messages)
    assert "Counsellor (reasoning): Grief after a loss" in render_reasoned(turns)
    assert "reasoning" not in render_reasoned(turns, reasoning=False)


def test_a_reply_without_closed_reasoning_is_a_counted_status_not_a_crash(store):
    protocol = with_overrides(resolve("psyllm_synthesis", prompts={"knowledge": "-"}), {"max_exchanges": 1}, where="test")
    llm = LLM(ModelEntry(name="fake", backend="scripted", model="fake"), store,
              backend=ScriptedBackend(lambda request: "<think>I was thinking about"))
    record = Engine(protocol, {"counsellor": llm, "client": llm}, seed=1).run(
        [Profile(id="p", kind="post", fields={"text": "Help."})])[0]
    counsellor = record["turns"][1]
    assert counsellor["filler"] and counsellor["attempts"] == 2 and counsellor["reasoning_status"] == "unclosed"


def test_impossible_reasoning_and_first_turn_rules_are_refused(tmp_path):
    text = shipped_path("psyllm_synthesis").read_text()
    path = tmp_path / "p.yaml"
    path.write_text(text.replace("reasoning: {role: counsellor,", "reasoning: {role: supervisor,"))
    with pytest.raises(ProtocolError, match="reasoning needs a role of"):
        resolve(str(path), prompts={"knowledge": "-"})
    path.write_text(text.replace('reasoning: {role: counsellor, open: "<think>", close: "</think>"}',
                                 'reasoning: {role: counsellor, opens: "<think>"}'))
    with pytest.raises(ProtocolError, match="opens"):
        resolve(str(path), prompts={"knowledge": "-"})
