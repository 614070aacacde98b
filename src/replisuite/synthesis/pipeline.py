"""The synthesis study's steps: posts to reasoned dialogues (per generator), the filter on the
dialogues and on planted defective copies, the four-dimension benchmark with its task floor, and
the summary tables and figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from replisuite.dialogue.engine import Engine
from replisuite.dialogue.profiles import Profile
from replisuite.dialogue.protocols import Protocol, resolve, with_overrides
from replisuite.dialogue.reasoning import Knowledge, render_reasoned, resolve_knowledge
from replisuite.dialogue.transcripts import read_transcripts, write_transcripts
from replisuite.judge import filtering
from replisuite.judge.judging import JUDGEMENT_SCHEMA, judge
from replisuite.judge.rubrics import resolve as resolve_rubrics
from replisuite.llm import open_study_models
from replisuite.provenance import write_llm_provenance
from replisuite.stats import name_seed
from replisuite.synthesis.analysis import HUMAN
from replisuite.synthesis.defects import DEGRADATIONS, degrade, plant, plantable
from replisuite.synthesis.posts import counselchat_answers, counselchat_posts, jsonl_posts, read_topic_map
from replisuite.tables import write_table

STUDY = "synthesis"
FILTER_RUBRIC = "psyllm_filter"
BENCHMARK_RUBRIC = "psyllm"
FILTER = "filter"
VERSION_SCHEMA = {"unit": pl.String, "generator": pl.String, "source": pl.String, "version": pl.String}
CHECKS_SCHEMA = {**filtering.CHECK_SCHEMA, **VERSION_SCHEMA}
BENCHMARK_SCHEMA = {**JUDGEMENT_SCHEMA, **VERSION_SCHEMA}


def load_posts(posts: Mapping[str, Any], *, counselchat: str | None, seed: int) -> pl.DataFrame:
    """The run's posts: a JSONL file when ``posts.file`` is set, else CounselChat questions."""
    if posts.get("file"):
        return jsonl_posts(posts["file"])
    return counselchat_posts(counselchat, topics=posts.get("topics"), per_topic=posts["per_topic"], seed=seed)


def study_protocol(study: Mapping[str, Any], knowledge: Knowledge) -> Protocol:
    """The synthesis protocol with the knowledge file in its prompt and the run's overrides."""
    protocol = resolve(study["protocol"], prompts={"knowledge": knowledge.describe()})
    return with_overrides(protocol, study.get("overrides") or {}, where=f"{STUDY}.overrides")


def synthesise(study: Mapping[str, Any], llm_section: Mapping[str, Any], generator: str, *, counselchat: str | None,
               out: str, provenance_out: str, threads: int | None = None) -> None:
    """One generator's dialogue per post (the post is the client's first turn; the client model plays
    the later client turns), written as transcripts with each post's topic.
    """
    posts = load_posts(study["posts"], counselchat=counselchat, seed=study["seed"])
    knowledge = resolve_knowledge(study["knowledge"])
    protocol = study_protocol(study, knowledge)
    names = list(dict.fromkeys([generator, study["client"]]))
    store, models = open_study_models(llm_section, STUDY, names, threads=threads)
    profiles = [Profile(id=row["id"], kind="post", fields={"text": row["text"]}, source="posts")
                for row in posts.iter_rows(named=True)]
    with store:
        engine = Engine(protocol, {"counsellor": models[generator], "client": models[study["client"]]},
                        seed=name_seed(study["seed"], generator))
        records = engine.run(profiles)
        write_llm_provenance(provenance_out, list(models.values()))
    topics = dict(zip(posts["id"], posts["topic"], strict=True))
    write_transcripts(({**record, "topic": topics[record["profile_id"]], "generator": generator} for record in records), out)


def _generator(records: Sequence[Mapping[str, Any]], path: str) -> str:
    names = {record.get("generator") for record in records}
    if len(names) != 1 or None in names:
        raise ValueError(f"{path}: expected the transcripts of one generator (field 'generator'), found {sorted(map(str, names))}")
    return names.pop()


