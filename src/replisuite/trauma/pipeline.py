"""The trauma study (Thousand Voices of Trauma): cases sampled to the published marginals, one PE
phase per conversation run by the dialogue engine with a planted SUDS arc, SUDS trajectories
extracted and checked against the plan, the trajectory-prediction benchmark, and fidelity checks.
With ``trauma.published_dir`` set, the released files replace the generated conversations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.dialogue.engine import Engine
from replisuite.dialogue.profiles import load_profiles
from replisuite.dialogue.protocols import resolve, with_overrides
from replisuite.dialogue.transcripts import read_transcripts, write_transcripts
from replisuite.llm import embed, open_study_models
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.stats import cluster_bootstrap_mean_ci, name_seed
from replisuite.tables import read_table, write_table
from replisuite.trauma import benchmark
from replisuite.trauma.cases import (
    CASE_SCHEMA, MARGINALS_SCHEMA, case_profiles, marginals_table, phases, published_marginals_table, sample_cases,
)
from replisuite.trauma.fidelity import (
    ADHERENCE_SCHEMA,
    ARC_SCHEMA,
    DIVERSITY_SCHEMA,
    HABITUATION_SCHEMA,
    adherence,
    arc_recovery,
    diversity,
    habituation,
)
from replisuite.trauma.published import read_published
from replisuite.trauma.suds import TRAJECTORY_SCHEMA, trajectories

STUDY = "trauma"
PROTOCOL = "prolonged_exposure"


def sample(study: Mapping[str, Any], *, cases_out: str, marginals_out: str, profiles_out: str) -> None:
    """The published number of cases drawn to the published marginals, their comparison, and the
    case x phase profiles of the cases generated.
    """
    marginals, generate = study["marginals"], study["generate"]
    cases = sample_cases(marginals["cases"], marginals, study["suds"], seed=study["seed"])
    write_table(cases, cases_out, schema=CASE_SCHEMA)
    write_table(marginals_table(cases, marginals), marginals_out, schema=MARGINALS_SCHEMA)
    chosen = cases.head(generate["cases"])
    profiles = case_profiles(chosen, phase_ids=study["phases"], order=study["phases"],
                             max_exchanges=generate["max_exchanges"], suds=study["suds"], seed=study["seed"],
                             flat_cases=chosen["case_id"].head(generate["flat_cases"]).to_list())
    write_transcripts(profiles, profiles_out)


def _protocol(generate: Mapping[str, Any]):
    return with_overrides(resolve(PROTOCOL), {"max_exchanges": generate["max_exchanges"],
                                              "max_tokens": generate["max_tokens"]}, where="trauma.generate")


def generate(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, profiles: str, out: str, provenance_out: str,
             threads: int | None = None) -> None:
    """Every case x phase conversation, the therapist eliciting SUDS where the phase prescribes."""
    settings = study["generate"]
    chosen = load_profiles(profiles)
    names = list(dict.fromkeys([settings["counsellor"], settings["client"]]))
    store, models = open_study_models(llm_section, STUDY, names, threads=threads)
    with store:
        records = Engine(_protocol(settings), {"counsellor": models[settings["counsellor"]],
                                               "client": models[settings["client"]]}, seed=study["seed"]).run(chosen)
        write_llm_provenance(provenance_out, list(models.values()))
    by_id = {p.id: p for p in chosen}
    write_transcripts([{**r, **{key: by_id[r["profile_id"]].fields[key] for key in ("case_id", "phase", "scenario")}}
                       for r in records], out)


def load_published(study: Mapping[str, Any], *, folder: str, cases_out: str, out: str, marginals_out: str) -> None:
    """The released conversations as transcript records (and their cases), for the same checks, and
    the released cases' marginals against the published shares.
    """
    cases, records = read_published(folder, phases=study["phases"])
    write_table(cases, cases_out, schema=CASE_SCHEMA)
    write_table(published_marginals_table(cases, study["marginals"]), marginals_out, schema=MARGINALS_SCHEMA)
    write_transcripts(records, out)


EXTRACTION_SCHEMA = {"measure": pl.String, "value": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                     "points": pl.Int64, "conversations": pl.Int64, "note": pl.String}


def extract(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, transcripts: str, profiles: str | None,
            out: str, extraction_out: str, provenance_out: str, threads: int | None = None) -> None:
    """SUDS per elicited client turn (the rater reads verbal ones), and how well they match the plan."""
    rater = study["extraction"]["rater"]
    planted = {p.id: p.fields.get("suds_plan", {}) for p in load_profiles(profiles)} if profiles else {}
    store, models = open_study_models(llm_section, STUDY, [rater] if rater else [], threads=threads)
    with store:
        frame = trajectories(read_transcripts(transcripts), planted=planted, rater=models.get(rater))
        write_llm_provenance(provenance_out, list(models.values()))
    write_table(frame, out, schema=TRAJECTORY_SCHEMA)
    write_table(extraction_check(frame, n_boot=study["n_boot"], seed=study["seed"]), extraction_out,
                schema=EXTRACTION_SCHEMA)


def extraction_check(frame: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """How each rating was read (counts by status), and extracted against planted: the share equal
    (within 5 points) and the mean absolute error, beside the planted values shuffled across points
    (what a reading unrelated to the plan scores) and the planted mean.
    """
    conversations = frame["conversation"].n_unique()
    rows = [(f"status: {status}", float(count), None, None, frame.height, conversations, "elicited client turns")
            for status, count in sorted(frame["status"].value_counts().iter_rows())]
    both = frame.filter(pl.col("value").is_not_null() & pl.col("planted").is_not_null())
    if both.height:
        value, planted = both["value"].to_numpy(), both["planted"].to_numpy()
        shuffled = np.random.default_rng(name_seed(seed, "shuffle")).permutation(planted)
        labels, used = both["conversation"].to_numpy(), both["conversation"].n_unique()
        note = "the bootstrap resamples conversations"
        for name, guess in (("extracted", value), ("shuffled planted (null)", shuffled),
                            ("planted mean (trivial)", np.full(len(planted), planted.mean()))):
            within, low, high = cluster_bootstrap_mean_ci((np.abs(guess - planted) <= 5).astype(float), labels,
                                                          n_boot=n_boot, seed=name_seed(seed, name, "within"))
            rows.append((f"within 5 of planted: {name}", within, low, high, both.height, used, note))
            mae, low, high = cluster_bootstrap_mean_ci(np.abs(guess - planted), labels, n_boot=n_boot,
                                                       seed=name_seed(seed, name, "mae"))
            rows.append((f"MAE vs planted: {name}", mae, low, high, both.height, used, note))
    return pl.DataFrame(rows, schema=EXTRACTION_SCHEMA, orient="row")


def predict(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, trajectories_in: str, out: str,
            provenance_out: str, threads: int | None = None) -> None:
    """Out-of-fold predictions of every fitted predictor against each target, and each rater's ratings."""
    settings = study["benchmark"]
    frame = read_table(trajectories_in, schema=TRAJECTORY_SCHEMA)
    store, models = open_study_models(llm_section, STUDY, settings["raters"], threads=threads)
    parts = []
    with store:
        for which in settings["targets"]:
            points = benchmark.targets(frame, which)
            if points["case_id"].n_unique() < 2:
                print(f"target {which}: {points.height} points of {points['case_id'].n_unique()} case(s); not scored")
                continue
            vectors = embed(points["masked"].to_list(), store=store)
            fitted = benchmark.fitted_predictions(points, vectors, n_splits=settings["n_splits"],
                                                  ridge_alpha=settings["ridge_alpha"])
            rated = [benchmark.model_ratings(models[name], points, predictor=f"rated by {name}")
                     for name in settings["raters"]]
            parts.append(pl.concat([fitted, *rated]).with_columns(pl.lit(which).alias("target")))
        write_llm_provenance(provenance_out, list(models.values()))
    schema = {**benchmark.PREDICTION_SCHEMA, "target": pl.String}
    write_table(pl.concat(parts) if parts else pl.DataFrame(schema=schema), out, schema=schema)


