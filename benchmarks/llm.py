"""LLM layer throughput: fake server at 50 ms, cached reruns, the embedded local model.

Prints, for this machine:
* throughput at concurrency 16 against a fake OpenAI-compatible server answering in 50 ms,
  as a fraction of the ideal 16 / 0.05 s = 320 requests/s (target: at least 80%);
* wall time of a fully cached rerun of 10,000 requests (target: under 10 s);
* the local backend's generation tokens/s and choose options/s.

Run: python benchmarks/llm.py [--skip-local]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from replisuite.llm import LLM, Message, ModelEntry, ResponseStore
from replisuite.llm.fake_server import Behaviour, FakeOpenAIServer


def entry(server: FakeOpenAIServer, concurrency: int) -> ModelEntry:
    return ModelEntry(
        name="fake", backend="openai", model="fake", base_url=server.base_url,
        api_key_env="BENCH_KEY", concurrency=concurrency,
    )


def throughput(folder: Path, *, latency: float = 0.05, concurrency: int = 16, n: int = 640) -> None:
    # The server runs in its own process, as a real one would: sharing our interpreter's GIL
    # would charge its work to the client.
    server = subprocess.Popen(
        [sys.executable, "-m", "replisuite.llm.fake_server", "--delay", str(latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    base_url = server.stdout.readline().strip()
    with ResponseStore(folder / "t.sqlite") as store:
        llm = LLM(ModelEntry(name="fake", backend="openai", model="fake", base_url=base_url,
                             api_key_env="BENCH_KEY", concurrency=concurrency), store)
        llm.chat([Message("user", "warm-up")])
        requests = [llm.request([Message("user", f"q{i}")]) for i in range(n)]
        started = time.perf_counter()
        result = llm.run(requests, progress=False)
        elapsed = time.perf_counter() - started
    calls, in_flight = map(int, server.communicate("")[0].split())
    assert result.stats.new_calls == n and calls == n + 1
    ideal = concurrency / latency
    rate = n / elapsed
    print(f"fake server {latency * 1000:.0f} ms, concurrency {concurrency}: {n} requests in {elapsed:.2f} s = "
          f"{rate:.0f} req/s; ideal {ideal:.0f} req/s; ratio {rate / ideal:.2f} (target >= 0.80); "
          f"max in flight {in_flight}")


def cached_rerun(folder: Path, *, n: int = 10_000) -> None:
    with FakeOpenAIServer(Behaviour()) as server, ResponseStore(folder / "c.sqlite") as store:
        llm = LLM(entry(server, 16), store)
        requests = [llm.request([Message("user", f"question {i}")]) for i in range(n)]
        started = time.perf_counter()
        llm.run(requests, progress=False)
        first = time.perf_counter() - started
        calls = server.counters.calls
        started = time.perf_counter()
        rebuilt = [llm.request([Message("user", f"question {i}")]) for i in range(n)]
        result = llm.run(rebuilt, progress=False)
        rerun = time.perf_counter() - started
        assert server.counters.calls == calls and result.stats.cache_hits == n
    print(f"{n} requests: first run {first:.2f} s; fully cached rerun {rerun:.2f} s "
          f"(target < 10 s; ratio to first run {rerun / first:.3f}); new calls on rerun: 0")


def local_backend(folder: Path) -> None:
    from replisuite.llm.local import LocalBackend, _load

    backend = LocalBackend(threads=int(os.environ.get("BENCH_THREADS", "2")))
    started = time.perf_counter()
    _load(backend.path)
    print(f"local SmolLM2-135M: load {time.perf_counter() - started:.1f} s (imports + GGUF de-quantisation)")
    with ResponseStore(folder / "l.sqlite") as store:
        llm = LLM(ModelEntry(name="smol", backend="local", model="SmolLM2-135M-Instruct"), store, backend)
        prompts = [f"Describe a calm place in two sentences. ({i})" for i in range(5)]
        started = time.perf_counter()
        result = llm.run([llm.request([Message("user", p)], max_tokens=64) for p in prompts], progress=False)
        elapsed = time.perf_counter() - started
        tokens = sum(r.usage["completion_tokens"] for r in result.responses)
        print(f"local generation: {tokens} tokens in {elapsed:.2f} s = {tokens / elapsed:.1f} tokens/s "
              f"({backend.threads} threads)")
        options = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
        questions = [f"Statement {i}: I often feel tense. How much do you agree?" for i in range(20)]
        started = time.perf_counter()
        llm.run([llm.request([Message("user", q)], options=options) for q in questions], progress=False)
        elapsed = time.perf_counter() - started
        scored = len(questions) * len(options)
        print(f"local choose (log-likelihood): {scored} options in {elapsed:.2f} s = {scored / elapsed:.1f} options/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-local", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("BENCH_KEY", "bench")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory() as folder:
        throughput(Path(folder))
        cached_rerun(Path(folder))
        if not args.skip_local:
            local_backend(Path(folder))


if __name__ == "__main__":
    main()
