"""The preference study (PsychoCounsel's method on public data): preference pairs, a principle judge
checked against upvotes, reward models on held-out questions, DPO of the embedded model with a
LoRA adapter, and base vs tuned replies compared by reward, judge win rate and length.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.judge.judging import judge
from replisuite.judge.pairwise import judge_pairs, order_consistent_outcomes, win_rate
from replisuite.judge.rubrics import resolve as resolve_rubrics
from replisuite.llm import Message, open_study_models
from replisuite.llm.backends import LLMError
from replisuite.llm.embeddings import embed
from replisuite.llm.tuning import LOG_SCHEMA, MACHINE_MEASURES, result_summary, train_dpo
from replisuite.atomic import atomic_open
from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.preference.pairs import (
    PAIR_SCHEMA,
    STATISTICS_SCHEMA,
    as_chat_pairs,
    counselchat_pairs,
    pair_statistics,
    pick,
    read_published_pairs,
    split_by_question,
)
from replisuite.preference.reward import (
    PREDICTION_SCHEMA,
    accuracy_table,
    calibration_table,
    embedding_features,
    length_features,
    predictions,
    tfidf_differences,
    trained_rewards,
)
from replisuite.provenance import write_llm_provenance
from replisuite.stats import bootstrap_mean_ci, cluster_bootstrap_mean_ci, name_seed
from replisuite.tables import read_table, write_table

STUDY = "preference"
PRINCIPLE_RUBRIC = "psychocounsel"
POLICIES = ("base", "dpo")


def build_pairs(study: Mapping[str, Any], *, source: str, pairs_out: str, statistics_out: str) -> None:
    """Pairs from the published file when config names one, else from CounselChat; split by question."""
    settings = study["pairs"]
    if study.get("published_pairs"):
        pairs, dropped = read_published_pairs(source)
    else:
        pairs, dropped = counselchat_pairs(source, min_margin=settings["min_margin"], max_chars=settings["max_chars"],
                                           max_pairs_per_question=settings["max_pairs_per_question"], seed=study["seed"])
    pairs = split_by_question(pairs, test_share=settings["test_share"], seed=study["seed"])
    write_table(pairs, pairs_out, schema=PAIR_SCHEMA)
    write_table(pair_statistics(pairs, dropped), statistics_out, schema=STATISTICS_SCHEMA)


# --- principles vs upvotes ------------------------------------------------------------------------

AGREEMENT_SCHEMA = {"judge": pl.String, "principle": pl.String, "pairs": pl.Int64, "agree": pl.Int64,
                    "disagree": pl.Int64, "ties": pl.Int64, "agreement": pl.Float64, "ci_low": pl.Float64,
                    "ci_high": pl.Float64}


def _reply_context(question: str, reply: str, max_chars: int) -> str:
    return f"Client: {question[:max_chars]}\n\nCounsellor: {reply[:max_chars]}"


def judge_principles(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, pairs: str,
                     scores_out: str, agreement_out: str, provenance_out: str, threads: int | None = None) -> None:
    """Both replies of a sample of pairs scored on the seven principles by one judge, and how often
    the principle-preferred reply is the upvoted one (per principle, the total, and the longer reply).
    """
    settings = study["principles"]
    sample = pick(read_table(pairs, schema=PAIR_SCHEMA), n=settings["pairs"], seed=study["seed"])
    contexts = {f"{row['pair_id']}/{side}": _reply_context(row["question"], row[side], settings["max_chars"])
                for row in sample.iter_rows(named=True) for side in ("chosen", "rejected")}
    rubric = resolve_rubrics([PRINCIPLE_RUBRIC])[PRINCIPLE_RUBRIC]
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    with store:
        scores = judge(models[judge_name], rubric, contexts, method=settings["method"].get(judge_name, "json"),
                       seed=study["seed"], what="client message and counsellor reply")
        write_llm_provenance(provenance_out, [models[judge_name]])
    scores = scores.with_columns(pl.lit(judge_name).alias("judge"))
    write_table(scores, scores_out, schema=scores.schema)
    write_table(principle_agreement(sample, scores, judge=judge_name, n_boot=study["n_boot"], seed=study["seed"]),
                agreement_out, schema=AGREEMENT_SCHEMA)


def principle_agreement(sample: pl.DataFrame, scores: pl.DataFrame, *, judge: str, n_boot: int, seed: int) -> pl.DataFrame:
    """Per principle (and their sum, and reply length as the trivial guess): of the pairs where the two
    replies differ, the share where the upvoted reply is preferred, with a bootstrap interval that
    resamples questions.
    """
    usable = scores.filter(pl.col("status") == "ok").with_columns(
        pl.col("unit").str.split("/").list.get(0).alias("pair_id"), pl.col("unit").str.split("/").list.get(1).alias("side"))
    wide = usable.pivot(on="side", index=["pair_id", "item"], values="score")
    if "chosen" not in wide.columns or "rejected" not in wide.columns:
        wide = pl.DataFrame(schema={"pair_id": pl.String, "item": pl.String, "chosen": pl.Int64, "rejected": pl.Int64})
    wide = wide.drop_nulls(["chosen", "rejected"])
    difference = {item: dict(zip(f["pair_id"], (f["chosen"] - f["rejected"]).to_list(), strict=True))
                  for (item,), f in wide.group_by("item", maintain_order=True)}
    complete = set.intersection(*(set(d) for d in difference.values())) if difference else set()
    difference["total"] = {p: sum(d[p] for d in difference.values()) for p in sorted(complete)}
    difference["longer reply (baseline)"] = {
        row["pair_id"]: len(row["chosen"].split()) - len(row["rejected"].split()) for row in sample.iter_rows(named=True)}
    question_of = dict(zip(sample["pair_id"], sample["question_id"], strict=True))
    rows = []
    for principle, values in difference.items():
        signs = np.sign(np.array(list(values.values()), dtype=float))
        questions = np.array([question_of[pair] for pair in values])
        decided = signs != 0
        # pairs of one question share its text and often its replies: resample questions
        agreement, low, high = cluster_bootstrap_mean_ci((signs[decided] > 0).astype(float), questions[decided],
                                                         n_boot=n_boot, seed=name_seed(seed, principle))
        rows.append((judge, principle, len(signs), int((signs > 0).sum()), int((signs < 0).sum()), int((signs == 0).sum()),
                     agreement, low, high))
    return pl.DataFrame(rows, schema=AGREEMENT_SCHEMA, orient="row")


# --- reward models --------------------------------------------------------------------------------

def fit_reward_models(study: Mapping[str, Any], llm_section: Mapping[str, Any], *, pairs: str, predictions_out: str,
                      weights_out: str) -> None:
    """Bradley-Terry reward models (embedding, length, both, TF-IDF) fitted on the training questions,
    predictions on the held-out ones, and the embedding model's weights (to score policy replies).
    """
    settings = study["reward"]
    frame = read_table(pairs, schema=PAIR_SCHEMA)
    train, test = (frame.filter(pl.col("split") == s) for s in ("train", "test"))
    store, _ = open_study_models(llm_section, STUDY, [])
    with store:
        def vectors(texts):
            return embed(list(texts), store=store)

        features = {
            name: tuple(build(part, vectors) for part in (train, test))
            for name, build in (("embedding", _embedding_difference), ("length", _length_difference))
        }
    features["embedding+length"] = tuple(np.hstack([e, n]) for e, n in zip(features["embedding"], features["length"],
                                                                                strict=True))
    features["tfidf"] = tfidf_differences(train, test, **settings["tfidf"])
    predicted, weights, l2 = trained_rewards(train, test, features=features, l2_grid=settings["l2"])
    print(f"L2 penalties chosen by question-grouped CV: {l2}")
    write_table(predicted, predictions_out, schema=PREDICTION_SCHEMA)
    np.savez(weights_out, embedding=weights["embedding"], l2=l2["embedding"])


def _embedding_difference(part: pl.DataFrame, vectors) -> np.ndarray:
    questions = vectors(part["question"])
    return embedding_features(questions, vectors(part["chosen"])) - embedding_features(questions, vectors(part["rejected"]))


def _length_difference(part: pl.DataFrame, vectors=None) -> np.ndarray:
    return length_features(part["chosen"].to_list()) - length_features(part["rejected"].to_list())


def embedding_reward(weights: np.ndarray, questions: Sequence[str], replies: Sequence[str], *, store) -> np.ndarray:
    """The embedding reward model's score of each (question, reply)."""
    return embedding_features(embed(list(questions), store=store), embed(list(replies), store=store)) @ weights


