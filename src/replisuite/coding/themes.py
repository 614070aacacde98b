"""Themes from coded processes in two steps: embedding clusters, then a model names and merges them.

Step 1 clusters the processes' texts (sentence embeddings, k-means, seeded); step 2 asks a model to
name each cluster from its members and then which names are one theme (both requests stored). Theme
stability across seeds is the adjusted Rand index between seeds' clusterings, beside the same
between-seed ARI on structureless embeddings: every dimension permuted independently across the
processes (same marginals and norm, no shared structure). Seeded k-means with several restarts is
stable on almost any input, so that null can look stable too; a relabelling null (ARI ~0 by
construction) could not fail.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.judge.judging import extract_json
from replisuite.llm import LLM, Message

STABILITY_SCHEMA = {"seed_a": pl.Int64, "seed_b": pl.Int64, "ari": pl.Float64, "null_ari": pl.Float64}
NULL = "embeddings with every dimension permuted across processes"


def cluster(vectors: np.ndarray, *, n_clusters: int, seed: int) -> np.ndarray:
    """Cluster labels of the (unit-length) vectors by k-means with ``seed``."""
    from sklearn.cluster import KMeans  # scikit-learn loads in ~1 s: only the jobs that cluster pay it

    n_clusters = min(n_clusters, len(vectors))
    return KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(vectors)


def structureless(vectors: np.ndarray, *, seed: int) -> np.ndarray:
    """The vectors with every dimension permuted independently across rows, rescaled to the rows'
    original norms: the same marginals, no structure shared between processes.
    """
    rng = np.random.default_rng(seed)
    permuted = np.column_stack([rng.permutation(column) for column in vectors.T]) if vectors.size else vectors
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scale = np.linalg.norm(permuted, axis=1, keepdims=True)
    return np.divide(permuted * norms, scale, out=np.zeros_like(permuted), where=scale > 0)


def stability(vectors: np.ndarray, *, n_clusters: int, seeds: Sequence[int]) -> pl.DataFrame:
    """ARI between every two seeds' clusterings, and the same two seeds' ARI on
    :func:`structureless` embeddings (one null set per pair, seeded by the pair).
    """
    from sklearn.metrics import adjusted_rand_score

    labels = {seed: cluster(vectors, n_clusters=n_clusters, seed=seed) for seed in seeds}
    rows = []
    for a, b in itertools.combinations(seeds, 2):
        null = structureless(vectors, seed=int(np.random.SeedSequence([a, b]).generate_state(1)[0]))
        rows.append({"seed_a": a, "seed_b": b, "ari": float(adjusted_rand_score(labels[a], labels[b])),
                     "null_ari": float(adjusted_rand_score(cluster(null, n_clusters=n_clusters, seed=a),
                                                           cluster(null, n_clusters=n_clusters, seed=b)))})
    return pl.DataFrame(rows, schema=STABILITY_SCHEMA)


def naming_messages(members: Sequence[str], *, what: str) -> list[Message]:
    """The messages asking a model to name the theme shared by one cluster's ``members``."""
    listed = "\n".join(f"- {m}" for m in members)
    return [Message("system", "You group what clients say in therapy into clinical themes."),
            Message("user", f"These {what} belong together:\n{listed}\n\nName the clinical theme they share in two to "
                            "five words. Reply with the name only.")]


def merging_messages(names: Sequence[str]) -> list[Message]:
    """The messages asking a model which theme ``names`` mean the same theme (strict JSON)."""
    listed = "\n".join(f"- {n}" for n in names)
    return [Message("system", "You group what clients say in therapy into clinical themes. Reply with JSON only."),
            Message("user", f"Theme names:\n{listed}\n\nWhich names mean the same theme? Reply as "
                            '{"merge": [["name", "name"], ...]} listing only names that should be merged, or '
                            '{"merge": []}.')]


PREAMBLE = re.compile(r"^\W*(the\s+)?(clinical\s+)?theme(\s+(they|that\s+they)\s+share)?(\s+(is|in|would\s+be))?\s*:?\s*",
                      re.IGNORECASE)


def clean_name(text: str, fallback: str) -> str:
    """The name in the reply's first line: the quoted phrase if there is one, else the line without a
    "The clinical theme is" preamble; at most six words.
    """
    line = (text.strip().splitlines() or [""])[0]
    quoted = re.search(r'"([^"]{3,})"?', line)  # a name the model put in quotes
    line = (quoted.group(1) if quoted else PREAMBLE.sub("", line)).strip(' "\'')
    name = " ".join(line.split()[:6]).rstrip(".").strip(' "\'')
    return name or fallback


def name_and_merge(llm: LLM, clusters: Mapping[int, Sequence[str]], *, what: str = "processes",
                   max_members: int = 12, params: Mapping[str, Any] | None = None) -> tuple[dict[int, str], dict[str, Any]]:
    """Step 2: a name per cluster, then merges; cluster -> theme name, and what the model said
    (names, merge groups, whether the merge reply parsed, request keys).
    """
    params = dict(params or {})
    ids = sorted(clusters)
    requests = [llm.request(naming_messages(list(clusters[c])[:max_members], what=what), **params) for c in ids]
    names = {c: clean_name(r.text, f"theme {c}") for c, r in zip(ids, llm.run(requests).responses, strict=True)}
    unique = sorted(set(names.values()))
    merge_request = llm.request(merging_messages(unique), **params)
    reply = llm.run([merge_request]).responses[0].text
    groups, parsed = _merge_groups(reply, unique)
    canonical = {name: name for name in unique}
    for group in groups:  # union of the named groups; the first-sorted name stands for the group
        members = sorted({canonical[n] for n in group})
        for name, target in canonical.items():
            if target in members:
                canonical[name] = members[0]
    return ({c: canonical[n] for c, n in names.items()},
            {"names": {str(c): n for c, n in names.items()}, "merges": groups, "merge_parsed": parsed,
             "request_keys": [r.key for r in requests] + [merge_request.key]})


def _merge_groups(reply: str, names: Sequence[str]) -> tuple[list[list[str]], bool]:
    try:
        value = extract_json(reply)
    except ValueError:
        return [], False
    groups = value.get("merge")
    if not isinstance(groups, list):
        return [], False
    known = set(names)
    kept = [[n for n in g if n in known] for g in groups if isinstance(g, list)]
    return [g for g in kept if len(set(g)) > 1], True


def frequencies(processes: pl.DataFrame) -> pl.DataFrame:
    """Per case and theme: how many processes and in how many units."""
    return processes.group_by("case", "theme").agg(pl.len().cast(pl.Int64).alias("processes"),
                                                   pl.col("unit").n_unique().cast(pl.Int64).alias("units")).sort("case", "theme")


def cooccurrence(units_codes: pl.DataFrame, *, column: str) -> pl.DataFrame:
    """How many units carry both of two labels (``column``), per case and overall (case ``all``)."""
    rows = []
    for case, frame in [("all", units_codes), *((c, f) for (c,), f in units_codes.group_by("case", maintain_order=True))]:
        sets = frame.group_by("unit").agg(pl.col(column).unique().sort())[column].to_list()
        labels = sorted({x for s in sets for x in s})
        for a, b in itertools.combinations_with_replacement(labels, 2):
            count = sum(1 for s in sets if a in s and b in s)
            rows.append({"case": case, "a": a, "b": b, "units": count})
    return pl.DataFrame(rows, schema={"case": pl.String, "a": pl.String, "b": pl.String, "units": pl.Int64})
