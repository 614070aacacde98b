"""The psaich study's steps as the workflow runs them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.atomic import atomic_open
from replisuite.instruments import Instrument, load_instrument, shipped
from replisuite.llm import open_study_models
from replisuite.llm.models import model_labels
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.psaich.administer import ANSWERS_SCHEMA, administer, stage1
from replisuite.psaich.analysis import (
    FLOOR_SCHEMA,
    mode_differences,
    scores,
    task_floor,
    transcript_stats,
)
from replisuite.psaich.protocol import load_protocol
from replisuite.tables import write_table

STUDY = "psaich"


def instruments(study: Mapping[str, Any]) -> dict[str, Instrument]:
    """The configured instruments: shipped ones by id, and user-supplied files (kept locally)."""
    available = shipped()
    for path in study["instrument_files"]:
        instrument = load_instrument(path)
        available[instrument.id] = instrument
    unknown = [name for name in study["instruments"] if name not in available]
    if unknown:
        raise ValueError(f"config psaich.instruments names {unknown}; available: {sorted(available)} "
                         "(add restricted instruments as local files under psaich.instrument_files)")
    return {name: available[name] for name in study["instruments"]}


def run(study: Mapping[str, Any], llm_section: Mapping[str, Any], model: str, *,
        transcript_out: str, answers_out: str, provenance_out: str, threads: int | None = None) -> None:
    """Stage 1 and stage 2 for one model, every configured seed's conversation advancing together."""
    protocol = load_protocol(study["protocol"])
    store, models = open_study_models(llm_section, STUDY, [model], threads=threads)
    llm = models[model]
    with store:
        conversations, transcript = stage1(llm, protocol, sessions=study["sessions"], params=study["stage1_params"],
                                           seeds=study["seeds"])
        answers = administer(llm, list(instruments(study).values()), protocol, conversations, modes=study["modes"],
                             method=study["answer_method"].get(model, "generate"), params=study["answer_params"],
                             tokens_per_item=study["whole_tokens_per_item"])
        with atomic_open(transcript_out) as handle:
            for row in sorted(transcript, key=lambda r: (r["seed"], r["session"], r["turn"])):
                handle.write(json.dumps({"model": model, **row}) + "\n")
        write_table(answers, answers_out, schema=ANSWERS_SCHEMA)
        write_llm_provenance(provenance_out, [llm])


def summarise(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, answers: Sequence[str], transcripts: Sequence[str],
              tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Scores, differences between modes, floors and figures of the psaich study."""
    from replisuite.psaich import figures

    frame = pl.concat([pl.read_parquet(p) for p in answers])
    library = instruments(study)
    totals, subscales = scores(frame, library)
    labels = model_labels(llm_section)
    totals = totals.with_columns(pl.col("model").replace_strict(labels, default=pl.col("model")).alias("label"))
    write_table(totals, tables["scores"], schema=totals.schema)
    write_table(subscales, tables["subscales"], schema=subscales.schema)
    differences = mode_differences(totals, n_boot=study["n_boot"], seed=study["bootstrap_seed"])
    write_table(differences, tables["differences"], schema=differences.schema)
    write_table(task_floor(frame), tables["floor"], schema=FLOOR_SCHEMA)
    rows = []
    for path in transcripts:
        with open(path) as handle:
            rows += [json.loads(line) for line in handle]
    stats = transcript_stats(pl.DataFrame(rows))
    write_table(stats, tables["transcripts"], schema=stats.schema)
    apply_style()
    save_figure(figures.profile(totals, library, labels=labels), *figure_paths(figure_stems["profile"]))
    save_figure(figures.differences(differences), *figure_paths(figure_stems["differences"]))
