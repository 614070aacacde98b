"""The care study's steps: a model coder on the excerpts, then agreement, frequencies, co-occurrence
and care-seeking timelines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from replisuite.coding import themes
from replisuite.coding.agreement import AGREEMENT_SCHEMA, SPAN_SCHEMA, agreement, span_scores
from replisuite.coding.codebook import Codebook, resolve
from replisuite.coding.coders import CODER_SCHEMA, code_units
from replisuite.coding.codings import read_codings, read_excerpts
from replisuite.llm import open_study_models
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.tables import write_table

STUDY = "care"


def load(study: Mapping[str, Any], *, excerpts: str, codings: str) -> tuple[Codebook, pl.DataFrame, dict, pl.DataFrame]:
    """The codebook, the excerpts (with their provenance) and the human codings, each checked against the others."""
    codebook = resolve(study["codebook"])
    frame, provenance = read_excerpts(excerpts)
    return codebook, frame, provenance, read_codings(codings, codebook=codebook, excerpts=frame)


def code_excerpts(study: Mapping[str, Any], llm_section: Mapping[str, Any], model: str, *, excerpts: str, codings: str,
                  out: str, provenance_out: str, threads: int | None = None) -> None:
    """A model coder's codes of every excerpt, with examples from the reference coder's codings of
    other participants.
    """
    codebook, frame, _, human = load(study, excerpts=excerpts, codings=codings)
    reference = human.filter(pl.col("coder") == study["reference_coder"])
    store, models = open_study_models(llm_section, STUDY, [model], threads=threads)
    llm = models[model]
    with store:
        rows = code_units(llm, codebook, frame, pool_units=frame, pool_codings=reference, k=study["shots"],
                          seed=study["seed"], what="interview excerpt", params=study["coder_params"])
        write_llm_provenance(provenance_out, [llm])
    write_table(rows, out, schema=CODER_SCHEMA)


def summarise(study: Mapping[str, Any], *, excerpts: str, codings: str, model_codings: list[str], tables: Mapping[str, str],
              figure_stems: Mapping[str, str]) -> None:
    """Agreement tables (human coders and each model coder), the timeline and co-occurrence figures."""
    from replisuite.coding.figures import cooccurrence_figure, timeline_figure

    codebook, frame, provenance, human = load(study, excerpts=excerpts, codings=codings)
    label = "illustrative (written by the replisuite project)" if provenance["illustrative"] else "as supplied"
    units, codes = frame["unit"].to_list(), list(codebook.code_ids)
    humans = sorted(human["coder"].unique().to_list())
    model_rows = pl.concat([pl.read_parquet(p) for p in model_codings])
    # presence of a code is what excerpt x code kappa compares: a valid code whose quoted span was not
    # found verbatim still counts; a unit whose reply could not be parsed is missing for that coder
    found = model_rows.filter(pl.col("status").is_in(["ok", "span_not_found"]))
    models = sorted(model_rows["coder"].unique().to_list())
    missing = unparsed_units(model_rows)
    blocks = [("human coders", human.select("unit", "coder", "code"), humans)]
    if models:  # with the model coders too: three coders or more, so Fleiss' kappa as well
        blocks.append(("human and model coders", pl.concat([human.select("unit", "coder", "code"),
                                                            found.select("unit", "coder", "code")]), humans + models))
    inter = pl.concat([
        agreement(rows, units=units, coders=coders, codes=codes, n_boot=study["n_boot"], seed=study["seed"],
                  missing=missing)
        .with_columns(pl.lit(among).alias("among"))
        for among, rows, coders in blocks
    ])
    write_table(inter.with_columns(pl.lit(label).alias("data")), tables["agreement"],
                schema={**AGREEMENT_SCHEMA, "among": pl.String, "data": pl.String})
    versus = []
    for model in models:
        for reference in humans:
            pair = pl.concat([human.filter(pl.col("coder") == reference).select("unit", "coder", "code"),
                              found.filter(pl.col("coder") == model).select("unit", "coder", "code")])
            table = agreement(pair, units=units, coders=[reference, model], codes=codes, n_boot=study["n_boot"],
                              seed=study["seed"], missing=missing)
            mine = model_rows.filter(pl.col("coder") == model)
            versus.append(table.filter(pl.col("statistic") == "cohen_kappa").with_columns(
                pl.lit(model).alias("model"), pl.lit(reference).alias("reference"),
                pl.lit(len(missing.get(model, ())), dtype=pl.Int64).alias("unparsed"),
                pl.lit(int((mine["status"] == "span_not_found").sum()), dtype=pl.Int64).alias("span_not_found"),
                pl.lit(len(units), dtype=pl.Int64).alias("excerpts")))
    versus_frame = (pl.concat(versus) if versus else pl.DataFrame(schema={
        **AGREEMENT_SCHEMA, "model": pl.String, "reference": pl.String, "unparsed": pl.Int64, "span_not_found": pl.Int64,
        "excerpts": pl.Int64}))
    write_table(versus_frame.with_columns(pl.lit(label).alias("data")), tables["model_agreement"],
                schema={**versus_frame.schema, "data": pl.String})
    located = model_rows.filter(pl.col("status") == "ok")  # span scores need the span's offsets
    spans = pl.concat([
        span_scores(human.filter(pl.col("coder") == reference), located.filter(pl.col("coder") == model), units=units,
                    codes=codes, rule=study["match"]["rule"], threshold=study["match"]["threshold"], n_boot=study["n_boot"],
                    seed=study["seed"]).filter(pl.col("code") == "micro").with_columns(
            pl.lit(model).alias("model"), pl.lit(reference).alias("reference"))
        for model in sorted(located["coder"].unique().to_list()) for reference in humans
    ]) if located.height else pl.DataFrame(schema={**SPAN_SCHEMA, "model": pl.String, "reference": pl.String})
    write_table(spans, tables["model_spans"], schema=spans.schema)
    frequencies = (human.group_by("coder", "code").agg(pl.col("unit").n_unique().cast(pl.Int64).alias("excerpts"))
                   .join(pl.DataFrame({"code": codes}), on="code", how="right").fill_null(0).sort("coder", "code"))
    write_table(frequencies, tables["frequencies"], schema=frequencies.schema)
    reference = human.filter(pl.col("coder") == study["reference_coder"]).join(frame.select("unit", "case"), on="unit")
    co = themes.cooccurrence(reference.select("unit", "case", "code"), column="code")
    write_table(co, tables["cooccurrence"], schema=co.schema)
    journeys = journey_table(reference, frame, codes=study["timeline_codes"])
    write_table(journeys, tables["journeys"], schema=journeys.schema)
    apply_style()
    save_figure(cooccurrence_figure(co, title=f"code co-occurrence ({study['reference_coder']}; {label})"),
                *figure_paths(figure_stems["cooccurrence"]))
    save_figure(timeline_figure(reference, frame, codes=study["timeline_codes"],
                                title=f"care-seeking journeys ({study['reference_coder']}; {label})"),
                *figure_paths(figure_stems["timelines"]))


def unparsed_units(model_rows: pl.DataFrame) -> dict[str, set[str]]:
    """Per model coder, the excerpts whose reply could not be parsed (missing for that coder)."""
    bad = model_rows.filter(pl.col("status") == "unparseable")
    return {coder: set(frame["unit"]) for (coder,), frame in bad.group_by("coder")}


def journey_table(codings: pl.DataFrame, excerpts: pl.DataFrame, *, codes: list[str]) -> pl.DataFrame:
    """Per participant, the sequence of journey codes in the order told."""
    merged = codings.filter(pl.col("code").is_in(codes)).join(excerpts.select("unit", "order"), on="unit")
    ordered = merged.sort("case", "order", "code").group_by("case", maintain_order=True).agg(
        pl.col("code").str.join(" > ").alias("journey"), pl.col("unit").n_unique().cast(pl.Int64).alias("excerpts"))
    return ordered.sort("case")
