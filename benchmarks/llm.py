"""LLM layer throughput: fake server at 50 ms, cached reruns, the embedded local model.

Prints, for this machine:
* throughput at concurrency 16 against a fake OpenAI-compatible server answering in 50 ms,
  as a fraction of the ideal 16 / 0.05 s = 320 requests/s (target: at least 80%);
* wall time of a fully cached rerun of 10,000 requests (target: under 10 s);
* the local backend's generation tokens/s at batch sizes 1, 4, 8 and 16 with the ratio to
  batch 1 (target at batch 8: at least 4x), and its likelihood choices batched vs one prompt
  at a time with a prefix cache (the path before batching);
* the served path: `transformers serve` on 127.0.0.1 with the same weights, tokens/s at
  concurrency 1, 4 and 16, with and without its continuous batching, beside the local backend's
  batch-16 figure from the same run.

Run: python benchmarks/llm.py [--skip-local] [--skip-served]
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
    with ResponseStore(folder / "t") as store:
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
    with FakeOpenAIServer(Behaviour()) as server, ResponseStore(folder / "c") as store:
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


GENERATION_PROMPTS = [
    "Describe a calm place in two sentences.", "I feel anxious before exams. What can I do?",
    "My friend ignores me. How should I respond?", "Tell me about your week.", "Write a short note of thanks.",
    "What helps you sleep?", "How do I say no to my boss?", "Name three ways to relax.",
]


def local_generation(backend, *, batch_sizes=(1, 4, 8, 16), prompts: int = 16, max_tokens: int = 64) -> dict[int, float]:
    """Tokens/s of greedy generation at each batch size (same prompts, each decoded to max_tokens)."""
    from replisuite.llm import GenerationParams, Request

    requests = [
        Request(kind="chat", backend="local", model="SmolLM2-135M-Instruct",
                messages=(Message("system", "You are a counsellor."),
                          Message("user", f"{GENERATION_PROMPTS[i % len(GENERATION_PROMPTS)]} ({i})")),
                params=GenerationParams(max_tokens=max_tokens))
        for i in range(prompts)
    ]
    rates = {}
    for size in batch_sizes:
        backend.batch_size = size
        started = time.perf_counter()
        completions = [c for batch in backend.plan_batches(requests) for c in backend.complete_batch(batch)]
        elapsed = time.perf_counter() - started
        tokens = sum(c.usage["completion_tokens"] for c in completions)
        rates[size] = tokens / elapsed
        print(f"local generation, batch {size:2d}: {tokens} tokens in {elapsed:6.2f} s = {rates[size]:6.1f} tokens/s; "
              f"ratio to batch 1: {rates[size] / rates[batch_sizes[0]]:.2f}" + (" (target at batch 8: >= 4)" if size == 8 else ""))
    return rates


def local_choose(backend, *, prompts: int = 48) -> None:
    """Options/s of single-token likelihood choices: batched prompts vs the earlier prefix-cache path."""
    import torch
    from transformers import DynamicCache

    from replisuite.llm import Request
    from replisuite.llm.local import _load

    tokenizer, model = _load(backend.path)
    # As in the stigma study: a long shared system prompt, vignettes of about 200 tokens, each
    # asked several questions in a row (the order the earlier prefix cache relied on).
    system = Message("system", "Answer with the letter of one option. " * 20)
    vignette = ("{name} has been feeling really down for the last two weeks, wakes up with a flat, heavy feeling, "
                "finds no pleasure in things, struggles to concentrate, sleeps badly and has pulled away from family. ")
    requests = [
        Request(kind="choose", backend="local", model="SmolLM2-135M-Instruct",
                messages=(system, Message("user", f"Vignette:\n{vignette.format(name=f'Person {i // 6}') * 3}\n"
                                          f"Question {i % 6}: would you work with them?\n(A) yes\n(B) maybe\n(C) no\n(D) unsure")),
                options=("A", "B", "C", "D"), method="loglik")
        for i in range(prompts)
    ]
    options = prompts * 4
    ids = [backend._prompt_ids(r, tokenizer) for r in requests]
    # The pre-batching path: one prompt at a time, reusing the cache of the previous prompt's
    # common prefix (kept here only as the baseline).
    torch.set_num_threads(backend.threads)
    started = time.perf_counter()
    with torch.inference_mode():
        previous, cache = [], None
        for prompt in ids:
            common = 0
            while common < min(len(previous), len(prompt) - 1) and previous[common] == prompt[common]:
                common += 1
            if cache is None or common == 0:
                cache, common = DynamicCache(), 0
            elif len(previous) > common:
                cache.crop(common - len(previous))
            model(input_ids=torch.tensor([prompt[common:]]), cache=cache, use_cache=True)
            previous = prompt
    prefix_rate = options / (time.perf_counter() - started)
    print(f"local choose, one prompt at a time with prefix cache (previous path): {prefix_rate:.1f} options/s")
    for size in (8, 16):
        backend.batch_size = size
        started = time.perf_counter()
        for batch in backend.plan_batches(requests):
            backend.complete_batch(batch)
        rate = options / (time.perf_counter() - started)
        print(f"local choose, batched prompts (batch {size}, shared prefixes once): {rate:.1f} options/s; "
              f"ratio to the prefix-cache path: {rate / prefix_rate:.2f}")


def served(folder: Path, *, local_rate: float | None, concurrencies=(1, 4, 16), prompts: int = 16,
           max_tokens: int = 64) -> None:
    """Tokens/s through `transformers serve` (one server thread, as the local backend's)."""
    from replisuite.llm.serve import TransformersServer

    threads = int(os.environ.get("BENCH_THREADS", "2"))
    for batching in (False, True):
        with TransformersServer(log_path=folder / f"serve-{batching}.log", threads=threads,
                                continuous_batching=batching) as server:
            for concurrency in concurrencies:
                with ResponseStore(folder / f"served-{batching}-{concurrency}") as store:
                    llm = LLM(ModelEntry(name="served", backend="openai", model=server.model_id, base_url=server.base_url,
                                         concurrency=concurrency, timeout=600.0), store)
                    requests = [llm.request([Message("system", "You are a counsellor."),
                                             Message("user", f"{GENERATION_PROMPTS[i % len(GENERATION_PROMPTS)]} ({i})")],
                                            max_tokens=max_tokens) for i in range(prompts)]
                    started = time.perf_counter()
                    result = llm.run(requests, progress=False)
                    elapsed = time.perf_counter() - started
                tokens = sum(r.usage.get("completion_tokens", 0) for r in result.responses)
                rate = tokens / elapsed
                beside = f"; ratio to the local backend at batch 16: {rate / local_rate:.2f}" if local_rate else ""
                print(f"served (transformers serve, {threads} threads, continuous batching {'on' if batching else 'off'}), "
                      f"concurrency {concurrency:2d}: {tokens} tokens in {elapsed:6.2f} s = {rate:6.1f} tokens/s{beside}")


def local_backend(folder: Path) -> float:
    from replisuite.llm.local import LocalBackend, _load

    backend = LocalBackend(threads=int(os.environ.get("BENCH_THREADS", "2")))
    started = time.perf_counter()
    _load(backend.path)
    print(f"local SmolLM2-135M: load {time.perf_counter() - started:.1f} s (imports + GGUF de-quantisation); "
          f"{backend.threads} threads")
    rates = local_generation(backend)
    local_choose(backend)
    return rates[16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--skip-served", action="store_true", help="skip transformers serve (the serving extra)")
    args = parser.parse_args()
    os.environ.setdefault("BENCH_KEY", "bench")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory() as folder:
        throughput(Path(folder))
        cached_rerun(Path(folder))
        local_rate = None if args.skip_local else local_backend(Path(folder))
        if not args.skip_served:
            served(Path(folder), local_rate=local_rate)


if __name__ == "__main__":
    main()
