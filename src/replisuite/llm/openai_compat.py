"""Any OpenAI-compatible chat server: OpenAI, vLLM, Ollama, llama.cpp server."""

from __future__ import annotations

import logging
import os
import time

from replisuite.llm.backends import LLMError, TransientError, parse_choice, without_stop
from replisuite.llm.requests import Completion, Request

# 408 request timeout, 409 conflict, 425 too early, 429 rate limited: worth retrying.
RETRYABLE_STATUS = {408, 409, 425, 429}
PLACEHOLDER_KEY = "not-needed"
SEED_PROBE_PROMPT = "Write one unusual sentence about the sea."
SEED_PROBE_CALLS = 3   # seeds 1, 1, 2   # local servers (vLLM, Ollama, llama.cpp, transformers serve) accept any key
log = logging.getLogger("replisuite.llm")


def retry_after(response) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date), else None."""
    value = response.headers.get("retry-after") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class OpenAIBackend:
    """Chat completions through the ``openai`` client.

    Parameters
    ----------
    base_url
        Server URL (``http://localhost:8000/v1`` for vLLM); ``None`` means api.openai.com.
    api_key_env
        Name of the environment variable holding the key (``None``: send no key; needs a
        ``base_url``).  Keys never come from config files, and never appear in errors, logs or outputs.
    timeout
        Seconds per request.
    max_concurrency
        Requests in flight at once.
    """

    name = "openai"

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_concurrency: int = 8,
    ) -> None:
        import openai

        key = os.environ.get(api_key_env) if api_key_env else None
        if not key:
            if base_url is None:
                raise LLMError(f"the openai backend needs an API key in ${api_key_env or 'OPENAI_API_KEY'}")
            why = f"${api_key_env} is not set" if api_key_env else "the entry names no api_key_env"
            log.info("%s: %s, so no API key is sent (the Authorization header carries the placeholder %r, "
                     "which local servers accept)", base_url, why, PLACEHOLDER_KEY)
            key = PLACEHOLDER_KEY
        self._secret = key if key != PLACEHOLDER_KEY else ""
        self.base_url = base_url
        self.max_concurrency = max_concurrency
        self._openai = openai
        self._client = openai.OpenAI(base_url=base_url, api_key=key, timeout=timeout, max_retries=0)
        self.ignored_params: tuple[str, ...] = ()
        self.seed_check: str | None = None   # what probe_seed found; None: not probed

    def check_reachable(self, *, attempts: int = 3, timeout: float = 5.0, pause: float = 1.0) -> None:
        """Fail in seconds, naming the URL, when the server cannot be reached at all.

        Lists ``/models`` (any HTTP answer, even an error status, shows a server is there); only
        a refused or timed-out connection on every attempt is an error. Transient errors once a
        run is going are retried by the runner instead.
        """
        where = self.base_url or "api.openai.com"
        client = self._client.with_options(timeout=timeout, max_retries=0)
        for attempt in range(attempts):
            try:
                client.models.list()
                return
            except self._openai.APIStatusError:
                return
            except (self._openai.APITimeoutError, self._openai.APIConnectionError) as error:
                failure = self._redact(f"{type(error).__name__}: {error}")
            if attempt + 1 < attempts:
                time.sleep(pause)
        raise LLMError(f"cannot reach {where} ({attempts} attempts, {timeout:g} s each): {failure}; "
                       "is the server running, and is base_url right?")

    def probe_seed(self, model: str, *, max_tokens: int = 16) -> str:
        """Whether the server honours ``seed``: three sampled replies to one prompt, seeds 1, 1, 2.

        ``"honoured"``: the two seed-1 replies agree and the seed-2 one differs; ``"ignored"``: the
        seed-1 replies differ (the server samples without it: :attr:`ignored_params` holds
        ``"seed"``); ``"no effect seen"``: all three agree, so the server decodes greedily whatever
        temperature it is asked for (``transformers serve`` 5.24 does, unless the model's own
        generation config samples: a temperature does not switch sampling on there):
        :attr:`ignored_params` holds ``"temperature"``. Every completion then lists what it sent in
        vain (a seed; a temperature above 0). Three short requests, once per backend, before the
        first sampled request with a seed; they are not study requests and are not stored.
        """
        def sample(seed: int) -> str:
            reply = self._client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": SEED_PROBE_PROMPT}],
                temperature=1.0, top_p=1.0, max_tokens=max_tokens, seed=seed)
            return reply.choices[0].message.content if reply.choices else ""

        first, again, other = sample(1), sample(1), sample(2)
        self.seed_check = "ignored" if first != again else "honoured" if first != other else "no effect seen"
        self.ignored_params = {"ignored": ("seed",), "no effect seen": ("temperature",)}.get(self.seed_check, ())
        log.info("%s: seed %s (same seed twice: %s; another seed: %s)", self.base_url or "api.openai.com",
                 self.seed_check, "same reply" if first == again else "different replies",
                 "same reply" if first == other else "a different reply")
        return self.seed_check

    def complete(self, request: Request) -> Completion:
        """Answer one request with a chat completion (or the scored options of a choice) from the endpoint."""
        params = request.params
        arguments = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "temperature": params.temperature,
            "max_tokens": params.max_tokens,
        }
        if params.seed is not None:
            arguments["seed"] = params.seed
        if params.stop:
            arguments["stop"] = list(params.stop)
        if params.top_p is not None:
            arguments["top_p"] = params.top_p
        if request.prefill:
            raise LLMError(f"{request.describe()}: the openai backend cannot continue a prefilled reply")
        if request.kind == "choose" and request.method != "parsed":
            raise LLMError(f"{request.describe()}: the openai backend answers closed questions with method 'parsed'")
        try:
            reply = self._client.chat.completions.create(**arguments)
        except self._openai.APIStatusError as error:
            message = self._redact(f"HTTP {error.status_code} from {self.base_url or 'api.openai.com'}: {error.message}")
            if error.status_code >= 500 or error.status_code in RETRYABLE_STATUS:
                raise TransientError(message, retry_after=retry_after(error.response)) from None
            raise LLMError(f"{request.describe()}: {message}") from None
        except (self._openai.APITimeoutError, self._openai.APIConnectionError) as error:
            raise TransientError(self._redact(f"{type(error).__name__}: {error}")) from None
        if not reply.choices:
            raise LLMError(f"{request.describe()}: the server at {self.base_url or 'api.openai.com'} answered with no choices")
        text = without_stop(reply.choices[0].message.content or "", params.stop)
        return Completion(
            text=text,
            parsed=parse_choice(text, request.options) if request.kind == "choose" else None,
            model_version=reply.model,
            fingerprint=reply.system_fingerprint,
            usage=reply.usage.model_dump() if reply.usage else {},
            server_ignores=tuple(p for p in self.ignored_params if p in arguments and (p != "temperature" or
                                                                                       params.temperature > 0)),
        )

    def _redact(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text