def score_loglik(study: Mapping[str, Any], llm_section: Mapping[str, Any], scorer: str, *, pairs: str, out: str,
                 provenance_out: str, threads: int | None = None) -> None:
    """The language model's log-likelihood of each reply after the question (summed, and per token) as
    a zero-shot reward, on a seeded sample of held-out pairs.
    """
    settings = study["reward"]
    frame = pick(read_table(pairs, schema=PAIR_SCHEMA).filter(pl.col("split") == "test"), n=settings["loglik_pairs"],
                 seed=study["seed"])
    store, models = open_study_models(llm_section, STUDY, [scorer], threads=threads)
    llm = models[scorer]
    if llm.entry.backend not in ("local", "scripted"):
        raise LLMError(f"preference.reward.loglik_scorers: {scorer!r} is a {llm.entry.backend} entry; reply "
                       "log-likelihoods need a local model")
    with store:
        requests = [llm.request([Message("user", row["question"])], options=[row["chosen"], row["rejected"]],
                                method="loglik", sample=f"{STUDY}/loglik/{row['pair_id']}")
                    for row in frame.iter_rows(named=True)]
        responses = llm.run(requests).responses
        write_llm_provenance(provenance_out, [llm])
    total, per_token = [], []
    for response in responses:
        scores = np.asarray(response.parsed["scores"], dtype=float)
        tokens = np.asarray(response.usage.get("option_tokens") or [1, 1], dtype=float)
        total.append(scores[0] - scores[1])
        per_token.append(scores[0] / tokens[0] - scores[1] / tokens[1])
    write_table(pl.concat([predictions(frame, f"loglik sum ({scorer})", np.array(total)),
                           predictions(frame, f"loglik per token ({scorer})", np.array(per_token))]),
                out, schema=PREDICTION_SCHEMA)


