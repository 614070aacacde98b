"""The support study's steps as the workflow runs them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.atomic import atomic_path
from replisuite.coding.annomi import THERAPIST_CODE, read_annomi, therapist_codes, utterances
from replisuite.coding.classifier import cross_validate, f1_scores
from replisuite.instruments import Instrument, shipped
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.stats import name_seed
from replisuite.support.causal import ATT_SCHEMA, BALANCE_SCHEMA, att_table, balance_table
from replisuite.support.cohort import (EXPERIENCE, read_transcripts, read_user_table, simulate_cohort, skill_column,
                                       validate_users)
from replisuite.support.effects import EFFECTS_SCHEMA, skill_effects
from replisuite.support.recovery import att_recovery, calibrated_coefficients, skill_recovery
from replisuite.support.skills import (SESSION_SKILLS_SCHEMA, measurement_quality, session_skills, skills_wide,
                                       transcript_skill_rates)
from replisuite.tables import read_table, write_table

REPLICATE_ATT_SCHEMA = {"scenario": pl.String, "replicate": pl.String, **ATT_SCHEMA, "truth": pl.Float64}
REPLICATE_EFFECTS_SCHEMA = {"scenario": pl.String, "replicate": pl.String, **EFFECTS_SCHEMA, "planted": pl.Float64}


def outcome_instruments(study: Mapping[str, Any]) -> dict[str, Instrument]:
    """The instruments of the configured outcomes; ``ValueError`` naming those the library lacks."""
    available = shipped()
    unknown = [o for o in study["outcomes"] if o not in available]
    if unknown:
        raise ValueError(f"config support.outcomes: {unknown} are not instruments of the library ({sorted(available)})")
    return {outcome: available[outcome] for outcome in study["outcomes"]}


def measure_skills(study: Mapping[str, Any], *, skills: Mapping[str, Sequence[str]], annomi_path: str,
                   tables: Mapping[str, str]) -> None:
    """Per-session skill rates from AnnoMI's annotations and from a classifier's out-of-fold codes."""
    codes = therapist_codes(utterances(read_annomi(annomi_path)))
    options = study["classifier"]
    predictions = cross_validate(codes, THERAPIST_CODE, classifier=options["name"], n_splits=options["n_splits"],
                                 seed=study["seed"], tfidf=options["tfidf"], C=options["logistic_C"])
    sessions = session_skills(codes, predictions, skills=skills)
    write_table(sessions, tables["sessions"], schema=SESSION_SKILLS_SCHEMA)
    quality = measurement_quality(sessions, n_boot=study["n_boot"], seed=study["seed"])
    write_table(quality, tables["measurement"], schema=quality.schema)
    f1 = f1_scores(predictions, n_boot=study["n_boot"], seed=study["seed"])
    write_table(f1, tables["classifier_f1"], schema=f1.schema)


def analyse(cohort: pl.DataFrame, study: Mapping[str, Any], *, skills: Sequence[str], instruments: Mapping[str, Instrument],
            n_boot: int, seed: int) -> dict[str, pl.DataFrame]:
    """Balance, ATT by every method, and skill effects (from every rate source the cohort has)."""
    treated = cohort["chat"].to_numpy()
    covariates = cohort.select(study["covariates"]).cast(pl.Float64).to_numpy()
    changes = {o: (cohort[f"{o}_post"] - cohort[f"{o}_pre"]).cast(pl.Float64).to_numpy() for o in instruments}
    caliper = study["matching"]["caliper_sd"]
    att = att_table(changes, treated, covariates, caliper_sd=caliper, n_boot=n_boot, seed=seed)
    chats = cohort.filter(pl.col("chat")).with_columns(
        [(pl.col(f"{o}_post") - pl.col(f"{o}_pre")).alias(f"{o}_change") for o in instruments])
    has_measured = skill_column(skills[0], measured=True) in cohort.columns
    sources = {"annotated": False, "classifier": True} if has_measured else {"as supplied": False}
    effects = pl.concat([
        skill_effects(chats, outcome=o, change=f"{o}_change",
                      skill_columns={s: skill_column(s, measured=measured) for s in skills},
                      adjust=study["covariates"], experience=EXPERIENCE, skills_from=source)
        for o in instruments for source, measured in sources.items()
    ])
    return {"balance": balance_table(covariates, study["covariates"], treated, caliper_sd=caliper), "att": att,
            "effects": effects}


def simulated(study: Mapping[str, Any], *, skills: Sequence[str], sessions: pl.DataFrame,
              instruments: Mapping[str, Instrument], scenario: str, replicate: str) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The cohort of one (scenario, replicate), its seed derived from those names."""
    seed = name_seed(study["seed"], scenario, replicate)
    cohort, truth = simulate_cohort(sessions, instruments=instruments, skills=skills,
                                    design=study["simulation"], effects=study["scenarios"][scenario],
                                    users=study["simulation"]["users"], seed=seed)
    cohort = validate_users(cohort, origin=f"simulated cohort {scenario}/{replicate}", instruments=instruments,
                            covariates=study["covariates"], skills=skills)
    return cohort, {"scenario": scenario, "replicate": replicate, "seed": seed, **truth}


