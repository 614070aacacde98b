"""A local OpenAI-compatible server for tests and benchmarks (127.0.0.1 only).

It answers ``POST /v1/chat/completions`` with ``"echo: <last user message>"`` (or with what a
``respond(body)`` callable returns, e.g. a judge's JSON) and can be told
to delay, fail with a status code, or drop the connection for the first N attempts at each
distinct prompt.  It counts calls and the most requests it had in flight at once.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


SAMPLED_WORDS = ("tide", "gull", "reef", "spray", "brine", "kelp")


@dataclass
class Behaviour:
    """What the server does; ``fail_first``/``drop_first``/``slow_first`` count per prompt."""

    delay_s: float = 0.0
    fail_status: int = 500
    fail_first: int = 0
    drop_first: int = 0
    slow_first: int = 0
    slow_s: float = 0.0
    always_status: int | None = None
    model_version: str = "fake-model-2026-01-01"
    fingerprint: str = "fp_fake"
    respond: Callable[[dict], str] | None = None
    # transformers serve (5.24) ends a reply at a stop sequence but keeps the sequence in the text;
    # OpenAI leaves it out. True: answer "<reply> <first stop> trailing" as such a server would.
    keeps_stop: bool = False
    retry_after: str | None = None  # Retry-After header sent with a failure status
    # Sampling (temperature > 0) as a real server does it: None answers deterministically whatever
    # the seed (a greedy server); False adds a word drawn from the request's seed; True adds a
    # word drawn afresh each time (a server that ignores ``seed``, as some do without saying so).
    ignores_seed: bool | None = None
    # transformers serve is pinned to the model it started with: a request naming another gets 400
    only_model: str | None = None


@dataclass
class Counters:
    """What the fake server saw: calls, concurrency, prompts and the authorization headers sent."""

    calls: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    per_prompt: Counter = field(default_factory=Counter)
    prompts: list[str] = field(default_factory=list)
    authorization: set[str] = field(default_factory=set)


class FakeOpenAIServer:
    """Start with ``with FakeOpenAIServer(Behaviour(...)) as server: server.base_url``."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.counters = Counters()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body are two writes: without this, Nagle + delayed ACK add 40 ms
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                # /v1/models, as the client's reachability check asks; not counted as a call
                data = json.dumps({"object": "list", "data": [
                    {"id": server.behaviour.model_version, "object": "model", "created": 0, "owned_by": "fake"}]}).encode()
                self.send_response(200 if self.path.rstrip("/").endswith("/models") else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with server._lock:
                    counters = server.counters
                    counters.calls += 1
                    counters.per_prompt[prompt] += 1
                    counters.prompts.append(prompt)
                    counters.authorization.add(self.headers.get("Authorization", ""))
                    attempt = counters.per_prompt[prompt]
                    counters.in_flight += 1
                    counters.max_in_flight = max(counters.max_in_flight, counters.in_flight)
                try:
                    server._answer(self, body, prompt, attempt)
                finally:
                    with server._lock:
                        server.counters.in_flight -= 1

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the running server."""
        return f"http://127.0.0.1:{self._http.server_port}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict, prompt: str, attempt: int) -> None:
        behaviour = self.behaviour
        if attempt <= behaviour.slow_first:
            time.sleep(behaviour.slow_s)
        if behaviour.delay_s:
            time.sleep(behaviour.delay_s)
        if attempt <= behaviour.drop_first:
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        status = behaviour.always_status or (behaviour.fail_status if attempt <= behaviour.fail_first else 200)
        if behaviour.only_model is not None and body.get("model") != behaviour.only_model:
            status = 400
            payload = {"error": {"message": f"this server serves {behaviour.only_model}, not {body.get('model')}",
                                 "type": "invalid_request_error"}}
        elif status != 200:
            # Echo the Authorization header, as a careless proxy might: the client must redact it.
            payload = {"error": {"message": f"status {status}; saw {handler.headers.get('Authorization')}", "type": "test"}}
        else:
            content = behaviour.respond(body) if behaviour.respond else f"echo: {prompt}"
            if behaviour.ignores_seed is not None and body.get("temperature", 1.0) > 0:
                draw = random.Random() if behaviour.ignores_seed else random.Random(f"{body.get('seed')}|{prompt}")
                content = f"{content} {draw.choice(SAMPLED_WORDS)}{draw.randrange(10**6)}"
            if behaviour.keeps_stop and body.get("stop"):
                content = f"{content}{body['stop'][0]}"
            payload = {
                "id": f"chatcmpl-{attempt}",
                "object": "chat.completion",
                "created": 0,
                "model": behaviour.model_version,
                "system_fingerprint": behaviour.fingerprint,
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                ],
                "usage": {"prompt_tokens": len(prompt.split()), "completion_tokens": 2, "total_tokens": len(prompt.split()) + 2},
            }
        data = json.dumps(payload).encode()
        handler.send_response(status)
        if status != 200 and behaviour.retry_after is not None:
            handler.send_header("Retry-After", behaviour.retry_after)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)


def main(argv: list[str] | None = None) -> None:
    """Serve in a process of its own (benchmarks): prints the base URL, stops on stdin EOF."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="fake OpenAI-compatible server on 127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    with FakeOpenAIServer(Behaviour(delay_s=args.delay)) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()
        print(server.counters.calls, server.counters.max_in_flight, flush=True)


if __name__ == "__main__":
    main()
