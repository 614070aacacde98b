"""The study's steps as the workflow runs them: each takes config and paths, writes outputs."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import polars as pl

from replisuite.atomic import atomic_path
from replisuite.llm import LLM, open_study_models
from replisuite.llm.models import model_labels
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.stats import name_seed
from replisuite.stigma import analysis
from replisuite.stigma.ask import (
    STIGMA_ANSWERS_SCHEMA,
    VERDICTS_SCHEMA,
    ask_interjections,
    ask_stigma,
    judge_published,
)
from replisuite.stigma.interjections import interjection_stimuli
from replisuite.stigma.records import import_judge_records, import_stigma_records
from replisuite.stigma.stimuli import (
    check_against_published,
    load_protocol,
    read_jsonl,
    stigma_stimuli,
)
from replisuite.stigma.study import published_record_files, stigma_directions
from replisuite.tables import write_table

STUDY = "stigma"
log = logging.getLogger("replisuite.stigma")
JUDGE_NOTE_PAPER = "gpt-4o judge (the paper's; verdicts replayed)"


def judge_note(judge: str) -> str:
    """The note that a judge differs from the paper's gpt-4o judge."""
    return f"{judge} judge (differs from the paper's gpt-4o judge)"


def prepare_stimuli(study: Mapping[str, Any], raw: Mapping[str, str], *, stigma_out: str, interjections_out: str) -> None:
    """Generate the stigma prompts (checked against the published ones) and extract the interjections."""
    sources = study["sources"]
    stimuli = stigma_stimuli(raw[sources["vignettes"]], raw[sources["questions"]])
    record_files = [raw[sources["prompts"]]] + [
        raw[source] for files in study["published"].values() for source in files["stigma"].values()
    ]
    for path in record_files:
        published = {row["prompt"] for row in read_jsonl(path, required=("prompt",))}
        check_against_published(stimuli, published, source=path)
    if study["limit_vignettes"]:
        stimuli = stimuli.filter(pl.col("vignette_id") < study["limit_vignettes"])
    interjections = interjection_stimuli(read_jsonl(raw[sources["interjection_stimuli"]]), source=raw[sources["interjection_stimuli"]])
    if study["limit_interjections"]:
        interjections = interjections.head(study["limit_interjections"])
    for frame, path in ((stimuli, stigma_out), (interjections, interjections_out)):
        with atomic_path(path) as tmp:
            frame.write_parquet(tmp)


def live_sample(stimuli: pl.DataFrame, *, n: int | None, seed: int) -> pl.DataFrame:
    """The stimuli of ``n`` vignettes drawn by a seed from each vignette's id (all when ``n`` is None):
    what live models answer, so a run's length is a config value; published records cover all.
    """
    ids = sorted(set(stimuli["vignette_id"].to_list()))
    if n is None or n >= len(ids):
        return stimuli
    chosen = sorted(ids, key=lambda v: name_seed(seed, "live", str(v)))[:n]
    return stimuli.filter(pl.col("vignette_id").is_in(chosen))


def _write_provenance(path: str, models: list[LLM]) -> None:
    write_llm_provenance(path, models)


def ask_stigma_model(study: Mapping[str, Any], llm_section: Mapping[str, Any], raw: Mapping[str, str], model: str, *,
                     steel_man: bool, stimuli_path: str, out: str, provenance: str, threads: int | None = None) -> None:
    """Answers of one model to every stigma stimulus, without or with the steel-man prompt.

    A published model's records are first imported into the store (idempotent), so that the
    replay backend answers exactly the requests a live run of that model would send.
    """
    protocol = load_protocol(study["protocol"])
    stimuli = pl.read_parquet(stimuli_path)
    store, models = open_study_models(llm_section, STUDY, [model], threads=threads)
    llm = models[model]
    if llm.entry.backend != "replay":
        stimuli = live_sample(stimuli, n=study.get("live_vignettes"), seed=study["seed"])
    method = study["answer_method"].get(model, "generate")
    params = dict(study["stigma_params"])
    condition = "steel_man" if steel_man else "plain"
    with store:
        for path in published_record_files(study, raw, model, "stigma", condition):
            new = import_stigma_records(path, llm, steel_man=steel_man, protocol=protocol,
                                        prompts=set(stimuli["prompt"]), params=params)
            log.info("imported %d new published answers from %s", new, path)
        answers = ask_stigma(llm, stimuli, steel_man=steel_man, protocol=protocol, method=method, params=params,
                             directions=stigma_directions(study))
        write_table(answers, out, schema=STIGMA_ANSWERS_SCHEMA)
        _write_provenance(provenance, [llm])