# --- DPO and the tuned policy ---------------------------------------------------------------------

def train_policy(study: Mapping[str, Any], *, pairs: str, adapter_out: str, log_out: str, summary_out: str,
                 threads: int = 1) -> None:
    """DPO of the embedded model on a seeded sample of training pairs (LoRA adapter), with TRL's
    held-out DPO metrics on a sample of test pairs.
    """
    settings = study["dpo"]
    frame = read_table(pairs, schema=PAIR_SCHEMA)
    train = pick(frame.filter(pl.col("split") == "train"), n=settings["train_pairs"], seed=study["seed"])
    heldout = pick(frame.filter(pl.col("split") == "test"), n=settings["heldout_pairs"], seed=study["seed"])
    log, summary = train_dpo(
        as_chat_pairs(train, system=settings["system"]), out_dir=adapter_out, steps=settings["steps"],
        batch_size=settings["batch_size"], learning_rate=settings["learning_rate"], beta=settings["beta"],
        lora=settings["lora"], max_length=settings["max_length"], seed=study["seed"], threads=threads,
        eval_pairs=as_chat_pairs(heldout, system=settings["system"]))
    write_table(log, log_out, schema=LOG_SCHEMA)
    logging.getLogger("replisuite").info("DPO on this machine: %s", json.dumps(
        {key: summary[key] for key in MACHINE_MEASURES if key in summary}))
    with atomic_open(summary_out, encoding="utf-8") as handle:
        json.dump(result_summary(summary), handle, indent=2, sort_keys=True)
        handle.write("\n")


REPLY_SCHEMA = {"question_id": pl.String, "policy": pl.String, "question": pl.String, "text": pl.String,
                "words": pl.Int64, "request_key": pl.String}


