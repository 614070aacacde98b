"""The topics study's steps as the workflow runs them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy.stats import chi2_contingency

from replisuite.atomic import atomic_open, atomic_path
from replisuite.llm import ResponseStore, embed, store_path
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.tables import write_table
from replisuite.topics.data import read_answers
from replisuite.topics.evaluate import match_topics, npmi_coherence
from replisuite.topics.model import OUTLIER, TopicModel, fit_bertopic, fit_nmf, map_2d


def slug(group: str) -> str:
    """A group name usable in file names."""
    return group.replace(" ", "_")


def embed_answers(study: Mapping[str, Any], counsel_chat: str, *, store_dir: str, documents_out: str, embeddings_out: str) -> None:
    """The distinct answers with their therapist group, and their MiniLM vectors (cached)."""
    documents = read_answers(counsel_chat, groups=study["groups"], min_chars=study["min_chars"])
    if study["max_documents"]:
        documents = documents.head(study["max_documents"])
    with ResponseStore(store_path(store_dir, "topics")) as store:
        vectors = embed(documents["text"].to_list(), store=store)
    with atomic_path(documents_out) as tmp:
        documents.write_parquet(tmp)
    with atomic_path(embeddings_out) as tmp, open(tmp, "wb") as handle:
        np.save(handle, vectors)


def fit(study: Mapping[str, Any], *, documents: str, embeddings: str, fits: Sequence[tuple[str | None, int, str]],
        map_seed: int, map_out: str) -> None:
    """BERTopic on all answers (group ``None``) or one group's, once per ``(group, seed, out)``; each written as JSON.
    Then the seeded 2-D UMAP of all answers for the map figure (``map_seed``), written to ``map_out`` (``.npy``).

    One job fits them all: UMAP's numba functions compile once per process (about 14 s on one
    core), which was most of each fit's time; the 2-D map reuses the compiled code.
    """
    frame = pl.read_parquet(documents)
    vectors = np.load(embeddings)
    for group, seed, out in fits:
        keep = np.ones(frame.height, dtype=bool) if group is None else (frame["group"] == group).to_numpy()
        subset = frame.filter(pl.Series(keep))
        model = fit_bertopic(subset["text"].to_list(), vectors[keep], seed=seed, umap=study["umap"], hdbscan=study["hdbscan"],
                             vectorizer=study["vectorizer"], top_n=study["top_n_words"])
        with atomic_open(out) as handle:
            json.dump({"seed": seed, "group": group, "docs": subset["doc"].to_list(), **model.to_json()}, handle)
    coordinates = map_2d(vectors, seed=map_seed, n_neighbors=study["umap"]["n_neighbors"])
    with atomic_path(map_out) as tmp, open(tmp, "wb") as handle:
        np.save(handle, coordinates)


def _load(path: str) -> tuple[dict[str, Any], TopicModel]:
    values = json.loads(open(path).read())
    return values, TopicModel.from_json(values)


def _topics(model: TopicModel) -> list[int]:
    return [t for t in sorted(model.words) if t != OUTLIER]


def summarise(study: Mapping[str, Any], *, documents: str, document_map: str, seed_models: Sequence[str],
              group_models: Sequence[str], tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Topic table, sizes by group, coherence vs NMF, stability over seeds, the two groups compared."""
    from replisuite.topics import figures

    frame = pl.read_parquet(documents)
    texts = frame["text"].to_list()
    reference_values, reference = _load(seed_models[0])
    topics = _topics(reference)
    frame = frame.with_columns(pl.Series("topic", reference.assignments))

    sizes = reference.sizes()
    table = pl.DataFrame([
        {"topic": t, "size": sizes.get(t, 0), "top_words": ", ".join(reference.words[t]),
         "representative_answer": (reference.representative.get(t) or [""])[0][:500]}
        for t in sorted(reference.words)
    ])
    write_table(table, tables["topics"], schema=table.schema)

    by_group = frame.group_by("topic", "group").agg(pl.len().cast(pl.Int64).alias("answers")).with_columns(
        (pl.col("answers") / pl.col("answers").sum().over("group")).alias("share_of_group")).sort("topic", "group")
    write_table(by_group, tables["sizes_by_group"], schema=by_group.schema)

    nmf = fit_nmf(texts, n_topics=len(topics), seed=reference_values["seed"], vectorizer=study["vectorizer"], top_n=study["top_n_words"])
    coherence = pl.DataFrame([
        {"model": name, "topic": t, "words": ", ".join(words), "npmi": score}
        for name, model, ids in (("bertopic", reference, topics), ("tfidf+nmf", nmf, sorted(nmf.words)))
        for t, words, score in zip(ids, [model.words[t] for t in ids], npmi_coherence([model.words[t] for t in ids], texts), strict=True)
    ])
    write_table(coherence, tables["coherence"], schema=coherence.schema)

    stability = []
    for path in seed_models[1:]:
        values, other = _load(path)
        pairs = match_topics([reference.words[t] for t in topics], [other.words[t] for t in _topics(other)])
        stability.append({"seed": values["seed"], "reference_seed": reference_values["seed"], "topics": len(_topics(other)),
                          "reference_topics": len(topics), "matched": len(pairs),
                          "mean_overlap": float(np.mean([p[2] for p in pairs])) if pairs else float("nan"),
                          "outlier_share": other.sizes().get(OUTLIER, 0) / len(other.assignments)})
    stability = pl.DataFrame(stability, schema={"seed": pl.Int64, "reference_seed": pl.Int64, "topics": pl.Int64,
                                                "reference_topics": pl.Int64, "matched": pl.Int64,
                                                "mean_overlap": pl.Float64, "outlier_share": pl.Float64})
    write_table(stability, tables["stability"], schema=stability.schema)

    (first_values, first), (second_values, second) = (_load(p) for p in group_models)
    pairs = match_topics([first.words[t] for t in _topics(first)], [second.words[t] for t in _topics(second)])
    first_ids, second_ids = _topics(first), _topics(second)
    groups = pl.DataFrame([
        {f"{slug(first_values['group'])}_topic": first_ids[i], f"{slug(first_values['group'])}_words": ", ".join(first.words[first_ids[i]]),
         f"{slug(second_values['group'])}_topic": second_ids[j], f"{slug(second_values['group'])}_words": ", ".join(second.words[second_ids[j]]),
         "overlap": overlap}
        for i, j, overlap in sorted(pairs, key=lambda p: -p[2])
    ])
    write_table(groups, tables["groups"], schema=groups.schema)
    compared = frame.filter(pl.col("group").is_in(study["compare_groups"]) & (pl.col("topic") != OUTLIER))
    counts = compared.pivot(on="group", index="topic", values="doc", aggregate_function="len").fill_null(0)
    chi2, p, dof, _ = chi2_contingency(counts.drop("topic").to_numpy())
    test = pl.DataFrame({"groups": [" vs ".join(study["compare_groups"])], "topics": [counts.height], "chi2": [float(chi2)],
                         "dof": [int(dof)], "p_value": [float(p)]})
    write_table(test, tables["group_test"], schema=test.schema)

    apply_style()
    save_figure(figures.sizes_by_group(by_group, reference, groups=study["compare_groups"]), *figure_paths(figure_stems["sizes"]))
    save_figure(figures.topic_words(reference, topics[:8]), *figure_paths(figure_stems["words"]))
    save_figure(figures.document_map(np.load(document_map), reference.assignments, reference), *figure_paths(figure_stems["map"]))