def grade_interjections_model(study: Mapping[str, Any], llm_section: Mapping[str, Any], raw: Mapping[str, str], model: str,
                              *, stimuli_path: str, out: str, provenance: str, threads: int | None = None) -> None:
    """Verdicts on one model's replies: published records graded by the replayed paper judge, or a
    live model's replies (interjection alone, with and without steel-man) graded by the configured judge.
    """
    protocol = load_protocol(study["protocol"])
    if model in study.get("published", {}):  # a live model's job is given no published records
        store, models = open_study_models(llm_section, STUDY, [study["published_judge"]], threads=threads)
        judge = models[study["published_judge"]]
        with store:
            for source in study["published"][model]["interjections"].values():
                new = import_judge_records(raw[source], judge, source=source,
                                           verdict_field=study["published_verdict_field"], params=study["judge_params"])
                log.info("imported %d new published verdicts from %s", new, raw[source])
            frames = [
                judge_published(raw[source], judge, source=source, model=model, steel_man=condition == "steel_man",
                                contextualize=condition == "contextualized", verdict_field=study["published_verdict_field"],
                                judge_params=study["judge_params"])
                for condition, source in study["published"][model]["interjections"].items()
            ]
            write_table(pl.concat(frames), out, schema=VERDICTS_SCHEMA)
            _write_provenance(provenance, [judge])
        return
    stimuli = pl.read_parquet(stimuli_path)
    store, models = open_study_models(llm_section, STUDY, list(dict.fromkeys([model, study["judge"]])), threads=threads)
    llm, judge = models[model], models[study["judge"]]
    params = {**study["interjection_params"], "max_tokens": min(study["interjection_params"]["max_tokens"], study["live_max_tokens"])}
    with store:
        frames = [
            ask_interjections(llm, judge, stimuli, steel_man=steel, protocol=protocol, params=params,
                              judge_params=study["judge_params"], judge_method=study["judge_method"], seed=study["seed"])
            for steel in (False, True)
        ]
        write_table(pl.concat(frames), out, schema=VERDICTS_SCHEMA)
        _write_provenance(provenance, list({id(m): m for m in (llm, judge)}.values()))


def summarise_stigma(study: Mapping[str, Any], llm_section: Mapping[str, Any], raw: Mapping[str, str], *,
                     answers: list[str], stimuli_path: str, tables: Mapping[str, str], figure_stems: Mapping[str, str],
                     differences_out: str | None = None) -> None:
    """Stigma rates by model x condition / question / attribute, tests, GSS baseline, the check, figures."""
    from replisuite.stigma import figures

    frame = pl.concat([pl.read_parquet(p) for p in answers])
    stimuli = pl.read_parquet(stimuli_path)
    names = model_labels(llm_section)
    frame = frame.with_columns(pl.col("model").replace_strict(names, default=pl.col("model")).alias("label"))
    seed, n_boot = study["seed"], study["n_boot"]
    coded = frame.filter(pl.col("question_only").is_in(list(stigma_directions(study))))
    by_condition = analysis.rates(coded, "stigma", ["model", "label", "steel_man", "condition"], n_boot=n_boot, seed=seed)
    write_table(by_condition, tables["by_condition"], schema=by_condition.schema)
    by_vignette = analysis.stimulus_rates(coded.join(stimuli.select("item", "vignette_id"), on="item"), "stigma",
                                          stimulus="vignette_id")
    write_table(by_vignette, tables["by_vignette"], schema=analysis.STIMULUS_SCHEMA)
    live = frame.filter(pl.col("model").is_in(list(study["live"])) & ~pl.col("steel_man"))
    write_table(analysis.chooser_floor(live), tables["floor"], schema=analysis.FLOOR_SCHEMA)
    by_question = analysis.rates(frame, "agreement", ["model", "label", "steel_man", "question_only"], n_boot=n_boot, seed=seed)
    write_table(by_question, tables["by_question"], schema=by_question.schema)
    attributes = pl.concat([
        analysis.rates(coded.rename({attribute: "value"}).with_columns(pl.lit(attribute).alias("attribute")), "stigma",
                       ["model", "label", "steel_man", "attribute", "value"], n_boot=n_boot, seed=seed)
        for attribute in ("race", "gender", "education")
    ])
    write_table(attributes, tables["by_attribute"], schema=attributes.schema)
    tests = analysis.condition_tests(coded)
    write_table(tests, tables["condition_tests"], schema=tests.schema)
    gss = analysis.gss_baseline(raw[study["sources"]["gss_2018"]], stigma_directions(study))
    write_table(gss, tables["gss_2018"], schema=gss.schema)
    check = analysis.compare_stigma_with_published(frame, stimuli, raw[study["sources"]["combined_stigma"]],
                                                   {m: m for m in study["published"]})
    write_published_check(check, strict=study["limit_vignettes"] is None, what="stigma codes",
                          table_out=tables["check_published"], differences_out=differences_out)
    apply_style()
    save_figure(figures.stigma_figure(by_condition, gss, labels=names), *figure_paths(figure_stems["by_condition"]))
    steel = by_question.filter(pl.col("steel_man"))
    save_figure(figures.question_heatmap(steel, labels=names), *figure_paths(figure_stems["by_question"]))


