"""The mi study's steps as the workflow runs them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.atomic import atomic_path
from replisuite.coding.annomi import read_annomi, task_frame, utterances
from replisuite.coding.classifier import (
    PREDICTIONS_SCHEMA,
    confusion_table,
    cross_validate,
    f1_scores,
)
from replisuite.coding.rates import session_rates
from replisuite.llm import ResponseStore, embed, store_path
from replisuite.mi.analysis import annotator_agreement, quality_association
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.tables import write_table

RATE_TASKS = ("therapist_behaviour", "client_talk_type", "reflection_subtype", "question_subtype")


def prepare_utterances(annomi_path: str, *, out: str) -> None:
    """One row per AnnoMI utterance with its codes and context, written as parquet."""
    with atomic_path(out) as tmp:
        utterances(read_annomi(annomi_path)).write_parquet(tmp)


def embed_utterances(utterances_path: str, *, store_dir: str, out: str) -> None:
    """MiniLM vectors of every utterance and previous utterance (cached in the study's store)."""
    frame = pl.read_parquet(utterances_path)
    texts = sorted(set(frame["utterance_text"]) | set(frame["previous_text"]))
    with ResponseStore(store_path(store_dir, "mi")) as store:
        vectors = embed(texts, store=store)
    with atomic_path(out) as tmp:
        pl.DataFrame({"text": texts, "vector": vectors}).write_parquet(tmp)


def load_vectors(path: str) -> dict[str, np.ndarray]:
    """Text-to-vector map of an embeddings parquet file."""
    frame = pl.read_parquet(path)
    return dict(zip(frame["text"].to_list(), frame["vector"].to_numpy(), strict=True))


def classify(study: Mapping[str, Any], *, task: str, classifier: str, utterances_path: str,
             embeddings_path: str | None, out: str) -> None:
    """Cross-validated predictions of one classifier on one task, grouped by session."""
    frame = task_frame(pl.read_parquet(utterances_path), task)
    vectors = load_vectors(embeddings_path) if classifier.startswith("embedding") else None
    predictions = cross_validate(frame, task, classifier=classifier, n_splits=study["n_splits"], seed=study["seed"],
                                 tfidf=study["tfidf"], C=study["logistic_C"], vectors=vectors)
    write_table(predictions, out, schema=PREDICTIONS_SCHEMA)


def summarise(study: Mapping[str, Any], *, annomi_path: str, utterances_path: str, predictions: Sequence[str],
              tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """F1 with intervals, confusion counts, code rates vs MI quality, annotator agreement, figures."""
    from replisuite.mi import figures

    seed, n_boot = study["seed"], study["n_boot"]
    frames = [pl.read_parquet(p) for p in predictions]
    f1 = pl.concat([f1_scores(p, n_boot=n_boot, seed=seed) for p in frames])
    write_table(f1, tables["f1"], schema=f1.schema)
    confusion = pl.concat([confusion_table(p) for p in frames])
    write_table(confusion, tables["confusion"], schema=confusion.schema)

    units = pl.read_parquet(utterances_path)
    rates = []
    for task in [t for t in RATE_TASKS if t in study["tasks"]]:
        coded = task_frame(units, task)
        annotated = coded.select("transcript_id", "mi_quality", pl.col(task).alias("label"))
        rates.append(session_rates(annotated, task=task, source="annotated"))
        predicted = next((p for p in frames if p["task"][0] == task and p["classifier"][0] == study["predicted_by"]), None)
        if predicted is not None:
            joined = predicted.join(coded.select("transcript_id", "utterance_id", "mi_quality"), on=["transcript_id", "utterance_id"])
            rates.append(session_rates(joined.select("transcript_id", "mi_quality", pl.col("predicted").alias("label")),
                                       task=task, source=f"predicted ({study['predicted_by']})"))
    rates = pl.concat(rates)
    write_table(rates, tables["session_rates"], schema=rates.schema)
    association = quality_association(rates, n_boot=n_boot, seed=seed)
    write_table(association, tables["quality"], schema=association.schema)
    agreement = annotator_agreement(read_annomi(annomi_path))
    write_table(agreement, tables["agreement"], schema=agreement.schema)

    apply_style()
    save_figure(figures.f1_figure(f1), *figure_paths(figure_stems["f1"]))
    save_figure(figures.rates_figure(rates.filter(pl.col("source") == "annotated")), *figure_paths(figure_stems["rates"]))
    save_figure(figures.confusion_figure(confusion.filter(pl.col("classifier") == study["predicted_by"])),
                *figure_paths(figure_stems["confusion"]))