def evaluation_questions(pairs: pl.DataFrame, *, n: int, seed: int) -> pl.DataFrame:
    """A seeded sample of held-out questions (one row each)."""
    questions = pairs.filter(pl.col("split") == "test").unique("question_id", keep="first", maintain_order=True)
    return pick(questions, n=n, seed=seed, by="question_id").select("question_id", "question").sort("question_id")


def policy_model(llm_section: Mapping[str, Any], base: str, policy: str, adapter: str | None) -> dict[str, Any]:
    """The llm section with the policy's entry: the base entry, or the base with the DPO adapter."""
    models = dict(llm_section["models"])
    if policy == "dpo":
        models[f"{base}+dpo"] = {**models[base], "adapter": adapter,
                                 "label": f"{models[base].get('label', base)} + DPO adapter"}
    return {**llm_section, "models": models}


def generate_replies(study: Mapping[str, Any], llm_section: Mapping[str, Any], policy: str, *, pairs: str,
                     adapter: str | None, out: str, provenance_out: str, threads: int | None = None) -> None:
    """Replies of the base or the tuned policy to the held-out evaluation questions."""
    settings, base = study["evaluation"], study["dpo"]["base"]
    name = base if policy == "base" else f"{base}+dpo"
    questions = evaluation_questions(read_table(pairs, schema=PAIR_SCHEMA), n=settings["questions"], seed=study["seed"])
    store, models = open_study_models(policy_model(llm_section, base, policy, adapter), STUDY, [name], threads=threads)
    llm = models[name]
    with store:
        requests = [llm.request([Message("system", study["dpo"]["system"]), Message("user", row["question"])],
                                max_tokens=settings["max_tokens"], sample=f"{STUDY}/reply/{policy}/{row['question_id']}")
                    for row in questions.iter_rows(named=True)]
        responses = llm.run(requests).responses
        write_llm_provenance(provenance_out, [llm])
    texts = [" ".join(r.text.split()) for r in responses]
    frame = questions.with_columns(pl.lit(policy).alias("policy"), pl.Series("text", texts),
                                   pl.Series("words", [len(t.split()) for t in texts], dtype=pl.Int64),
                                   pl.Series("request_key", [r.key for r in requests]))
    write_table(frame.select(list(REPLY_SCHEMA)), out, schema=REPLY_SCHEMA)


COMPARISON_SCHEMA = {"judge": pl.String, "question_id": pl.String, "outcome": pl.String, "reward_base": pl.Float64,
                     "reward_dpo": pl.Float64, "words_base": pl.Int64, "words_dpo": pl.Int64}


def compare_policies(study: Mapping[str, Any], llm_section: Mapping[str, Any], judge_name: str, *, replies: Sequence[str],
                     weights: str, out: str, provenance_out: str, threads: int | None = None) -> None:
    """Per held-out question: the judge's verdict on tuned vs base (both positions; a verdict that
    follows the position is a tie), both replies' embedding rewards, and their lengths.
    """
    frame = pl.concat([read_table(path, schema=REPLY_SCHEMA) for path in replies])
    contexts = dict(zip(frame["question_id"], frame["question"], strict=False))
    store, models = open_study_models(llm_section, STUDY, [judge_name], threads=threads)
    with store:
        judged = judge_pairs(models[judge_name], contexts,
                             frame.select(pl.col("question_id").alias("context"), pl.col("policy").alias("reply"), "text"),
                             seed=study["seed"], method=study["evaluation"]["judge_method"].get(judge_name),
                             both_orders=True)
        write_llm_provenance(provenance_out, [models[judge_name]])
        reward = embedding_reward(np.load(weights)["embedding"], frame["question"].to_list(), frame["text"].to_list(),
                                  store=store)
    frame = frame.with_columns(pl.Series("reward", reward))
    wide = {p: frame.filter(pl.col("policy") == p).select("question_id", pl.col("reward").alias(f"reward_{p}"),
                                                          pl.col("words").alias(f"words_{p}")) for p in POLICIES}
    outcomes = order_consistent_outcomes(judged, player="dpo", opponent="base").rename({"context": "question_id"})
    table = (outcomes.select("question_id", "outcome").join(wide["base"], on="question_id").join(wide["dpo"], on="question_id")
             .with_columns(pl.lit(judge_name).alias("judge")))
    write_table(table.select(list(COMPARISON_SCHEMA)).sort("question_id"), out, schema=COMPARISON_SCHEMA)


