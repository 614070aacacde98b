"""The openai backend and the runner against a fake OpenAI-compatible server on 127.0.0.1."""

import logging
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from replisuite.llm import LLM, LLMError, ResponseStore, RetryPolicy, RunFailedError
from replisuite.llm.models import key_variable
from tests.llm.conftest import FAST_RETRY, client, openai_entry, prompts

KEY = "sk-test-SECRET-123456"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("REPLISUITE_TEST_KEY", KEY)


def run(llm, messages, **options):
    return llm.run([llm.request(m) for m in messages], retry=FAST_RETRY, progress=False, **options)


def test_answers_in_request_order_with_model_version_and_fingerprint(fake_server, store):
    server = fake_server()
    llm = client(server, store)
    result = run(llm, prompts(10))
    assert [r.text for r in result.responses] == [f"echo: q{i}" for i in range(10)]
    assert {r.model_version for r in result.responses} == {"fake-model-2026-01-01"}
    assert {r.fingerprint for r in result.responses} == {"fp_fake"}
    assert result.responses[0].usage["total_tokens"] == 3
    assert server.counters.authorization == {f"Bearer {KEY}"}


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retryable_status_is_retried_with_backoff(fake_server, store, status):
    server = fake_server(fail_status=status, fail_first=2)
    result = run(client(server, store), prompts(5))
    assert [r.text for r in result.responses] == [f"echo: q{i}" for i in range(5)]
    assert server.counters.calls == 15
    assert result.stats.retries == 10 and result.stats.failures == 0


def test_dropped_connections_and_timeouts_are_retried(fake_server, store):
    server = fake_server(drop_first=1)
    assert run(client(server, store), prompts(3)).stats.new_calls == 3
    assert server.counters.calls == 6
    slow = fake_server(slow_first=1, slow_s=1.0)
    with ResponseStore(store.path.with_name("other")) as other:
        result = run(client(slow, other, timeout=0.3), prompts(2))
    assert result.stats.retries == 2 and result.stats.new_calls == 2


def test_other_4xx_fails_at_once_with_a_clear_redacted_error_and_is_not_stored(fake_server, store):
    server = fake_server(always_status=400)
    llm = client(server, store)
    with pytest.raises(RunFailedError) as caught:
        run(llm, prompts(2))
    assert "HTTP 400" in str(caught.value) and KEY not in str(caught.value) and "***" in str(caught.value)
    assert server.counters.calls == 2
    assert len(store) == 0 and len(store.failures()) == 2
    server.behaviour.always_status = None
    assert run(llm, prompts(2)).stats.new_calls == 2


def test_gives_up_after_max_attempts(fake_server, store):
    server = fake_server(always_status=500)
    result = run(client(server, store), prompts(1), raise_on_failure=False)
    assert result.responses == [None] and "gave up after 4 attempts" in result.errors[result_key(result, store)]
    assert server.counters.calls == 4


def result_key(result, store):
    return next(iter(result.errors))


def test_concurrency_cap_is_reached_and_never_exceeded(fake_server, store):
    server = fake_server(delay_s=0.1)
    run(client(server, store, concurrency=4), prompts(24))
    assert server.counters.max_in_flight == 4


def test_rerun_sends_nothing_and_duplicates_are_sent_once(fake_server, store):
    server = fake_server()
    llm = client(server, store)
    messages = prompts(6) + prompts(6)
    first = run(llm, messages)
    assert server.counters.calls == 6 and first.stats.unique == 6 and len(first.responses) == 12
    second = run(llm, messages + prompts(2, prefix="new"))
    assert server.counters.calls == 8
    assert second.stats.cache_hits == 6 and second.stats.new_calls == 2


def test_rate_limit_spaces_request_starts(fake_server, store):
    server = fake_server()
    started = time.perf_counter()
    run(client(server, store, rate_limit_per_minute=600), prompts(6))
    assert time.perf_counter() - started >= 0.45  # 6 starts, 0.1 s apart