def differing_rows(check: pl.DataFrame, *, strict: bool) -> pl.DataFrame:
    """Rows of a published check that differ (with ``strict``, rows we did not reproduce count too)."""
    if "equal" in check.columns:
        return check.filter(~pl.col("equal") & (pl.col("our_rate").is_not_null() | pl.lit(strict)))
    return check.filter(
        (pl.col("equal_codes") != pl.col("matched_rows")) | (pl.lit(strict) & (pl.col("matched_rows") != pl.col("published_rows")))
    )


def write_published_check(check: pl.DataFrame, *, strict: bool, what: str, table_out: str,
                          differences_out: str | None = None) -> None:
    """Write the check table and the rows that differ, then fail if any does.

    Snakemake removes a failed job's outputs, so ``differences_out`` (a log file of the rule)
    is where a user reads what differs after the failure.
    """
    write_table(check, table_out, schema=check.schema)
    bad = differing_rows(check, strict=strict)
    if differences_out is not None:
        write_table(bad, differences_out, schema=bad.schema)
    if bad.height:
        where = f" (all {bad.height} differing rows in {differences_out})" if differences_out else ""
        raise ValueError(f"{what} from the raw records differ from the published all_combined.csv{where}:\n{bad}")


def summarise_interjections(study: Mapping[str, Any], llm_section: Mapping[str, Any], raw: Mapping[str, str], *,
                            verdicts: list[str], tables: Mapping[str, str], figure_stems: Mapping[str, str],
                            differences_out: str | None = None) -> None:
    """Appropriateness by model x condition (humans and bots beside), judge agreement, the check, a figure."""
    from replisuite.stigma import figures

    frame = pl.concat([pl.read_parquet(p) for p in verdicts])
    names = model_labels(llm_section)
    seed, n_boot = study["seed"], study["n_boot"]
    humans = analysis.human_verdicts({label: raw[source] for label, source in study["human_graded"].items()})
    frame = frame.with_columns(
        pl.when(pl.col("model").is_in(list(study["published"]))).then(pl.lit(JUDGE_NOTE_PAPER))
        .otherwise(pl.col("judge").map_elements(judge_note, return_dtype=pl.String)).alias("judge_note"),
        pl.col("model").replace_strict(names, default=pl.col("model")).alias("label"),
    )
    models = frame.select("model", "label", "steel_man", "contextualize", "judge_note", "condition", "stimulus",
                          pl.col("appropriate").cast(pl.Float64))
    people = humans.select(pl.col("model"), pl.col("model").alias("label"), pl.lit(False).alias("steel_man"), pl.lit(False).alias("contextualize"),
                           pl.lit("graded by the authors").alias("judge_note"), "condition",
                           pl.col("stimulus").cast(pl.String), pl.col("appropriate").cast(pl.Float64))
    everyone = pl.concat([models, people])
    keys = ["model", "label", "steel_man", "contextualize", "judge_note"]
    by_condition = analysis.rates(everyone, "appropriate", [*keys, "condition"], n_boot=n_boot, seed=seed)
    write_table(by_condition, tables["by_condition"], schema=by_condition.schema)
    overall = analysis.rates(everyone, "appropriate", keys, n_boot=n_boot, seed=seed)
    write_table(overall, tables["overall"], schema=overall.schema)
    plain = everyone.filter(~pl.col("contextualize"))
    by_stimulus = analysis.stimulus_rates(plain, "appropriate", stimulus="stimulus")
    write_table(by_stimulus, tables["by_stimulus"], schema=analysis.STIMULUS_SCHEMA)
    agreement = analysis.judge_agreement(raw[study["sources"]["judge_validation"]], judge_field=study["published_verdict_field"],
                                         annotators=["annotator_1_classification", "annotator_2_classification"])
    write_table(agreement, tables["judge_agreement"], schema=agreement.schema)
    check = analysis.compare_interjections_with_published(frame, raw[study["sources"]["combined_interjections"]],
                                                          {m: m for m in study["published"]})
    write_published_check(check, strict=True, what="appropriateness rates", table_out=tables["check_published"],
                          differences_out=differences_out)
    apply_style()
    shown = by_condition.filter(~pl.col("contextualize") & (pl.col("steel_man") | ~pl.col("model").is_in(list(study["published"]))))
    live = set(study["live"])
    shown = shown.filter(~(pl.col("model").is_in(list(live)) & ~pl.col("steel_man")))
    save_figure(figures.interjection_figure(shown, labels=names), *figure_paths(figure_stems["by_condition"]))