# --- summary --------------------------------------------------------------------------------------

POLICY_SCHEMA = {"judge": pl.String, "measure": pl.String, "questions": pl.Int64, "base": pl.Float64, "dpo": pl.Float64,
                 "estimate": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "baseline": pl.Float64,
                 "judged": pl.Int64, "consistent": pl.Int64, "note": pl.String}


def policy_table(comparisons: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Tuned vs base: judge win rate (ties half; 0.5 is no difference), reward and length differences."""
    rows = []
    for (judge_name,), frame in comparisons.group_by("judge", maintain_order=True):
        rate = win_rate(frame.select(pl.col("question_id").alias("context"), "outcome"), n_boot=n_boot,
                        seed=name_seed(seed, judge_name))
        rows.append((judge_name, "judge win rate of dpo over base", frame.height, None, None, rate["win_rate"],
                     rate["ci_low"], rate["ci_high"], 0.5, frame.height - rate["unparseable"], rate["win"] + rate["loss"],
                     (f"{rate['win']} wins, {rate['tie']} ties (verdict followed position), {rate['loss']} losses, "
                     f"{rate['unparseable']} unparseable")))
        for measure, column in (("embedding reward", "reward"), ("words per reply", "words")):
            base, dpo = frame[f"{column}_base"].cast(pl.Float64), frame[f"{column}_dpo"].cast(pl.Float64)
            estimate, low, high = bootstrap_mean_ci((dpo - base).to_numpy(), n_boot=n_boot, seed=name_seed(seed, measure))
            rows.append((judge_name, f"{measure}: dpo minus base", frame.height, float(base.mean()), float(dpo.mean()),
                         estimate, low, high, 0.0, None, None, "paired over questions"))
    return pl.DataFrame(rows, schema=POLICY_SCHEMA, orient="row")


def summarise(study: Mapping[str, Any], *, pairs: str, predictions: Sequence[str], agreements: Sequence[str],
              comparisons: Sequence[str], dpo_log: str, replies: Sequence[str], labels: Mapping[str, str],
              tables: Mapping[str, str], figure_stems: Mapping[str, str]) -> None:
    """Accuracy and calibration of every reward model, principle agreement, tuned vs base, figures."""
    from replisuite.preference import figures

    seed, n_boot = study["seed"], study["n_boot"]
    predicted = pl.concat([read_table(p, schema=PREDICTION_SCHEMA) for p in predictions])
    accuracy = accuracy_table(predicted, n_boot=n_boot, seed=seed)
    calibration = calibration_table(predicted, bins=study["reward"]["calibration_bins"], seed=seed)
    agreement = pl.concat([read_table(p, schema=AGREEMENT_SCHEMA) for p in agreements])
    policy = policy_table(pl.concat([read_table(p, schema=COMPARISON_SCHEMA) for p in comparisons]), n_boot=n_boot, seed=seed)
    write_table(accuracy, tables["reward_accuracy"], schema=accuracy.schema)
    write_table(calibration, tables["calibration"], schema=calibration.schema)
    write_table(agreement, tables["principle_agreement"], schema=agreement.schema)
    write_table(policy, tables["policy_comparison"], schema=policy.schema)
    apply_style()
    reply_frame = pl.concat([read_table(p, schema=REPLY_SCHEMA) for p in replies])
    pair_frame = read_table(pairs, schema=PAIR_SCHEMA)
    drawn = {"reward_accuracy": figures.reward_accuracy(accuracy), "calibration": figures.calibration(calibration),
             "win_rate": figures.win_rate(policy, labels), "lengths": figures.lengths(pair_frame, reply_frame),
             "dpo_loss": figures.dpo_loss(read_table(dpo_log, schema=LOG_SCHEMA))}
    for name, figure in drawn.items():
        save_figure(figure, *figure_paths(figure_stems[name]))

