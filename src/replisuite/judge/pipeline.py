"""The judge study's steps as the workflow runs them: judge AnnoMI sessions, write arena replies,
judge arena pairs, summarise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.judge import analysis
from replisuite.judge.data import (
    ARENA_SCHEMA,
    annomi_sessions,
    arena_questions,
    stratified_sample,
)
from replisuite.judge.judging import JUDGEMENT_SCHEMA, judge
from replisuite.judge.pairwise import PAIR_SCHEMA, judge_pairs
from replisuite.judge.rubrics import PSYCHEVAL, Rubric, published_prompts, resolve
from replisuite.judge.transcripts import Transcript, render, transcript
from replisuite.llm import LLM, Message, open_study_models
from replisuite.llm.models import model_labels
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.tables import write_table

STUDY = "judge"
SESSIONS_SCHEMA = {"judge": pl.String, **JUDGEMENT_SCHEMA, "label": pl.String, "counsellor_words": pl.Int64,
                   "truncated_chars": pl.Int64}
REPLY_SYSTEM = "You are a licensed counsellor answering a question posted by someone seeking help. Reply to them directly."


def _write_provenance(llm: LLM, path: str) -> None:
    write_llm_provenance(path, [llm])


def study_rubrics(study: Mapping[str, Any], prompt_files: Mapping[str, Sequence[str]]) -> dict[str, Rubric]:
    """The rubrics the study uses: shipped, local files, and published prompt rubrics (rubric id -> its prompt files)."""
    published = {rubric: published_prompts(rubric, paths, **PSYCHEVAL) for rubric, paths in prompt_files.items()}
    return resolve(study["validation"]["rubrics"], study["rubric_files"], published)


DEGRADED_REPLY = "Okay."


def degraded(session: Transcript) -> Transcript:
    """The session with every counsellor turn replaced by "Okay.": the client's words are kept and
    every behaviour a counselling rubric looks for (reflections, questions, empathy) is removed.
    """
    return transcript(f"{session.id}#degraded", [{"role": turn.role, "text": DEGRADED_REPLY if turn.role == "counsellor"
                                                  else turn.text} for turn in session.turns])


def floor_units(sample: pl.DataFrame, n: int) -> list[str]:
    """The sessions of the planted easy contrast: the first ``n`` high-quality ones of the sample."""
    return sorted(sample.filter(pl.col("label") == "high")["unit"].to_list())[:n]


def judge_sessions(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, annomi: str,
                   prompt_files: Mapping[str, Sequence[str]], out: str, floor_out: str, provenance_out: str,
                   threads: int | None = None) -> None:
    """One judge's rubric scores of the sampled AnnoMI sessions (every rubric, every repeat), and its
    task floor: a few high-quality sessions scored again with every counsellor turn degraded.
    """
    settings = study["validation"]
    rubrics = study_rubrics(study, prompt_files)
    sessions, table = annomi_sessions(annomi)
    sample = stratified_sample(table, per_label=(settings.get("per_label") or {}).get(judge_name), seed=settings["seed"])
    rendered = {unit: render(sessions[unit], max_chars=settings["max_chars"]) for unit in sample["unit"]}
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    llm = models[judge_name]
    with store:
        method = study.get("method", {}).get(judge_name, "json")
        parts = [judge(llm, rubric, {u: text for u, (text, _) in rendered.items()}, method=method,
                       repeats=settings["repeats"], seed=settings["seed"]) for rubric in rubrics.values()]
        contrast = {f"{unit}#degraded": render(degraded(sessions[unit]), max_chars=settings["max_chars"])[0]
                    for unit in floor_units(sample, settings["floor_sessions"])}
        floor = [judge(llm, rubric, contrast, method=method, repeats=1, seed=settings["seed"]) for rubric in rubrics.values()]
        _write_provenance(llm, provenance_out)
    truncated = pl.DataFrame({"unit": list(rendered), "truncated_chars": [left for _, left in rendered.values()]},
                             schema={"unit": pl.String, "truncated_chars": pl.Int64})
    rows = (pl.concat(parts).join(sample.select("unit", "label", "counsellor_words"), on="unit", how="left")
            .join(truncated, on="unit", how="left").with_columns(pl.lit(judge_name).alias("judge")))
    write_table(rows.select(list(SESSIONS_SCHEMA)), out, schema=SESSIONS_SCHEMA)
    floor_rows = pl.concat(floor).with_columns(pl.lit(judge_name).alias("judge")) if floor else \
        pl.DataFrame(schema={"judge": pl.String, **JUDGEMENT_SCHEMA})
    write_table(floor_rows.select("judge", *JUDGEMENT_SCHEMA), floor_out, schema={"judge": pl.String, **JUDGEMENT_SCHEMA})


def _arena(study: Mapping[str, Any], counsel_chat: str) -> tuple[dict[str, str], pl.DataFrame]:
    settings = study["arena"]
    return arena_questions(counsel_chat, questions=settings["questions"], max_chars=settings["max_chars"], seed=settings["seed"])


def arena_replies(study: Mapping[str, Any], llm_section: Mapping[str, Any], model: str, *, counsel_chat: str, out: str,
                  provenance_out: str, threads: int | None = None) -> None:
    """One model's reply to each arena question."""
    contexts, _ = _arena(study, counsel_chat)
    store, models = open_study_models(llm_section, STUDY, [model], threads=threads)
    llm = models[model]
    params = study["arena"]["reply_params"]
    with store:
        requests = [llm.request([Message("system", REPLY_SYSTEM), Message("user", text)], **params) for text in contexts.values()]
        responses = llm.run(requests).responses
        _write_provenance(llm, provenance_out)
    rows = [(context, model, " ".join(r.text.split()), None) for context, r in zip(contexts, responses, strict=True)]
    write_table(pl.DataFrame(rows, schema=ARENA_SCHEMA, orient="row"), out, schema=ARENA_SCHEMA)


