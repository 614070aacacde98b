"""The runner feeds batching backends whole batches, commits each batch, and resumes after a kill."""

import os
import signal
import subprocess
import sys
import time

import pytest

from replisuite.llm import LLM, LLMError, ModelEntry, ResponseStore, RunFailedError, ScriptedBatchBackend


@pytest.fixture(autouse=True)
def scripted(monkeypatch):
    monkeypatch.setenv("REPLISUITE_ALLOW_SCRIPTED", "1")


def entry():
    return ModelEntry(name="batched", backend="scripted", model="double")


def test_runner_hands_missing_requests_to_the_backend_in_its_batches(store):
    backend = ScriptedBatchBackend(lambda r: r.messages[-1].content.upper(), batch_size=4)
    llm = LLM(entry(), store, backend)
    requests = [llm.request([{"role": "user", "content": f"q{i}"}]) for i in range(10)]
    llm.run(requests[:3], progress=False)
    result = llm.run(requests, progress=False)
    assert [r.text for r in result.responses] == [f"Q{i}" for i in range(10)]
    assert [len(b) for b in backend.batches] == [3, 4, 3]  # the rerun sent only the 7 missing
    assert result.stats.cache_hits == 3 and result.stats.new_calls == 7
    assert len(store) == 10


def test_a_failing_batch_is_answered_one_by_one_so_only_the_bad_request_fails(store):
    def respond(request):
        if request.messages[-1].content == "bad":
            raise LLMError("refused")
        return "ok"

    backend = ScriptedBatchBackend(respond, batch_size=4)
    llm = LLM(entry(), store, backend)
    requests = [llm.request([{"role": "user", "content": c}]) for c in ("a", "bad", "c", "d", "e")]
    with pytest.raises(RunFailedError, match="1 of 5 requests failed"):
        llm.run(requests, progress=False)
    assert len(store) == 4 and [f["error"] for f in store.failures()] == ["refused"]


def test_a_transient_error_in_a_batch_is_retried_not_fatal(store):
    """A batch that hits a dropped connection is answered one by one, each retried with backoff."""
    from replisuite.llm.backends import TransientError
    from replisuite.llm.runner import RetryPolicy

    seen = set()

    def respond(request):
        content = request.messages[-1].content
        if content not in seen:
            seen.add(content)
            raise TransientError("connection dropped")
        return content.upper()

    backend = ScriptedBatchBackend(respond, batch_size=4)
    llm = LLM(entry(), store, backend)
    requests = [llm.request([{"role": "user", "content": c}]) for c in ("a", "b", "c")]
    result = llm.run(requests, progress=False, retry=RetryPolicy(max_attempts=3, base_s=0.01, cap_s=0.02))
    assert [r.text for r in result.responses] == ["A", "B", "C"] and result.stats.failures == 0
    assert result.stats.retries >= 2 and len(store) == 3


KILL_SCRIPT = """
import sys
from replisuite.llm import LLM, ModelEntry, ResponseStore
entry = ModelEntry(name="smol", backend="local", model="SmolLM2-135M-Instruct", batch_size=4, threads=1)
llm = LLM(entry, ResponseStore(sys.argv[1]))
requests = [llm.request([{"role": "user", "content": f"Say something kind about the number {i}."}], max_tokens=12)
            for i in range(int(sys.argv[2]))]
result = llm.run(requests, progress=False)
print("new", result.stats.new_calls, "cached", result.stats.cache_hits)
"""


def stored(path) -> int:
    """Answers on disk now (complete lines of the shards), read as another process would."""
    if not path.is_dir():
        return 0
    with ResponseStore(path) as store:
        return len(store)


@pytest.mark.slow
def test_killed_local_run_keeps_every_finished_batch_and_resumes(tmp_path):
    path, n = tmp_path / "kill", 24
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-c", KILL_SCRIPT, str(path), str(n)]
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while time.time() < deadline and stored(path) < 8 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    kept = stored(path)
    assert 8 <= kept < n and kept % 4 == 0  # whole batches, committed as each finished
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    assert f"new {n - kept} cached {kept}" in done.stdout
    with ResponseStore(path) as store:
        assert len(store) == n
        assert {r.usage["batch_size"] for r in store.iter_responses()} == {4}
