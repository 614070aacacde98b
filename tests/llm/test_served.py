"""The openai backend against a real OpenAI-compatible server: `transformers serve` (the pinned
transformers with its `serving` extra) on 127.0.0.1 with the embedded SmolLM2 weights."""

import threading
import time

import pytest

from replisuite.llm import LLM, LLMError, ModelEntry, ResponseStore, RetryPolicy, RunFailedError
from replisuite.llm.serve import TransformersServer
from tests.llm.conftest import openai_entry

pytestmark = [pytest.mark.served, pytest.mark.slow]

PROMPTS = [f"I feel {feeling} about {topic}. What could help?" for feeling in ("anxious", "low", "angry")
           for topic in ("work", "my family", "sleep")]
QUICK = RetryPolicy(max_attempts=3, base_s=0.2, cap_s=0.5)
KEY_VARIABLE = "REPLISUITE_SERVED_KEY"
CANARY = "sk-canary-7f3a9d1e-never-write-me"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with TransformersServer(log_path=tmp_path_factory.mktemp("serve") / "server.log") as running:
        yield running


def served(server, **overrides) -> ModelEntry:
    """The fake-server entry of the LLM tests, pointed at the real server (pinned to its model)."""
    return openai_entry(server, **{"name": "served", "model": server.model_id, "api_key_env": KEY_VARIABLE,
                                   "concurrency": 2, "timeout": 120.0, "max_attempts": 3, **overrides})


def chat_requests(llm, prompts, max_tokens=16):
    return [llm.request([{"role": "user", "content": p}], max_tokens=max_tokens, temperature=0.0) for p in prompts]


def test_greedy_answers_equal_the_local_backend_on_the_same_weights(server, tmp_path, monkeypatch):
    """Same weights, greedy decoding: the served text equals the local backend's (batching and
    kernels may flip a near tie: at least 8 of 9 must agree; the note reports the measured share)."""
    monkeypatch.setenv(KEY_VARIABLE, CANARY)
    with ResponseStore(tmp_path / "store") as store:
        remote = LLM(served(server), store)
        local = LLM(ModelEntry(name="local", backend="local", model="SmolLM2-135M-Instruct", threads=1), store)
        theirs = remote.run(chat_requests(remote, PROMPTS), progress=False, retry=QUICK).responses
        ours = local.run(chat_requests(local, PROMPTS), progress=False).responses
        equal = sum(a.text == b.text for a, b in zip(theirs, ours, strict=True))
        print(f"served vs local, greedy, {len(PROMPTS)} prompts: {equal} identical")
        assert equal >= len(PROMPTS) - 1 and all(a.text for a in theirs)
        assert {r.model_version for r in theirs} == {server.model_id}
        # a rerun sends nothing: every answer is in the store under keys naming this server
        again = remote.run(chat_requests(remote, PROMPTS), progress=False, retry=QUICK)
        assert again.stats.new_calls == 0 and again.stats.cache_hits == len(PROMPTS)
        assert all(server.base_url in r.request.server for r in theirs)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_text(errors="replace"), path


def test_a_server_killed_mid_run_fails_the_run_naming_it_and_a_rerun_sends_only_what_is_missing(tmp_path):
    prompts = [f"Name one thing that helps with stress, number {i}." for i in range(10)]
    with TransformersServer(log_path=tmp_path / "server.log") as server, ResponseStore(tmp_path / "store") as store:
        llm = LLM(served(server, concurrency=1), store)
        killed = threading.Event()

        def kill_after_four():
            while len(store) < 4:
                time.sleep(0.05)
            server.stop(kill=True)
            killed.set()

        watcher = threading.Thread(target=kill_after_four, daemon=True)
        watcher.start()
        with pytest.raises(RunFailedError) as failure:
            llm.run(chat_requests(llm, prompts, max_tokens=8), progress=False, retry=QUICK)
        assert killed.is_set() and server.base_url in str(failure.value)
        kept = len(store)
        assert 4 <= kept < len(prompts)
        served_before = server.completions_served()
        # every answer the server gave is in the store; one more only if the kill cut a reply that
        # the server had already logged from reaching the client
        assert served_before - kept in (0, 1)

        server.restart()  # the same port: the same base_url, so the same keys
        result = llm.run(chat_requests(llm, prompts, max_tokens=8), progress=False, retry=QUICK)
        assert result.stats.cache_hits == kept and result.stats.new_calls == len(prompts) - kept
        assert server.completions_served() - served_before == len(prompts) - kept  # the server's own count
        assert len(store) == len(prompts)
        print(f"kill mid-run: {kept} of {len(prompts)} answers kept, server log {served_before} before the kill; "
              f"rerun sent {result.stats.new_calls}, server log +{server.completions_served() - served_before}")


def test_an_unreachable_server_fails_in_seconds_naming_the_url(tmp_path):
    server = TransformersServer(log_path=tmp_path / "never.log")  # never started: nobody on the port
    with ResponseStore(tmp_path / "store") as store:
        llm = LLM(served(server), store)
        started = time.monotonic()
        with pytest.raises(LLMError, match=server.base_url.replace(".", r"\.")):
            llm.run(chat_requests(llm, PROMPTS[:2]), progress=False, retry=QUICK)
        assert time.monotonic() - started < 30 and len(store) == 0


def test_the_seed_probe_on_the_real_server(server, tmp_path):
    """transformers serve 5.24 takes a request's temperature but does not switch sampling on (the
    model's generation config decodes greedily): seeds 1, 1 and 2 at temperature 1 give one reply.
    The probe must say so, and every sampled answer must record that its temperature had no effect
    (a server that samples would make this fail: the probe's replies would differ)."""
    with ResponseStore(tmp_path / "store") as store:
        llm = LLM(served(server), store)
        sampled = [llm.request([{"role": "user", "content": p}], max_tokens=8, temperature=0.9, seed=3)
                   for p in PROMPTS[:2]]
        responses = llm.run(sampled, progress=False, retry=QUICK).responses
        print(f"seed probe on transformers serve: {llm.provenance()['seed_check']}")
        assert llm.provenance()["seed_check"] == "no effect seen"
        assert all(r.server_ignores == ("temperature",) for r in responses)
        greedy = llm.run([llm.request([{"role": "user", "content": PROMPTS[0]}], max_tokens=8, temperature=0.0)],
                         progress=False, retry=QUICK).responses
        assert greedy[0].server_ignores == ()
