"""The reconstruct study (HELPERT's design on AnnoMI): real sessions with every counsellor turn
rewritten by a model, the client's turns replayed, compared with the originals on session dynamics
(the shared utterance classifier, trained on folds that exclude the session) and rubric scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
from scipy import stats as scipy_stats

from replisuite.coding.annomi import read_annomi, task_frame, utterances
from replisuite.coding.classifier import fit_predict
from replisuite.dialogue.engine import Engine
from replisuite.dialogue.profiles import Profile, load_profiles, scripted
from replisuite.dialogue.protocols import resolve
from replisuite.dialogue.transcripts import read_transcripts, write_transcripts
from replisuite.judge.data import annomi_sessions, stratified_sample
from replisuite.judge.judging import judge, totals
from replisuite.judge.rubrics import resolve as resolve_rubrics
from replisuite.llm import open_study_models
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.provenance import write_llm_provenance
from replisuite.stats import bootstrap_mean_ci, cluster_bootstrap_mean_ci, name_seed
from replisuite.tables import write_table

STUDY = "reconstruct"
ORIGINAL = "original"
TASK = "therapist_behaviour"


def truncate(turns: Sequence[Mapping[str, str]], *, max_turns: int | None) -> list[Mapping[str, str]]:
    """The first ``max_turns`` speaker turns (consecutive utterances of one speaker merged first)."""
    merged = scripted("tmp", turns).script
    return list(merged if max_turns is None else merged[:max_turns])


SAMPLE_SCHEMA = {"unit": pl.String, "label": pl.String, "kept": pl.Boolean, "reason": pl.String}


def prepare(study: Mapping[str, Any], *, annomi: str, profiles_out: str, originals_out: str, sample_out: str) -> None:
    """The sampled sessions as scripted profiles, and their originals as transcript records; every
    sampled session with whether it was kept and why not (none is dropped without a count).
    """
    sessions, table = annomi_sessions(annomi)
    turns = {unit: [{"role": t.role, "text": t.text} for t in session.turns] for unit, session in sessions.items()}
    sample = stratified_sample(table, per_label=study["sessions_per_label"], seed=study["seed"])
    labels = dict(zip(sample["unit"], sample["label"], strict=True))
    profiles, originals, accounted = [], [], []
    for unit in sample["unit"]:
        kept = truncate(turns[unit], max_turns=study["max_turns"])
        if not any(t["role"] == "client" for t in kept) or not any(t["role"] == "counsellor" for t in kept):
            accounted.append((unit, labels[unit], False, f"no {'client' if not any(t['role'] == 'client' for t in kept) else 'counsellor'} "
                                                         f"turn in the first {study['max_turns']} turns"))
            continue
        accounted.append((unit, labels[unit], True, ""))
        profile = scripted(unit, kept, source=f"AnnoMI {unit}", extra={"mi_quality": labels[unit]})
        profiles.append(profile)
        exchange, opener, out_turns = 0, kept[0]["role"], []
        for turn in kept:
            exchange += turn["role"] == opener
            out_turns.append({**turn, "session": 1, "exchange": exchange, "scripted": True})
        originals.append({"id": f"{ORIGINAL}/{unit}", "profile_id": unit, "protocol": ORIGINAL,
                          "models": {"counsellor": ORIGINAL, "client": "script"}, "turns": out_turns,
                          "stop_reason": "script_end", "language": "en", "sessions": 1})
    write_transcripts([{"id": p.id, "kind": p.kind, "language": p.language, "source": p.source, **dict(p.fields)}
                       for p in profiles], profiles_out)
    write_transcripts(originals, originals_out)
    dropped = sum(not kept for _, _, kept, _ in accounted)
    if dropped:
        print(f"{dropped} of {len(accounted)} sampled sessions dropped (see {sample_out})")
    write_table(pl.DataFrame(accounted, schema=SAMPLE_SCHEMA, orient="row"), sample_out, schema=SAMPLE_SCHEMA)


def reconstruct(study: Mapping[str, Any], llm_section: Mapping[str, Any], model: str, *, profiles: str, out: str,
                provenance_out: str, threads: int | None = None) -> None:
    """Every sampled session with each counsellor turn written by ``model``."""
    protocol = resolve(study["protocol"])
    chosen: list[Profile] = load_profiles(profiles)
    store, models = open_study_models(llm_section, STUDY, [model], threads=threads)
    with store:
        records = Engine(protocol, {"counsellor": models[model], "client": models[model]}, seed=study["seed"]).run(chosen)
        write_llm_provenance(provenance_out, [models[model]])
    write_transcripts(records, out)


# --- session dynamics by the utterance classifier ------------------------------------------------

CODED_SCHEMA = {"unit": pl.String, "version": pl.String, "position": pl.Int64, "text": pl.String, "predicted": pl.String}
VALIDATION_SCHEMA = {"classifier": pl.String, "utterances": pl.Int64, "sessions": pl.Int64, "accuracy": pl.Float64,
                     "ci_low": pl.Float64, "ci_high": pl.Float64, "majority_baseline": pl.Float64, "macro_f1": pl.Float64}


def _counsellor_turns(record: Mapping[str, Any], version: str) -> pl.DataFrame:
    unit = record["profile_id"]
    rows, previous = [], ""
    for position, turn in enumerate(record["turns"]):
        if turn["role"] == "counsellor":
            rows.append({"unit": unit, "version": version, "position": position, "utterance_text": turn["text"],
                         "previous_text": previous})
        previous = turn["text"]
    return pl.DataFrame(rows, schema={"unit": pl.String, "version": pl.String, "position": pl.Int64,
                                      "utterance_text": pl.String, "previous_text": pl.String})


def code_versions(study: Mapping[str, Any], *, annomi: str, originals: str, reconstructions: Sequence[str],
                  coded_out: str, validation_out: str) -> None:
    """Each counsellor turn of the originals and the reconstructions coded by the classifier trained on
    the AnnoMI folds that exclude its session, and the classifier's held-out accuracy on AnnoMI.
    """
    from sklearn.model_selection import GroupKFold  # here: the model jobs of this module need no scikit-learn

    settings = study["classifier"]
    frame = task_frame(utterances(read_annomi(annomi)), TASK)
    frame = frame.with_columns(pl.concat_str(pl.lit("annomi-"), pl.col("transcript_id").cast(pl.String)).alias("unit"))
    records = [(r, ORIGINAL) for r in read_transcripts(originals)] + [
        (r, r["models"]["counsellor"]) for path in reconstructions for r in read_transcripts(path)]
    targets = pl.concat([_counsellor_turns(r, version) for r, version in records])
    folds = GroupKFold(n_splits=settings["n_splits"], shuffle=True, random_state=study["seed"])
    coded, held_out = [], []
    labels = frame[TASK].to_numpy()
    for train_index, test_index in folds.split(frame, labels, groups=frame["unit"].to_numpy()):
        train, test = frame[train_index], frame[test_index]
        options = {"classifier": settings["name"], "tfidf": settings["tfidf"], "C": settings["logistic_C"]}
        held_out.append(pl.DataFrame({"label": labels[test_index], "session": test["unit"],
                                      "predicted": fit_predict(train, test, labels[train_index], **options).astype(str)}))
        mine = targets.filter(pl.col("unit").is_in(test["unit"].unique().to_list()))
        if mine.height:
            coded.append(mine.with_columns(pl.Series("predicted", fit_predict(train, mine, labels[train_index], **options).astype(str))))
    coded_frame = pl.concat(coded).rename({"utterance_text": "text"}).select(list(CODED_SCHEMA))
    write_table(coded_frame.sort("unit", "version", "position"), coded_out, schema=CODED_SCHEMA)
    write_table(validation(pl.concat(held_out), classifier=settings["name"], n_boot=study["n_boot"], seed=study["seed"]),
                validation_out, schema=VALIDATION_SCHEMA)


def validation(held_out: pl.DataFrame, *, classifier: str, n_boot: int, seed: int = 0) -> pl.DataFrame:
    """Held-out accuracy and macro F1 beside always guessing the most frequent code. The folds hold
    out whole sessions, so the accuracy's bootstrap interval resamples sessions (``held_out`` has a
    ``session`` column), not utterances.
    """
    truth, predicted = held_out["label"].to_numpy(), held_out["predicted"].to_numpy()
    classes = sorted(set(truth))
    f1 = []
    for c in classes:
        tp = np.sum((predicted == c) & (truth == c))
        precision = tp / max(np.sum(predicted == c), 1)
        recall = tp / max(np.sum(truth == c), 1)
        f1.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    majority = max(np.mean(truth == c) for c in classes)
    accuracy, low, high = cluster_bootstrap_mean_ci((truth == predicted).astype(float), held_out["session"].to_numpy(),
                                                    n_boot=n_boot, seed=seed)
    return pl.DataFrame([(classifier, len(truth), held_out["session"].n_unique(), accuracy, low, high, float(majority),
                          float(np.mean(f1)))], schema=VALIDATION_SCHEMA, orient="row")


# --- rubric scores by the judge layer ----------------------------------------------------------

def judge_versions(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, originals: str,
                   reconstructions: Sequence[str], out: str, provenance_out: str, threads: int | None = None) -> None:
    """Every rubric score of the originals and the reconstructions, by one judge."""
    settings = study["judge"]
    rubrics = resolve_rubrics(settings["rubrics"])
    records = read_transcripts(originals) + [r for path in reconstructions for r in read_transcripts(path)]
    contexts = {r["id"]: _rendered(r, max_chars=settings["max_chars"]) for r in records}
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    with store:
        parts = [judge(models[judge_name], rubric, contexts, method=settings["method"].get(judge_name, "json"),
                       repeats=1, seed=study["seed"]) for rubric in rubrics.values()]
        write_llm_provenance(provenance_out, [models[judge_name]])
    scores = totals(pl.concat(parts), rubrics).with_columns(pl.lit(judge_name).alias("judge"))
    write_table(scores, out, schema=scores.schema)


def _rendered(record: Mapping[str, Any], *, max_chars: int) -> str:
    text = "\n".join(f"{'Counsellor' if t['role'] == 'counsellor' else 'Client'}: {t['text']}" for t in record["turns"])
    return text if len(text) <= max_chars else text[:max_chars]


# --- comparison ---------------------------------------------------------------------------------

SESSION_MEASURES_SCHEMA = {"unit": pl.String, "label": pl.String, "version": pl.String, "measure": pl.String,
                           "value": pl.Float64}
COMPARISON_SCHEMA = {"version": pl.String, "label": pl.String, "measure": pl.String, "sessions": pl.Int64,
                     "original": pl.Float64, "reconstructed": pl.Float64, "difference": pl.Float64,
                     "ci_low": pl.Float64, "ci_high": pl.Float64, "wilcoxon_p": pl.Float64}


def session_measures(records: Sequence[Mapping[str, Any]], coded: pl.DataFrame, scores: pl.DataFrame,
                     labels: Mapping[str, str]) -> pl.DataFrame:
    """Per session and version: turns, words per counsellor turn, question and reflection rates
    (of counsellor turns, by the classifier), and each judge's rubric totals.
    """
    rows = []
    for record in records:
        version = ORIGINAL if record["protocol"] == ORIGINAL else record["models"]["counsellor"]
        unit = record["profile_id"]
        counsellor = [t for t in record["turns"] if t["role"] == "counsellor"]
        mine = coded.filter((pl.col("unit") == unit) & (pl.col("version") == version))
        values = {"counsellor_turns": len(counsellor),
                  "words_per_counsellor_turn": float(np.mean([len(t["text"].split()) for t in counsellor])),
                  "question_rate": float((mine["predicted"] == "question").mean()) if mine.height else float("nan"),
                  "reflection_rate": float((mine["predicted"] == "reflection").mean()) if mine.height else float("nan")}
        for row in scores.filter(pl.col("unit") == record["id"]).iter_rows(named=True):
            values[f"{row['rubric']}_total ({row['judge']})"] = row["total"] if row["total"] is not None else float("nan")
        rows += [(unit, labels[unit], version, measure, float(value)) for measure, value in values.items()]
    return pl.DataFrame(rows, schema=SESSION_MEASURES_SCHEMA, orient="row")


def compare(measures: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Reconstructed minus original per session (paired), by MI-quality label and overall: mean
    difference with a bootstrap CI and the Wilcoxon signed-rank p-value.
    """
    original = measures.filter(pl.col("version") == ORIGINAL).select("unit", "measure", pl.col("value").alias("original"))
    rows = []
    for version in sorted(set(measures["version"]) - {ORIGINAL}):
        paired = (measures.filter(pl.col("version") == version).join(original, on=["unit", "measure"])
                  .filter(pl.col("value").is_not_nan() & pl.col("original").is_not_nan()))
        for label in ["all", *sorted(paired["label"].unique().to_list())]:
            part = paired if label == "all" else paired.filter(pl.col("label") == label)
            for (measure,), group in part.group_by("measure", maintain_order=True):
                diff = (group["value"] - group["original"]).to_numpy()
                mean, low, high = bootstrap_mean_ci(diff, n_boot=n_boot, seed=name_seed(seed, version, label, measure))
                p = float(scipy_stats.wilcoxon(diff).pvalue) if len(diff) >= 2 and np.any(diff != 0) else float("nan")
                rows.append((version, label, measure, len(diff), float(group["original"].mean()),
                             float(group["value"].mean()), mean, low, high, p))
    return pl.DataFrame(rows, schema=COMPARISON_SCHEMA, orient="row").sort("version", "measure", "label")


def summarise(study: Mapping[str, Any], *, originals: str, reconstructions: Sequence[str], coded: str,
              judgements: Sequence[str], profiles: str, tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Dynamics, judge scores and comparison tables and figures of original and reconstructed sessions."""
    from replisuite.reconstruct import figures

    records = read_transcripts(originals) + [r for path in reconstructions for r in read_transcripts(path)]
    labels = {p.id: p.fields["mi_quality"] for p in load_profiles(profiles)}
    scores = pl.concat([pl.read_parquet(p) for p in judgements]) if judgements else pl.DataFrame(
        schema={"unit": pl.String, "rubric": pl.String, "total": pl.Float64, "judge": pl.String})
    measures = session_measures(records, pl.read_parquet(coded), scores, labels)
    write_table(measures, tables["sessions"], schema=SESSION_MEASURES_SCHEMA)
    comparison = compare(measures, n_boot=study["n_boot"], seed=study["seed"])
    write_table(comparison, tables["comparison"], schema=COMPARISON_SCHEMA)
    apply_style()
    save_figure(figures.paired(measures), *figure_paths(figure_stems["paired"]))
