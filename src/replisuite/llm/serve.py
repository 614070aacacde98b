"""A real OpenAI-compatible server for the embedded weights: ``transformers serve`` on loopback.

`TransformersServer` starts ``transformers serve`` (the pinned transformers with its ``serving``
extra) on a free 127.0.0.1 port with a model folder (by default the converted SmolLM2 copy the
local backend loads), waits for ``/health``, and stops it by its process group: a context manager
tests and benchmarks share, as `replisuite.cluster.LocalSlurm` is for SLURM. The server is pinned
to that one model: requests must name it by `model_id` (another name gets HTTP 400). Its access
log (uvicorn's) is kept, so a test can count the requests the server itself received.

A model entry pointing at it::

    llm:
      models:
        served: {backend: openai, model: <server.model_id>, base_url: <server.base_url>}
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from replisuite.llm.backends import LLMError

ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_model_dir() -> Path:
    """The converted SmolLM2 folder (safetensors + tokenizer) the local backend loads, made on first use."""
    from replisuite.llm.local import local_weights, smollm2_path

    return local_weights(str(smollm2_path()))


def serve_command() -> list[str]:
    """How to run the ``transformers`` command of this interpreter's environment."""
    script = Path(sys.executable).with_name("transformers")
    if script.is_file():
        return [str(script)]
    found = shutil.which("transformers")
    if found:
        return [found]
    return [sys.executable, "-c", "from transformers.cli.transformers import main; main()"]


class TransformersServer:
    """``transformers serve`` on 127.0.0.1 for the duration of a ``with`` block.

    Parameters
    ----------
    model_dir
        A model folder (``config.json``, weights, tokenizer); default `embedded_model_dir`.
    log_path
        Where the server's output goes (appended), uvicorn's access log included: `access_log`
        and `completions_served` read it.
    port
        Default: a free port. Restarting on the same port (``restart()``) keeps ``base_url``.
    threads
        torch threads of the server process.
    continuous_batching
        ``--continuous-batching`` (paged attention; batches concurrent requests).
    startup_timeout
        Seconds to wait for ``/health`` before failing with the server's last output.
    """

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, *, log_path: str | os.PathLike[str],
                 port: int | None = None, threads: int = 1, continuous_batching: bool = False,
                 startup_timeout: float = 180.0) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else embedded_model_dir()
        self.log_path = Path(log_path)
        self.port = port or free_port()
        self.threads = threads
        self.continuous_batching = continuous_batching
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL of the server."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def model_id(self) -> str:
        """The model name requests must carry (the server is pinned to its folder)."""
        return str(self.model_dir)

    def command(self) -> list[str]:
        """The ``transformers serve`` command line for these weights."""
        args = [*serve_command(), "serve", str(self.model_dir), "--host", "127.0.0.1", "--port", str(self.port),
                "--device", "cpu", "--log-level", "info"]
        return args + (["--continuous-batching"] if self.continuous_batching else [])

    def start(self) -> TransformersServer:
        """Start the server (once) and wait until it answers; its output goes to ``log_path``."""
        if self._process is not None and self._process.poll() is None:
            return self
        environment = {**os.environ, "OMP_NUM_THREADS": str(self.threads), "MKL_NUM_THREADS": str(self.threads),
                       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=environment,
                                             start_new_session=True)
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise LLMError(f"transformers serve exited with status {self._process.returncode} before it was "
                               f"healthy; its output: {self.log_path}\n{self._tail()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        self.stop()
        raise LLMError(f"transformers serve on port {self.port} was not healthy after {self.startup_timeout:g} s; "
                       f"its output: {self.log_path}\n{self._tail()}")

    def _tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, *, kill: bool = False, timeout: float = 20.0) -> None:
        """Stop the server's process group: SIGTERM (or SIGKILL with ``kill``, as a crash), then SIGKILL."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self) -> TransformersServer:
        """Start again on the same port (the same ``base_url``, so the same request keys)."""
        self.stop()
        return self.start()

    def access_log(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request the server logged, oldest first."""
        text = self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""
        return [(m["method"], m["path"], int(m["status"])) for m in ACCESS.finditer(text)]

    def completions_served(self) -> int:
        """Chat completion requests the server answered with 200."""
        return sum(1 for method, path, status in self.access_log()
                   if method == "POST" and path.startswith("/v1/chat/completions") and status == 200)

    def __enter__(self) -> TransformersServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
