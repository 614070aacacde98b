"""The roleplay study's steps: profiles, one simulation per protocol and model pair, questionnaire
recovery by a rater model, PsychEval's Table 1, and the summary tables and figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from replisuite.dialogue import metrics
from replisuite.dialogue.engine import Engine
from replisuite.dialogue.profiles import (
    Profile,
    generate_questionnaire_profiles,
    interactive_agents_posts,
    load_profiles,
    psycheval_case,
)
from replisuite.dialogue.protocols import resolve, with_overrides
from replisuite.dialogue.psycheval import TABLE1_SCHEMA, table1
from replisuite.dialogue.sqpsychconv import read_sqpsychconv
from replisuite.dialogue.recovery import ITEMS_SCHEMA, RECOVERED_SCHEMA, rate_items, recovered_totals
from replisuite.dialogue.transcripts import read_transcripts, render, write_transcripts
from replisuite.instruments import shipped
from replisuite.llm import LLMError, embed, open_study_models
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.tables import write_table

STUDY = "roleplay"
IDENTIFIABILITY_SCHEMA = {**metrics.IDENTIFIABILITY_SCHEMA, "models": pl.String}
PAIR_SEPARATOR = "__"


def instruments() -> dict[str, Any]:
    """The instruments the roleplay profiles are scored on (BDI-II topics and HAM-A)."""
    found = shipped()
    return {"bdi2": found["bdi2_topics"], "hama": found["hama"]}


def pair_name(pair: Mapping[str, str]) -> str:
    """The name of a counsellor/client model pair (as in file names)."""
    return f"{pair['counsellor']}{PAIR_SEPARATOR}{pair['client']}"


def make_profiles(study: Mapping[str, Any], *, out: str, published: Sequence[str] = ()) -> None:
    """The run's profiles: a user's file (validated), published ones (Interactive Agents' posts or
    PsychEval's cases, from ``published``), or the seeded generator's questionnaire profiles.
    """
    settings = study["profiles"]
    if settings.get("published"):
        profiles = published_profiles(settings["published"], published, limit=settings.get("limit"))
    elif settings.get("file"):
        profiles = load_profiles(settings["file"])
    else:
        found = instruments()
        profiles = generate_questionnaire_profiles(settings["n"], seed=study["seed"], bdi2=found["bdi2"],
                                                   hama=found["hama"], severities=settings["severities"])
    write_transcripts([profile_record(p) for p in profiles], out)


def published_profiles(kind: str, paths: Sequence[str], *, limit: int | None) -> list[Profile]:
    """``interactive_agents_test`` / ``_train`` (one posts file) or ``psycheval_cases`` (case files)."""
    if kind.startswith("interactive_agents"):
        (path,) = paths
        return interactive_agents_posts(path, prefix=kind.removeprefix("interactive_agents_").replace("_", "-"),
                                        limit=limit)
    if kind == "psycheval_cases":
        return [psycheval_case(path) for path in sorted(paths)][:limit]
    raise ValueError(f"config roleplay.profiles.published: unknown {kind!r}")


def profile_record(profile: Profile) -> dict[str, Any]:
    """The profile as the JSON record written to the profiles file."""
    return {"id": profile.id, "kind": profile.kind, "language": profile.language, "source": profile.source,
            **dict(profile.fields), **({"global_plan": list(profile.plan)} if profile.plan else {})}


def read_profiles(path: str) -> list[Profile]:
    """The profiles of a profiles file."""
    return load_profiles(Path(path))


def protocol_of(study: Mapping[str, Any], name: str, prompt_files: Mapping[str, str] | None = None):
    """The dialogue protocol ``name`` of the config, with the published prompts and the config's overrides applied."""
    settings = study["protocols"][name]
    prompts = {key: Path(path).read_text(encoding="utf-8").strip() for key, path in (prompt_files or {}).items()}
    protocol = resolve(settings["file"], prompts=prompts)
    return with_overrides(protocol, settings.get("overrides") or {}, where=f"config roleplay.protocols.{name}")


def simulate(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, protocol: str, pair: str, profiles: str,
             out: str, provenance_out: str, prompt_files: Mapping[str, str] | None = None,
             threads: int | None = None) -> None:
    """Every profile through one protocol with one counsellor/client model pair."""
    counsellor, _, client = pair.partition(PAIR_SEPARATOR)
    rules = protocol_of(study, protocol, prompt_files)
    names = list(dict.fromkeys([counsellor, client]))
    store, models = open_study_models(llm_section, STUDY, names, threads=threads)
    chosen = read_profiles(profiles)
    with store:
        engine = Engine(rules, {"counsellor": models[counsellor], "client": models[client]}, seed=study["seed"],
                        plan=study["plan"], instruments=instruments())
        records = engine.run(chosen)
        write_llm_provenance(provenance_out, list(models.values()))
    write_transcripts(records, out)


def recover(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, rater: str, transcripts: Sequence[str],
            profiles: str, out: str, provenance_out: str, threads: int | None = None) -> None:
    """The rater's BDI-II and HAM-A answers for every questionnaire-profile conversation, scored."""
    settings = study["recovery"]
    known = {p.id: p for p in read_profiles(profiles)}
    records = [r for path in transcripts for r in read_transcripts(path)
               if known[r["profile_id"]].kind == "questionnaire"]
    store, models = open_study_models(llm_section, STUDY, [rater], threads=threads)
    with store:
        items = rate_items(models[rater], records, instruments(), method=settings["method"].get(rater, "parsed"),
                           max_chars=settings["max_chars"], params=settings["params"])
        write_llm_provenance(provenance_out, [models[rater]])
    totals = recovered_totals(items, records, known, instruments(), rater=rater) if items.height else \
        pl.DataFrame(schema=RECOVERED_SCHEMA)
    write_table(totals, out, schema=RECOVERED_SCHEMA)
    write_table(items, str(Path(out).with_suffix(".items.parquet")), schema=ITEMS_SCHEMA)


def psycheval_table(study: Mapping[str, Any], *, cases: Mapping[str, Sequence[str]], out: str) -> None:
    """PsychoEval Table 1 recomputed from the released cases beside the published values."""
    write_table(table1(cases, study["psycheval"]["published"]), out, schema=TABLE1_SCHEMA)


def summarise(study: Mapping[str, Any], *, transcripts: Sequence[str], profiles: str, recovered: Sequence[str],
              tables: Mapping[str, str], figure_stems: Mapping[str, str], store_dir: str) -> None:
    """Conversation statistics, identifiability, recovery tables and figures of the roleplay study."""
    from replisuite.roleplay import figures

    records = [r for path in transcripts for r in read_transcripts(path)]
    known = {p.id: p for p in read_profiles(profiles)}
    stats = metrics.conversation_stats(records)
    write_table(stats, tables["conversations"], schema=metrics.STATS_SCHEMA)
    summary = metrics.summarise_stats(stats, n_boot=study["n_boot"], seed=study["seed"])
    write_table(summary, tables["dialogue"], schema=metrics.SUMMARY_SCHEMA)
    stops = metrics.stop_reasons(stats)
    write_table(stops, tables["stop_reasons"], schema=stops.schema)
    ident = identifiability(records, known, n_boot=study["n_boot"], seed=study["seed"], store_dir=store_dir)
    write_table(ident, tables["identifiability"], schema=IDENTIFIABILITY_SCHEMA)
    frames = [pl.read_parquet(p) for p in recovered]
    totals = pl.concat(frames) if frames else pl.DataFrame(schema=RECOVERED_SCHEMA)
    recovery = metrics.recovery_table(totals, n_boot=study["n_boot"], seed=study["seed"])
    write_table(recovery, tables["recovery"], schema=metrics.RECOVERY_SCHEMA)
    apply_style()
    save_figure(figures.dialogue(stats), *figure_paths(figure_stems["dialogue"]))
    save_figure(figures.identifiability(ident), *figure_paths(figure_stems["identifiability"]))
    save_figure(figures.recovery(totals), *figure_paths(figure_stems["recovery"]))


def identifiability(records: Sequence[Mapping[str, Any]], profiles: Mapping[str, Profile], *, n_boot: int, seed: int,
                    store_dir: str) -> pl.DataFrame:
    """Per protocol and model pair: retrieve each conversation's profile from its client turns (MiniLM)."""
    from replisuite.dialogue.profiles import describe
    from replisuite.llm import ResponseStore
    from replisuite.llm.models import store_path

    by_run: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        by_run.setdefault(f"{record['protocol']}|{record['models']['counsellor']}|{record['models']['client']}", []).append(record)
    frames = []
    with ResponseStore(store_path(store_dir, STUDY)) as store:
        for run, group in sorted(by_run.items()):
            group = sorted(group, key=lambda r: r["profile_id"])
            protocol, counsellor, client = run.split("|")
            if len(group) < 2:
                # retrieval needs two profiles to choose between: the run is kept as a row without a value,
                # so the claim says "not comparable" for it instead of the run disappearing
                print(f"identifiability of {run}: {len(group)} conversation, not measured")
                frames.append(pl.DataFrame({"protocol": [protocol], "pairing": ["true"], "k": [1], "accuracy": [None],
                                            "ci_low": [None], "ci_high": [None], "chance": [None],
                                            "profiles": [len(group)], "models": [f"{counsellor}/{client}"]},
                                           schema={**IDENTIFIABILITY_SCHEMA, "models": pl.String}))
                continue
            clients = [render(r["turns"], role="client") or "(silent)" for r in group]
            targets = [describe(profiles[r["profile_id"]], instruments=instruments()) for r in group]
            try:
                vectors = embed(clients + targets, store=store)
            except LLMError as error:
                raise LLMError(f"roleplay identifiability ({run}): {error}") from None
            frames.append(metrics.identifiability(vectors[:len(group)], vectors[len(group):], protocol=protocol,
                                                  n_boot=n_boot, seed=seed)
                          .with_columns(pl.lit(f"{counsellor}/{client}").alias("models")))
    return pl.concat(frames) if frames else pl.DataFrame(schema=IDENTIFIABILITY_SCHEMA)


REFERENCE_SCHEMA = {"source": pl.String, "protocol": pl.String, "counsellor_model": pl.String, "client_model": pl.String,
                    "measure": pl.String, "mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64}


def reference_measures(study: Mapping[str, Any], *, corpus: str, ours: str, out: str) -> None:
    """The released SQPsychConv dialogues measured as our own runs are (turns, words per turn by
    role, stop behaviour, distinct-n), side by side with our SQPsych runs' measures.
    """
    records = read_sqpsychconv(corpus, limit=study["reference"]["limit"])
    stats = metrics.conversation_stats(records)
    released = metrics.summarise_stats(stats, n_boot=study["n_boot"], seed=study["seed"])
    stops = pl.concat([released, _stop_share(stats)]).with_columns(pl.lit("SQPsychConv (released)").alias("source"))
    mine = pl.read_csv(ours, schema_overrides=metrics.SUMMARY_SCHEMA).filter(pl.col("protocol") == "sqpsych")
    table = pl.concat([stops.select(list(REFERENCE_SCHEMA)),
                       mine.with_columns(pl.lit("replisuite run").alias("source")).select(list(REFERENCE_SCHEMA))])
    write_table(table.sort("measure", "source"), out, schema=REFERENCE_SCHEMA)


def _stop_share(stats: pl.DataFrame) -> pl.DataFrame:
    """The share of conversations that ended on the protocol's end token, per model pair."""
    return (stats.group_by("protocol", "counsellor_model", "client_model", maintain_order=True)
            .agg((pl.col("stop_reason") == "end_token").mean().alias("mean"), pl.len().alias("n"))
            .with_columns(pl.lit("stop: end token share").alias("measure"), pl.lit(None, dtype=pl.Float64).alias("ci_low"),
                          pl.lit(None, dtype=pl.Float64).alias("ci_high"))
            .select(list(metrics.SUMMARY_SCHEMA)).cast(metrics.SUMMARY_SCHEMA))
