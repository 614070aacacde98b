"""A plan run (REPLISUITE_LLM_PLAN): requests are counted, stored answers replayed, nothing sent or stored."""

import json

from replisuite.llm.runner import PLAN_ENV
from tests.llm.conftest import client, prompts


def test_a_plan_run_counts_what_it_would_send_and_sends_and_stores_nothing(fake_server, store, tmp_path, monkeypatch):
    server = fake_server()
    llm = client(server, store)
    llm.run([llm.request(m) for m in prompts(2)])  # two answers in the store
    sent, stored = server.counters.calls, len(store)
    plan = tmp_path / "plan.jsonl"
    monkeypatch.setenv(PLAN_ENV, str(plan))
    planning = client(server, store)
    requests = [planning.request(m) for m in prompts(4)] + [planning.request(prompts(1)[0])]  # one asked twice
    result = planning.run(requests)
    assert server.counters.calls == sent and len(store) == stored  # nothing sent, nothing stored
    assert [r.origin for r in result.responses] == ["live", "live", "plan", "plan", "live"]
    assert result.responses[2].text != result.responses[3].text  # stand-ins stay distinct
    # the next step of the job asks about the stand-ins and repeats one request: counted once
    follow = [planning.request([{"role": "user", "content": r.text}]) for r in result.responses[2:4]]
    planning.run([*follow, requests[3]])
    choice = planning.run([planning.request(prompts(1, "pick")[0], options=["1", "2"])]).responses[0]
    assert choice.text == "" and choice.parsed is None  # a choice stand-in is no option
    lines = [json.loads(line) for line in plan.read_text().splitlines()]
    assert [(line["stored"], line["to_send"]) for line in lines] == [(2, 2), (0, 2), (0, 1)]
    assert {(line["study"], line["entry"], line["backend"]) for line in lines} == {(store.path.name, "fake", "openai")}