def decline_phases(phase_ids: Sequence[str]) -> list[str]:
    """The configured phases whose planted arc falls within the phase (P10's peaks first)."""
    return [p for p in phase_ids if phases()[p]["arc"] == "decline"]


def check_fidelity(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, transcripts: str, trajectories_in: str,
                   adherence_out: str, habituation_out: str, arc_out: str, diversity_out: str) -> None:
    """Phase adherence, within-phase habituation (per phase; and over the declining phases per
    scenario, the claim's table) and diversity across cases.
    """
    records = read_transcripts(transcripts)
    defined = {p: spec for p, spec in phases().items() if p in study["phases"]}
    write_table(adherence(records, defined), adherence_out, schema=ADHERENCE_SCHEMA)
    frame = read_table(trajectories_in, schema=TRAJECTORY_SCHEMA)
    write_table(habituation(frame, n_boot=study["n_boot"], seed=study["seed"]), habituation_out, schema=HABITUATION_SCHEMA)
    write_table(arc_recovery(frame, phases=decline_phases(study["phases"]), n_boot=study["n_boot"], seed=study["seed"]),
                arc_out, schema=ARC_SCHEMA)
    store, _ = open_study_models(llm_section, STUDY, [])
    with store:
        texts = [" ".join(t["text"] for t in r["turns"]) for r in records]
        vectors = dict(zip([r["id"] for r in records], embed(texts, store=store), strict=True))
    write_table(diversity(records, vectors), diversity_out, schema=DIVERSITY_SCHEMA)


def summarise(study: Mapping[str, Any], *, marginals: str, trajectories_in: str, predictions: str,
              tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """The benchmark table with intervals over cases, and the figures."""
    from replisuite.trauma import figures

    frame = read_table(trajectories_in, schema=TRAJECTORY_SCHEMA)
    schema = {**benchmark.PREDICTION_SCHEMA, "target": pl.String}
    predicted = read_table(predictions, schema=schema)
    by_target = {which: part.drop("target") for (which,), part in predicted.group_by("target", maintain_order=True)}
    table = benchmark.benchmark_table(frame, by_target, n_boot=study["n_boot"], seed=study["seed"])
    write_table(table, tables["benchmark"], schema=benchmark.BENCHMARK_SCHEMA)
    apply_style()
    drawn = {"marginals": figures.marginals(read_table(marginals, schema=MARGINALS_SCHEMA)),
             "trajectories": figures.trajectories(frame, predicted, examples=study["figures"]["examples"]),
             "benchmark": figures.benchmark_bars(table)}
    for name, figure in drawn.items():
        save_figure(figure, *figure_paths(figure_stems[name]))