def judge_arena(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, counsel_chat: str,
                replies: Sequence[str], out: str, provenance_out: str, threads: int | None = None) -> None:
    """One judge's pairwise choices between every two replies to each arena question."""
    contexts, human = _arena(study, counsel_chat)
    everyone = pl.concat([human, *(pl.read_parquet(p) for p in replies)])
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    llm = models[judge_name]
    with store:
        pairs = judge_pairs(llm, contexts, everyone, seed=study["arena"]["seed"])
        _write_provenance(llm, provenance_out)
    schema = {"judge": pl.String, **PAIR_SCHEMA}
    write_table(pairs.with_columns(pl.lit(judge_name).alias("judge")).select(list(schema)), out, schema=schema)


def summarise(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, sessions: Sequence[str], floors: Sequence[str],
              pairs: Sequence[str], replies: Sequence[str], counsel_chat: str, stigma_agreement: str | None,
              prompt_files: Mapping[str, Sequence[str]], tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Validation, agreement, arena and floor tables of every judge and rubric, with their figures."""
    from replisuite.judge import figures

    rubrics = study_rubrics(study, prompt_files)
    labels = model_labels(llm_section)
    judgements = pl.concat([pl.read_parquet(p) for p in sessions])
    seed, n_boot = study["validation"]["seed"], study["n_boot"]
    agreement = pl.read_csv(stigma_agreement) if stigma_agreement else None
    outputs = {
        "validation": analysis.validation(judgements, rubrics, n_boot=n_boot, seed=seed, stigma_agreement=agreement),
        "validation_items": analysis.item_validation(judgements, n_boot=n_boot, seed=seed),
        "reliability": analysis.reliability(judgements, rubrics),
        "task_floor": analysis.planted_contrast(judgements, pl.concat([pl.read_parquet(p) for p in floors]), rubrics),
    }
    _, human = _arena(study, counsel_chat)
    everyone = pl.concat([human, *(pl.read_parquet(p) for p in replies)])
    outputs["arena_ratings"], outputs["arena_checks"] = analysis.arena(pl.concat([pl.read_parquet(p) for p in pairs]), everyone,
                                                                       n_boot=n_boot, seed=study["arena"]["seed"])
    for name, table in outputs.items():
        labelled = table.with_columns(pl.col("judge").replace(labels).alias("judge_label")) if "judge" in table.columns else table
        write_table(labelled, tables[name], schema=labelled.schema)
    apply_style()
    save_figure(figures.auc(outputs["validation"]), *figure_paths(figure_stems["auc"]))
    save_figure(figures.items(outputs["validation_items"]), *figure_paths(figure_stems["items"]))
    save_figure(figures.reliability(outputs["reliability"]), *figure_paths(figure_stems["reliability"]))
    save_figure(figures.arena(outputs["arena_ratings"]), *figure_paths(figure_stems["arena"]))