def analyse_main(study: Mapping[str, Any], *, skills: Mapping[str, Sequence[str]], sessions_path: str,
                 user_table: str | None, cohort_out: str, truth_out: str, tables: Mapping[str, str],
                 transcripts: str | None = None, annomi_path: str | None = None) -> None:
    """The study's cohort (simulated, or the user's own table, its skill rates measured from the
    chats' transcripts when given) analysed in full.
    """
    instruments = outcome_instruments(study)
    names = list(skills)
    if user_table is None:
        sessions = skills_wide(read_table(sessions_path, schema=SESSION_SKILLS_SCHEMA))
        cohort, truth = simulated(study, skills=names, sessions=sessions, instruments=instruments,
                                  scenario=study["main_scenario"], replicate="main")
    else:
        rates = None
        if transcripts is not None:
            users = read_user_table(user_table, instruments=instruments, covariates=study["covariates"], skills=[])
            codes = therapist_codes(utterances(read_annomi(annomi_path)))
            rates = transcript_skill_rates(read_transcripts(transcripts, users=users), codes, skills=skills,
                                           classifier=study["classifier"])
        cohort = read_user_table(user_table, instruments=instruments, covariates=study["covariates"], skills=names,
                                 skill_rates=rates)
        truth = {"scenario": None, "table": user_table, "transcripts": transcripts}
    results = analyse(cohort, study, skills=names, instruments=instruments, n_boot=study["n_boot"], seed=name_seed(study["seed"], "main"))
    write_table(cohort, cohort_out, schema=cohort.schema)
    with atomic_path(truth_out) as tmp:
        tmp.write_text(json.dumps({"simulated": user_table is None, **truth}, indent=2, sort_keys=True) + "\n")
    for name, schema in (("balance", BALANCE_SCHEMA), ("att", ATT_SCHEMA), ("effects", EFFECTS_SCHEMA)):
        write_table(results[name], tables[name], schema=schema)


def replicate_names(count: int) -> list[str]:
    """Replicate names ``r001`` ... for ``count`` replicates."""
    return [f"r{i:03d}" for i in range(1, count + 1)]


def shard_replicates(count: int, shards: int, shard: int) -> list[str]:
    """The replicates of one shard (every ``shards``-th name): sharding never changes a result."""
    return replicate_names(count)[shard::shards]