def test_backoff_delays_grow_and_are_capped():
    policy = RetryPolicy(base_s=1.0, cap_s=8.0)
    rng = random.Random(0)
    means = [sum(policy.delay(n, rng) for _ in range(2000)) / 2000 for n in range(6)]
    assert means[0] < means[1] < means[2] < means[3]
    assert all(policy.delay(n, rng) <= 8.0 for n in range(10) for _ in range(50))
    assert abs(means[2] - 2.0) < 0.2


def test_missing_key_without_base_url_is_an_error(monkeypatch, store):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    from replisuite.llm import LLM, ModelEntry

    llm = LLM(ModelEntry(name="gpt", backend="openai", model="gpt-4o"), store)
    with pytest.raises(LLMError, match=r"\$OPENAI_API_KEY"):
        llm.chat([{"role": "user", "content": "hi"}])


def test_secret_never_reaches_store_exports_logs_or_provenance(fake_server, store, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    server = fake_server(fail_status=429, fail_first=1)
    llm = client(server, store)
    run(llm, prompts(3))
    bad = fake_server(always_status=401)
    with pytest.raises(RunFailedError) as caught:
        run(client(bad, store), prompts(1, prefix="x"))
    store.export_jsonl(tmp_path / "export.jsonl")
    secret = KEY.encode()
    assert store.shards()  # the answers and the failure were written
    for path in [tmp_path / "export.jsonl", *store.shards()]:
        assert secret not in path.read_bytes(), path
    assert KEY not in caplog.text and KEY not in str(caught.value)
    assert KEY not in repr(llm.provenance()) and KEY not in repr(llm.entry)


RUN_SCRIPT = """
import sys
from replisuite.llm import LLM, ModelEntry, ResponseStore, RetryPolicy
entry = ModelEntry(name="fake", backend="openai", model="m", base_url=sys.argv[1],
                   api_key_env="REPLISUITE_TEST_KEY", concurrency=4)
llm = LLM(entry, ResponseStore(sys.argv[2]))
requests = [llm.request([{"role": "user", "content": f"q{i}"}]) for i in range(int(sys.argv[3]))]
result = llm.run(requests, progress=True)
print("new", result.stats.new_calls, "cached", result.stats.cache_hits)
"""


def test_killed_run_resumes_and_sends_only_what_is_missing(fake_server, tmp_path):
    server = fake_server(delay_s=0.05)
    path = tmp_path / "kill"
    n = 120
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", RUN_SCRIPT, server.base_url, str(path), str(n)]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and server.counters.calls < 30:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    calls_before = server.counters.calls
    with ResponseStore(path) as store:
        kept = len(store)
    assert 0 < kept < n
    assert calls_before - kept <= 4 * 2  # at most the requests in flight were lost

    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    assert f"new {n - kept} cached {kept}" in done.stdout
    assert "cached=" in done.stderr  # the progress bar shows cache hits
    assert server.counters.calls == calls_before + (n - kept)
    assert set(server.counters.per_prompt) == {f"q{i}" for i in range(n)}
    with ResponseStore(path) as store:
        assert len(store) == n


def test_an_unreachable_endpoint_fails_in_seconds_naming_the_url_and_the_entry(store):
    from replisuite.llm import LLM, ModelEntry

    entry = ModelEntry(name="lab-model", backend="openai", model="m", base_url="http://127.0.0.1:9/v1",
                       api_key_env="REPLISUITE_TEST_KEY", max_attempts=6, timeout=5.0)
    started = time.perf_counter()
    with pytest.raises(LLMError) as caught:
        LLM(entry, store).run([LLM(entry, store).request(m) for m in prompts(24)], progress=False)
    assert time.perf_counter() - started < 15
    assert "lab-model" in str(caught.value) and "http://127.0.0.1:9/v1" in str(caught.value)
    assert len(store) == 0 and len(store.failures()) == 0     # nothing was sent


def test_the_reachability_check_does_not_count_as_a_request(fake_server, store):
    server = fake_server()
    llm = client(server, store)
    run(llm, prompts(2))
    run(llm, prompts(2, prefix="more"))
    assert server.counters.calls == 4       # the GETs are not chat calls
    cached = llm.run([llm.request(m) for m in prompts(2)], progress=False)
    assert cached.stats.cache_hits == 2


def test_concurrent_requests_share_one_backoff(store, monkeypatch):
    """After one transient error, no request in flight starts again before the pause has passed."""
    from replisuite.llm import LLM, ModelEntry
    from replisuite.llm.backends import SCRIPTED_ENV, ScriptedBackend, TransientError
    from replisuite.llm.requests import Completion

    starts, failed_at = [], []

    class Flaky(ScriptedBackend):
        def complete(self, request):
            now = time.monotonic()
            starts.append(now)
            if not failed_at:
                failed_at.append(now)
                raise TransientError("HTTP 503")
            time.sleep(0.02)
            return Completion(text="ok")

    class FixedPause(RetryPolicy):
        def delay(self, attempt, rng, *, retry_after=None):
            return 0.3

    monkeypatch.setenv(SCRIPTED_ENV, "1")
    entry = ModelEntry(name="flaky", backend="scripted", model="m", concurrency=4)
    llm = LLM(entry, store, backend=Flaky(lambda r: "ok", max_concurrency=4))
    result = llm.run([llm.request(m) for m in prompts(12)], retry=FixedPause(max_attempts=3), progress=False)
    assert result.stats.new_calls == 12 and result.stats.retries == 1
    after = [t for t in starts if t > failed_at[0]]
    # requests that started within a few ms of the failure were already in flight; none after them
    # starts before the shared pause ends
    late = [t for t in after if t - failed_at[0] > 0.01]
    assert late and min(late) - failed_at[0] >= 0.29


def test_a_base_url_without_a_key_says_in_the_log_that_no_key_is_sent(fake_server, store, monkeypatch, caplog):
    monkeypatch.delenv("NO_SUCH_KEY_VARIABLE", raising=False)
    caplog.set_level(logging.INFO, logger="replisuite.llm")
    server = fake_server()
    run(client(server, store, api_key_env="NO_SUCH_KEY_VARIABLE"), prompts(1))
    assert any("$NO_SUCH_KEY_VARIABLE is not set, so no API key is sent" in r.getMessage() for r in caplog.records)
    assert server.counters.authorization == {"Bearer not-needed"}


def test_a_server_entry_that_names_no_key_variable_never_gets_the_openai_key(fake_server, store, monkeypatch, caplog):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-not-for-this-host")
    caplog.set_level(logging.INFO, logger="replisuite.llm")
    server = fake_server()
    entry = openai_entry(server, api_key_env=None)
    run(LLM(entry, store), prompts(2))
    assert server.counters.authorization == {"Bearer not-needed"}
    assert any("the entry names no api_key_env, so no API key is sent" in r.getMessage() for r in caplog.records)
    assert key_variable(replace(entry, base_url=None)) == "OPENAI_API_KEY"  # OpenAI itself: its own variable
    assert key_variable(replace(entry, api_key_env="LAB_KEY")) == "LAB_KEY"


def test_a_server_that_keeps_the_stop_sequence_gives_the_same_text_as_one_that_does_not(fake_server, store):
    """transformers serve keeps the stop sequence in the reply; OpenAI and the local backend do not."""
    keeps, drops = fake_server(keeps_stop=True), fake_server()
    texts = []
    for server in (keeps, drops):
        llm = client(server, store)
        texts.append(llm.chat([{"role": "user", "content": "hello"}], stop=["]}"]).text)
    assert texts[0] == texts[1] == "echo: hello"


def test_likelihood_choices_on_a_server_fail_before_any_request_naming_entry_method_and_alternative(fake_server, store):
    server = fake_server()
    llm = client(server, store)
    with pytest.raises(LLMError) as refused:
        llm.request([{"role": "user", "content": "Agree?"}], options=["yes", "no"], method="loglik")
    message = str(refused.value)
    assert "'fake'" in message and server.base_url in message and "'loglik'" in message and "generate" in message
    with pytest.raises(LLMError, match="prefilled reply"):
        llm.request([{"role": "user", "content": "Rate it"}], prefill="1: ")
    assert server.counters.calls == 0
    assert llm.request([{"role": "user", "content": "Agree?"}], options=["yes", "no"]).method == "parsed"


def test_retry_after_is_honoured_when_longer_than_the_backoff(fake_server, store):
    server = fake_server(fail_first=1, fail_status=429, retry_after="0.6")
    started = time.monotonic()
    result = run(client(server, store), prompts(1))  # FAST_RETRY would wait at most 0.05 s
    assert result.stats.new_calls == 1 and result.stats.retries == 1
    assert time.monotonic() - started >= 0.6


def test_retries_stop_at_the_total_time_bound_and_the_failure_records_its_true_attempts(fake_server, store):
    server = fake_server(always_status=503)
    policy = RetryPolicy(max_attempts=100, base_s=0.05, cap_s=0.05, max_total_s=0.5)
    llm = client(server, store, concurrency=1)
    started = time.monotonic()
    result = llm.run([llm.request(m) for m in prompts(1)], retry=policy, progress=False, raise_on_failure=False)
    assert time.monotonic() - started < 3 and result.responses == [None]
    [failure] = store.failures()
    assert failure["attempts"] == server.counters.calls < 100
    assert f"gave up after {server.counters.calls} attempts" in failure["error"]


@pytest.mark.parametrize(("ignores_seed", "found"), [(True, "ignored"), (False, "honoured"), (None, "no effect seen")])
def test_a_server_that_ignores_the_seed_is_found_out_and_recorded_per_response(fake_server, store, ignores_seed, found):
    server = fake_server(ignores_seed=ignores_seed)
    llm = client(server, store)
    sampled = [llm.request(m, temperature=0.8, seed=5) for m in prompts(3)]
    result = llm.run(sampled, retry=FAST_RETRY, progress=False)
    provenance = llm.provenance()
    assert provenance["seed_check"] == found
    ignored = {"ignored": ("seed",), "no effect seen": ("temperature",)}.get(found, ())
    assert provenance["server_ignores"] == list(ignored)
    assert {r.server_ignores for r in result.responses} == {ignored}
    stored = store.get_many(r.key for r in sampled)
    assert {r.server_ignores for r in stored.values()} == {ignored}     # the store keeps it
    assert server.counters.calls == 3 + 3                                # three probe requests, once
    llm.run([llm.request(m, temperature=0.8, seed=5) for m in prompts(2, "other")], retry=FAST_RETRY, progress=False)
    assert server.counters.calls == 6 + 2


def test_greedy_or_unseeded_requests_send_no_seed_probe(fake_server, store):
    server = fake_server(ignores_seed=True)
    llm = client(server, store)
    llm.run([llm.request(m) for m in prompts(2)] + [llm.request(m, temperature=0.8, seed=None) for m in prompts(2, "u")],
            retry=FAST_RETRY, progress=False)
    assert server.counters.calls == 4
    assert "seed_check" not in llm.provenance()


def test_a_server_pinned_to_another_model_fails_at_once_naming_it(fake_server, store):
    server = fake_server(only_model="/models/the-served-one")
    llm = client(server, store)      # asks for "fake-model"
    with pytest.raises(RunFailedError, match="serves /models/the-served-one, not fake-model"):
        run(llm, prompts(2))
    assert server.counters.calls == 2 and len(store) == 0            # a 400 is not retried
    assert len(run(client(server, store, model="/models/the-served-one"), prompts(2)).responses) == 2