def dialogues_of(records: Sequence[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Post id -> turns of each transcript record."""
    return {record["profile_id"]: list(record["turns"]) for record in records}


def filter_dialogues(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, transcripts: str,
                     out: str, provenance_out: str, threads: int | None = None) -> None:
    """The filter (rule checks, then the judge's four issues) and the trivial filters on every
    dialogue and on defective copies of the plantable ones (closed reasoning in every counsellor turn).
    """
    knowledge = resolve_knowledge(study["knowledge"])
    records = read_transcripts(transcripts)
    generator = _generator(records, transcripts)
    originals = dialogues_of(records)
    pool = {unit: turns for unit, turns in originals.items() if plantable(turns)}
    versions = {unit: (unit, "original") for unit in originals}
    units = dict(originals)
    for defect in study["defects"]:
        for unit, turns in plant(pool, defect, knowledge=knowledge, seed=study["seed"]).items():
            units[unit] = turns
            versions[unit] = (unit.split("#")[0], defect)
    rubric = resolve_rubrics([FILTER_RUBRIC])[FILTER_RUBRIC]
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    llm = models[judge_name]
    with store:
        contexts = {unit: render_reasoned(turns) for unit, turns in units.items()}
        judgements = judge(llm, rubric, contexts, method=study["judge_method"].get(judge_name, "json"), seed=study["seed"],
                           what="synthesised counselling dialogue")
        write_llm_provenance(provenance_out, [llm])
    checks = pl.concat([
        filtering.rule_rows(units, knowledge=knowledge, filter_name=FILTER),
        filtering.judge_rows(judgements, filter_name=FILTER),
        filtering.length_rule(units, min_words=study["baselines"]["min_words"]),
        filtering.keyword_rule(units, keywords=study["baselines"]["keywords"]),
    ])
    version_frame = pl.DataFrame([{"unit": u, "generator": generator, "source": s, "version": v}
                                  for u, (s, v) in versions.items()], schema=VERSION_SCHEMA)
    write_table(checks.join(version_frame, on="unit", how="left"), out, schema=CHECKS_SCHEMA)


def benchmark_dialogues(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, transcripts: str,
                        out: str, provenance_out: str, counselchat: str | None = None,
                        threads: int | None = None) -> None:
    """The ``psyllm`` rubric on every dialogue's replies, on degraded copies of up to
    ``floor_dialogues`` complete ones, drawn by their ids (the judge's task floor), and, with
    ``human_reference`` and CounselChat posts, on each post's top-voted therapist answer.
    """
    records = read_transcripts(transcripts)
    generator = _generator(records, transcripts)
    originals = dialogues_of(records)
    units = {unit: (turns, unit, "original") for unit, turns in originals.items()}
    # complete dialogues only (no filler reply): a degraded copy must be worse than a whole original
    answered = [u for u, turns in originals.items()
                if all(not t.get("filler") for t in turns) and any(t["role"] == "counsellor" for t in turns)]
    for unit in sorted(answered, key=lambda u: name_seed(study["seed"], "floor", u))[:study["floor_dialogues"]]:
        for kind in DEGRADATIONS:
            units[f"{unit}#{kind}"] = (degrade(originals[unit], kind), unit, kind)
    if study["human_reference"] and counselchat:
        for unit, answer in counselchat_answers(counselchat, list(originals)).items():
            units[f"{unit}#human"] = ([originals[unit][0], {"role": "counsellor", "text": answer}], unit, HUMAN)
    rubric = resolve_rubrics([BENCHMARK_RUBRIC])[BENCHMARK_RUBRIC]
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    llm = models[judge_name]
    with store:
        contexts = {unit: render_reasoned(turns, reasoning=False) for unit, (turns, _, _) in units.items()}
        judgements = judge(llm, rubric, contexts, method=study["judge_method"].get(judge_name, "json"), seed=study["seed"],
                           what="counselling dialogue")
        write_llm_provenance(provenance_out, [llm])
    versions = pl.DataFrame([{"unit": u, "generator": generator, "source": s, "version": v}
                             for u, (_, s, v) in units.items()], schema=VERSION_SCHEMA)
    write_table(judgements.join(versions, on="unit", how="left"), out, schema=BENCHMARK_SCHEMA)


def summarise(study: Mapping[str, Any], *, counselchat: str | None, topic_map: str, transcripts: Sequence[str],
              checks: Sequence[str], judgements: Sequence[str], tables: Mapping[str, str],
              figure_stems: Mapping[str, str]) -> None:
    """Every table and figure of the study from the generators' transcripts, checks and judgements."""
    from replisuite.synthesis import analysis, figures

    knowledge = resolve_knowledge(study["knowledge"])
    topics = read_topic_map(topic_map, conditions=[c.id for c in knowledge.conditions])
    posts = load_posts(study["posts"], counselchat=counselchat, seed=study["seed"])
    records = [r for path in transcripts for r in read_transcripts(path)]
    check_rows = pl.concat([pl.read_parquet(p) for p in checks])
    scores = pl.concat([pl.read_parquet(p) for p in judgements])
    dimensions = [item.id for item in resolve_rubrics([BENCHMARK_RUBRIC])[BENCHMARK_RUBRIC].items]
    results = {
        "generation": analysis.generation_table(records, plantable=plantable),
        "filter_outcomes": analysis.filter_outcomes(check_rows),
        "filter_decisions": analysis.dialogue_decisions(check_rows),
        "defect_detection": analysis.defect_detection(check_rows),
        "filter_validation": analysis.filter_validation(check_rows, filter_name=FILTER, n_boot=study["n_boot"],
                                                        seed=study["seed"]),
        "benchmark": analysis.benchmark_scores(scores, check_rows, dimensions=dimensions, n_boot=study["n_boot"],
                                               seed=study["seed"]),
        "benchmark_floor": analysis.floor_pairs(scores, DEGRADATIONS),
        "diagnosis": analysis.diagnosis_table(records, topic_map=topics, knowledge=knowledge,
                                              posts_text=dict(zip(posts["id"], posts["text"], strict=True))),
    }
    for name, frame in results.items():
        write_table(frame, tables[name], schema=frame.schema)
    figures.draw(results, figure_stems, defects=list(study["defects"]))
