"""Named model entries from the ``llm:`` config section, and the client studies use."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from replisuite.llm.backends import Backend, LLMError, ReplayBackend
from replisuite.llm.openai_compat import SEED_PROBE_CALLS
from replisuite.llm.requests import Choice, GenerationParams, Message, Request, Response
from replisuite.llm.runner import PLAN_ENV, RetryPolicy, RunResult, plan_requests, run_requests
from replisuite.llm.store import ResponseStore
from replisuite.provenance import LLM_COUNTS

BACKENDS = ("local", "openai", "replay", "scripted")
# GenerationParams fields for which an explicit None is a value (no seed; the server's top_p)
NULLABLE_PARAMS = ("seed", "top_p")


@dataclass(frozen=True)
class ModelEntry:
    """One named model of the ``llm.models`` config section.

    Attributes
    ----------
    name
        The entry's name, used by studies and in tables (``smollm2-135m``).
    backend, model
        Backend and the model id sent to it.
    label
        How tables and figures name it (say when it is a small or a replayed model).
    params
        Default decoding parameters.
    concurrency, rate_limit_per_minute, max_attempts
        How the runner sends requests.
    base_url, api_key_env, timeout
        For ``openai``: server, name of the variable holding the key, seconds per request. With a
        ``base_url``, a key is sent only from a variable the entry names; without one (OpenAI
        itself), ``api_key_env`` defaults to ``OPENAI_API_KEY``.
    threads, batch_size
        For ``local``: torch threads; requests answered in one batch (default: the backend's).
    adapter
        For ``local``: a LoRA adapter folder (e.g. ``results/preference/adapter``, written by
        :func:`replisuite.llm.tuning.train_dpo`) merged into the base weights on load. Requests
        name the model as ``<model>+lora:<digest of the adapter weights>``, so a retrained
        adapter never reuses the base model's, or an older adapter's, stored answers.
    """

    name: str
    backend: str
    model: str
    label: str = ""
    params: GenerationParams = field(default_factory=GenerationParams)
    concurrency: int = 1
    rate_limit_per_minute: float | None = None
    max_attempts: int = 6
    base_url: str | None = None
    api_key_env: str | None = None
    timeout: float = 60.0
    threads: int | None = None
    batch_size: int | None = None
    adapter: str | None = None

    @property
    def request_model(self) -> str:
        """The model id requests carry (and their store keys hash)."""
        if not self.adapter:
            return self.model
        from replisuite.llm.tuning import adapter_digest

        return f"{self.model}+lora:{adapter_digest(self.adapter)}"

    @property
    def server(self) -> str:
        """What answers besides the model id, as request keys hold it (see `Request.server`)."""
        if self.backend == "openai":
            return normalised_url(self.base_url) if self.base_url else ""
        if self.backend == "local":
            from replisuite.llm.local import weights_digest

            return f"weights:sha256:{weights_digest()}"
        return ""

    @classmethod
    def from_config(cls, name: str, values: Mapping[str, Any]) -> ModelEntry:
        """A validated model entry from its ``llm.models.<name>`` config; :class:`LLMError` naming the key otherwise."""
        values = dict(values)
        if values.get("backend") not in BACKENDS:
            raise LLMError(f"llm.models.{name}.backend must be one of {BACKENDS}, got {values.get('backend')!r}")
        if "api_key" in values:
            raise LLMError(f"llm.models.{name}: keys never go in config; name the variable with api_key_env")
        if values.get("adapter") and values["backend"] != "local":
            raise LLMError(f"llm.models.{name}.adapter: only a local entry can load an adapter, not {values['backend']!r}")
        params = GenerationParams.from_dict(values.pop("params", {}) or {})
        return cls(name=name, params=params, label=values.pop("label", "") or name, **values)

    def describe(self) -> dict[str, Any]:
        """Provenance: everything except secrets (the key itself is never held here)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def normalised_url(url: str) -> str:
    """``url`` as request keys hold it: scheme and host lower-cased, a default port and a trailing
    slash dropped (``HTTP://Host:80/v1/`` -> ``http://host/v1``).
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path.rstrip("/"), parts.query, ""))


def load_models(section: Mapping[str, Any]) -> dict[str, ModelEntry]:
    """Parse ``config['llm']['models']``."""
    return {name: ModelEntry.from_config(name, values) for name, values in (section.get("models") or {}).items()}


def make_backend(entry: ModelEntry) -> Backend:
    """Instantiate the backend an entry names (the scripted double only inside tests)."""
    if entry.backend == "local":
        from replisuite.llm.local import LocalBackend

        options = {} if entry.batch_size is None else {"batch_size": entry.batch_size}
        return LocalBackend(model=entry.model, threads=entry.threads, adapter=entry.adapter, **options)
    if entry.backend == "openai":
        from replisuite.llm.openai_compat import OpenAIBackend

        return OpenAIBackend(
            base_url=entry.base_url, api_key_env=key_variable(entry), timeout=entry.timeout,
            max_concurrency=entry.concurrency,
        )
    if entry.backend == "replay":
        return ReplayBackend()
    raise LLMError(
        f"model entry {entry.name!r}: backend {entry.backend!r} cannot be built from config "
        "(the scripted backend is a test double, constructed by tests only)"
    )


def key_variable(entry: ModelEntry) -> str | None:
    """The variable an entry's API key is read from: the one it names; ``OPENAI_API_KEY`` for
    OpenAI itself (no ``base_url``); none for another server that names none, so that a user's
    OpenAI key is never sent to a host the user did not give it to.
    """
    if entry.api_key_env:
        return entry.api_key_env
    return None if entry.base_url else "OPENAI_API_KEY"


def store_path(store_dir: str | os.PathLike[str], study: str) -> Path:
    """One store per study: the folder ``<store_dir>/<study>`` (see :mod:`replisuite.llm.store`)."""
    return Path(store_dir) / study


class LLM:
    """A model entry bound to a backend and a store: what study code talks to.

    Examples
    --------
    >>> llm = LLM(entry, store)  # doctest: +SKIP
    >>> llm.chat([Message("user", "Hello")]).text  # doctest: +SKIP
    >>> llm.choose([Message("user", "Agree?")], ["Yes", "No"]).option  # doctest: +SKIP
    """

    def __init__(self, entry: ModelEntry, store: ResponseStore, backend: Backend | None = None) -> None:
        self.entry = entry
        self.store = store
        self._backend = backend
        self.totals = Counter()
        self.model_versions: set[str] = set()
        self._reachable = False
        self._plan_seen: dict[str, Response] = {}

    @property
    def backend(self) -> Backend:
        """The entry's backend, made on first use."""
        if self._backend is None:
            self._backend = make_backend(self.entry)
        return self._backend

    def request(
        self,
        messages: Sequence[Message | Mapping[str, str]],
        *,
        options: Sequence[str] = (),
        method: str | None = None,
        prefill: str = "",
        sample: str = "",
        **params: Any,
    ) -> Request:
        """Build a request with this entry's backend, model and default parameters.

        A parameter given as ``None`` unsets the entry's value where ``None`` means something
        (``seed``, ``top_p``: no seed, the server's default); for the others it means "not given".
        """
        merged = replace(self.entry.params, **{k: v for k, v in params.items() if v is not None or k in NULLABLE_PARAMS})
        if isinstance(merged.stop, list):
            merged = replace(merged, stop=tuple(merged.stop))
        kind = "choose" if options else "chat"
        if kind == "choose" and method is None:
            method = "loglik" if self.entry.backend == "local" else "parsed"
        if self.entry.backend == "openai" and (kind == "choose" and method == "loglik" or prefill):
            what = "scoring options by likelihood (method 'loglik')" if not prefill else "continuing a prefilled reply"
            raise LLMError(
                f"model entry {self.entry.name!r} ({self.entry.base_url or 'api.openai.com'}): {what} needs the "
                "model's token log-probabilities, which an OpenAI-compatible chat server does not give here; set "
                "this study's method for the entry to the generating one ('generate' or 'parsed', e.g. "
                f"answer_method: {{{self.entry.name}: generate}}), which parses the reply strictly")
        return Request(
            kind=kind,
            backend=self.entry.backend,
            model=self.entry.request_model,
            messages=tuple(m if isinstance(m, Message) else Message(**m) for m in messages),
            params=merged,
            options=tuple(options),
            method=method or "",
            prefill=prefill,
            sample=sample,
            server=self.entry.server,
        )

    def run(self, requests: Sequence[Request], **options: Any) -> RunResult:
        """Answer a batch (see :func:`run_requests`), keeping totals for the manifest.

        In a plan run (``REPLISUITE_LLM_PLAN`` names a file) nothing is sent: see :func:`plan_requests`.
        """
        if plan_path := os.environ.get(PLAN_ENV):
            result = plan_requests(requests, self.store, seen=self._plan_seen, plan_path=plan_path,
                                   record={"study": self.store.path.name, "entry": self.entry.name,
                                           "backend": self.entry.backend})
            self.totals.update(result.stats.as_dict())
            return result
        # A fully cached batch never builds the backend (loading the local model takes seconds).
        cached = self.store.get_many(r.key for r in requests)
        backend = self._backend if len(cached) == len({r.key for r in requests}) else self.backend
        if backend is not None and not self._reachable and hasattr(backend, "check_reachable"):
            try:
                backend.check_reachable()     # once, before the first request: seconds, not minutes of retries
            except LLMError as error:
                raise LLMError(f"model entry {self.entry.name!r}: {error}") from None
            self._reachable = True
        if backend is not None and getattr(backend, "seed_check", "") is None and any(
                r.params.seed is not None and r.params.temperature > 0 and r.key not in cached for r in requests):
            backend.probe_seed(self.entry.request_model)
            self.totals["probe_calls"] += SEED_PROBE_CALLS
        options = {
            "concurrency": self.entry.concurrency,
            "rate_limit_per_minute": self.entry.rate_limit_per_minute,
            "retry": RetryPolicy(max_attempts=self.entry.max_attempts),
            "description": self.entry.name,
            **options,
        }
        result = run_requests(requests, backend or ReplayBackend(), self.store, **options)
        self.totals.update(result.stats.as_dict())
        self.model_versions.update(r.model_version for r in result.responses if r and r.model_version)
        return result

    def chat(self, messages: Sequence[Message | Mapping[str, str]], **params: Any) -> Response:
        """One free-text answer (from the store when it holds it)."""
        return self.run([self.request(messages, **params)], progress=False).responses[0]

    def choose(
        self,
        messages: Sequence[Message | Mapping[str, str]],
        options: Sequence[str],
        *,
        method: str | None = None,
        **params: Any,
    ) -> Choice:
        """Pick one of ``options``: by likelihood (``loglik``) or by strict parsing (``parsed``)."""
        request = self.request(messages, options=options, method=method, **params)
        return Choice.from_response(self.run([request], progress=False).responses[0])

    def provenance(self) -> dict[str, Any]:
        """Manifest entry: backend, model id and versions, parameters, request counts."""
        return {
            "entry": self.entry.name,
            "label": self.entry.label,
            "backend": self.entry.backend,
            "model": self.entry.model,
            "adapter": self.entry.adapter,
            "request_model": self.entry.request_model,
            "model_versions": sorted(self.model_versions),
            "params": asdict(self.entry.params),
            "base_url": self.entry.base_url,
            "server": self.entry.server,
            **self._seed_check(),
            **{k: int(self.totals.get(k, 0)) for k in LLM_COUNTS},
        }

    def _seed_check(self) -> dict[str, Any]:
        """What the seed probe found (served entries that sent sampled requests only)."""
        found = getattr(self._backend, "seed_check", None)
        return {"seed_check": found, "server_ignores": list(self._backend.ignored_params)} if found else {}


def chat(messages: Iterable[Message | Mapping[str, str]], *, model: LLM, **params: Any) -> Response:
    """Module-level form of :meth:`LLM.chat`."""
    return model.chat(list(messages), **params)


def choose(messages: Iterable[Message | Mapping[str, str]], options: Sequence[str], *, model: LLM, **params: Any) -> Choice:
    """Module-level form of :meth:`LLM.choose`."""
    return model.choose(list(messages), options, **params)


def open_study_models(
    section: Mapping[str, Any], study: str, names: Sequence[str], *, threads: int | None = None
) -> tuple[ResponseStore, dict[str, LLM]]:
    """The study's store and an :class:`LLM` per listed entry (an unknown name is an error).

    ``threads`` (the Snakemake job's) replaces the torch threads of ``local`` entries.
    """
    models = load_models(section)
    unknown = [name for name in names if name not in models]
    if unknown:
        raise LLMError(f"study {study!r} lists unknown model entries {unknown}; llm.models has {sorted(models)}")
    if threads:
        models = {n: replace(e, threads=threads) if e.backend == "local" else e for n, e in models.items()}
    store = ResponseStore(store_path(section["store_dir"], study))
    return store, {name: LLM(models[name], store) for name in names}


def model_labels(section: Mapping[str, Any]) -> dict[str, str]:
    """Entry name -> the label tables and figures show."""
    return {name: entry.get("label", name) for name, entry in section["models"].items()}