def run_replicates(study: Mapping[str, Any], *, skills: Sequence[str], scenario: str, shard: int, sessions_path: str, att_out: str,
                   effects_out: str) -> None:
    """Simulate and analyse every replicate cohort of one shard of a scenario."""
    instruments = outcome_instruments(study)
    sessions = skills_wide(read_table(sessions_path, schema=SESSION_SKILLS_SCHEMA))
    options = study["replicates"]
    att_rows, effect_rows = [], []
    for replicate in shard_replicates(options["count"], options["shards"], shard):
        cohort, truth = simulated(study, skills=skills, sessions=sessions, instruments=instruments, scenario=scenario,
                                  replicate=replicate)
        results = analyse(cohort, study, skills=skills, instruments=instruments, n_boot=options["n_boot"],
                          seed=name_seed(truth["seed"], "bootstrap"))
        label = [pl.lit(scenario).alias("scenario"), pl.lit(replicate).alias("replicate")]
        att_rows.append(results["att"].select(*label, pl.all()).with_columns(
            pl.col("outcome").replace_strict(truth["sample_att"], return_dtype=pl.Float64).alias("truth")))
        effect_rows.append(results["effects"].select(*label, pl.all()).with_columns(
            pl.struct("outcome", "term").map_elements(lambda key, truth=truth: planted_value(truth, key["outcome"], key["term"]),
                                                      return_dtype=pl.Float64).alias("planted")))
    write_table(pl.concat(att_rows), att_out, schema=REPLICATE_ATT_SCHEMA)
    write_table(pl.concat(effect_rows), effects_out, schema=REPLICATE_EFFECTS_SCHEMA)


def planted_value(truth: Mapping[str, Any], outcome: str, term: str) -> float:
    """The effect planted for ``term`` on ``outcome`` (0 when none was planted)."""
    if term == "log_supporter_experience":
        return float(truth["planted_experience"][outcome])
    return float(truth["planted_skills"].get(outcome, {}).get(term, 0.0))


def expected_coefficients(study: Mapping[str, Any], sessions: pl.DataFrame, *, skills: Sequence[str]) -> pl.DataFrame:
    """Per scenario, outcome and skill: what the annotated (planted) and classifier (calibrated)
    regressions should converge to.
    """
    rows = []
    for scenario, effects in study["scenarios"].items():
        for outcome in study["outcomes"]:
            planted = effects["skills"].get(outcome, {})
            calibrated = calibrated_coefficients(sessions, planted, skills)
            for skill in skills:
                rows.append({"scenario": scenario, "outcome": outcome, "skills_from": "annotated", "term": skill,
                             "expected": float(planted.get(skill, 0.0))})
                rows.append({"scenario": scenario, "outcome": outcome, "skills_from": "classifier", "term": skill,
                             "expected": calibrated[skill]})
    return pl.DataFrame(rows)


def summarise(study: Mapping[str, Any], *, skills: Sequence[str], sessions_path: str, measurement_path: str, balance_path: str, att_path: str,
              effects_path: str, truth_path: str, replicate_att: Sequence[str], replicate_effects: Sequence[str],
              tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Recovery and null tables over the replicate cohorts, and the study's figures."""
    from replisuite.support import figures

    session_rates = read_table(sessions_path, schema=SESSION_SKILLS_SCHEMA)
    expected = expected_coefficients(study, skills_wide(session_rates), skills=skills)
    att_rows = pl.concat([read_table(p, schema=REPLICATE_ATT_SCHEMA) for p in replicate_att])
    effect_rows = pl.concat([read_table(p, schema=REPLICATE_EFFECTS_SCHEMA) for p in replicate_effects])
    att_summary = att_recovery(att_rows)
    write_table(att_summary, tables["att_recovery"], schema=att_summary.schema)
    skill_summary = skill_recovery(effect_rows, expected=expected)
    write_table(skill_summary, tables["skill_recovery"], schema=skill_summary.schema)

    truth = json.loads(open(truth_path).read())
    main_expected = expected.filter(pl.col("scenario") == study["main_scenario"]) if truth["simulated"] else None
    apply_style()
    save_figure(figures.balance_figure(read_table(balance_path, schema=BALANCE_SCHEMA)), *figure_paths(figure_stems["balance"]))
    save_figure(figures.att_figure(read_table(att_path, schema=ATT_SCHEMA), truth), *figure_paths(figure_stems["att"]))
    save_figure(figures.skills_figure(read_table(effects_path, schema=EFFECTS_SCHEMA), truth, main_expected),
                *figure_paths(figure_stems["skills"]))
    save_figure(figures.coverage_figure(att_summary, skill_summary), *figure_paths(figure_stems["coverage"]))
    save_figure(figures.measurement_figure(session_rates, pl.read_csv(measurement_path)),
                *figure_paths(figure_stems["measurement"]))
