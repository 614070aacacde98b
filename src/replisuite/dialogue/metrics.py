"""Measures of simulated sessions: dynamics, rule compliance, diversity, and two fidelity checks.

* :func:`conversation_stats`: per conversation, turns, words per turn per role, stop reason,
  compliance (word limits, premature endings, retried turns, fillers), distinct-1/2 and repetition.
* :func:`identifiability`: can a profile be retrieved from its client's turns among all profiles
  of the run (top-k accuracy of a similarity ranking, with chance and a shuffled null beside it).
* :func:`recovery_table`: questionnaire totals a rater recovered from transcripts against the
  profile's, with a trivial guess (the mean) and a shuffled pairing as baselines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.stats import bootstrap_mean_ci, name_seed

STATS_SCHEMA = {
    "conversation": pl.String, "protocol": pl.String, "language": pl.String, "profile_id": pl.String,
    "counsellor_model": pl.String, "client_model": pl.String, "sessions": pl.Int64, "exchanges": pl.Int64, "turns": pl.Int64,
    "counsellor_words_per_turn": pl.Float64, "client_words_per_turn": pl.Float64, "stop_reason": pl.String,
    "over_limit_share": pl.Float64, "premature_ends": pl.Int64, "retried_turns": pl.Int64, "fillers": pl.Int64,
    "rewritten": pl.Int64, "distinct_1": pl.Float64, "distinct_2": pl.Float64, "repetition": pl.Float64,
}


def tokens(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text`` (punctuation splits words)."""
    return [w for w in "".join(c.lower() if c.isalnum() or c.isspace() else " " for c in text).split() if w]


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams over all n-grams of ``texts`` (Li et al. 2016); NaN with no n-gram."""
    grams = [tuple(t[i:i + n]) for text in texts for t in [tokens(text)] for i in range(len(t) - n + 1)]
    return len(set(grams)) / len(grams) if grams else float("nan")


def repetition(texts: Sequence[str], *, n: int = 3) -> float:
    """Share of the trigrams of each turn after the first that already occurred in earlier turns
    of the same speaker (0: never repeats itself; 1: only repeats).
    """
    seen: set[tuple[str, ...]] = set()
    repeated = total = 0
    for index, text in enumerate(texts):
        t = tokens(text)
        grams = [tuple(t[i:i + n]) for i in range(len(t) - n + 1)]
        if index:
            repeated += sum(g in seen for g in grams)
            total += len(grams)
        seen.update(grams)
    return repeated / total if total else float("nan")


def conversation_stats(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per conversation (see :data:`STATS_SCHEMA`); diversity is measured on the counsellor's turns
    when they are generated, on the client's for a counsellor-only reconstruction as well.
    """
    rows = []
    for record in records:
        turns = record["turns"]
        by_role = {role: [t for t in turns if t["role"] == role] for role in ("counsellor", "client")}
        generated = [t for t in turns if not t.get("scripted")]
        texts = [t["text"] for t in by_role["counsellor"]]
        rows.append({
            "conversation": record["id"], "protocol": record["protocol"], "language": record.get("language", "en"),
            "profile_id": record["profile_id"], "counsellor_model": record["models"].get("counsellor"), "client_model": record["models"].get("client"),
            "sessions": int(record.get("sessions", 1)), "exchanges": int(max((t["exchange"] for t in turns), default=0)),
            "turns": len(turns),
            "counsellor_words_per_turn": _mean_words(by_role["counsellor"]), "client_words_per_turn": _mean_words(by_role["client"]),
            "stop_reason": record["stop_reason"],
            "over_limit_share": float(np.mean([t.get("over_limit", False) for t in generated])) if generated else float("nan"),
            "premature_ends": int(record.get("premature_ends", 0)),
            "retried_turns": sum(t.get("attempts", 1) > 1 for t in generated),
            "fillers": sum(bool(t.get("filler")) for t in generated),
            "rewritten": sum(bool(t.get("rewritten")) for t in generated),
            "distinct_1": distinct_n(texts, 1), "distinct_2": distinct_n(texts, 2), "repetition": repetition(texts),
        })
    return pl.DataFrame(rows, schema=STATS_SCHEMA)


def _mean_words(turns: Sequence[Mapping[str, Any]]) -> float:
    return float(np.mean([len(t["text"].split()) for t in turns])) if turns else float("nan")


SUMMARY_SCHEMA = {"protocol": pl.String, "counsellor_model": pl.String, "client_model": pl.String,
                  "measure": pl.String, "mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "n": pl.Int64}
SUMMARY_MEASURES = ("exchanges", "turns", "counsellor_words_per_turn", "client_words_per_turn", "over_limit_share",
                    "premature_ends", "retried_turns", "fillers", "rewritten", "distinct_1", "distinct_2", "repetition")


def summarise_stats(stats: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Mean and bootstrap CI of each measure per protocol and model pair."""
    rows = []
    for (protocol, counsellor, client), group in stats.group_by("protocol", "counsellor_model", "client_model",
                                                                maintain_order=True):
        for measure in SUMMARY_MEASURES:
            values = group[measure].cast(pl.Float64).to_numpy()
            mean, low, high = bootstrap_mean_ci(values, n_boot=n_boot, seed=name_seed(seed, protocol, measure))
            rows.append((protocol, counsellor, client, measure, mean, low, high, int(np.sum(~np.isnan(values)))))
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA, orient="row").sort("protocol", "counsellor_model", "measure")


def stop_reasons(stats: pl.DataFrame) -> pl.DataFrame:
    """Conversations per protocol, model pair and stop reason."""
    return (stats.group_by("protocol", "counsellor_model", "client_model", "stop_reason")
            .agg(pl.len().cast(pl.Int64).alias("conversations")).sort("protocol", "stop_reason"))


# --- profile identifiability ---------------------------------------------------------------------

def retrieval_ranks(queries: np.ndarray, targets: np.ndarray, truth: Sequence[int]) -> np.ndarray:
    """1-based rank of each query's true target under cosine similarity (ties count against it)."""
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    t = targets / np.linalg.norm(targets, axis=1, keepdims=True)
    similarity = q @ t.T
    own = similarity[np.arange(len(truth)), np.asarray(truth)]
    return (similarity >= own[:, None]).sum(axis=1)


IDENTIFIABILITY_SCHEMA = {"protocol": pl.String, "pairing": pl.String, "k": pl.Int64, "accuracy": pl.Float64,
                          "ci_low": pl.Float64, "ci_high": pl.Float64, "chance": pl.Float64, "profiles": pl.Int64}


def identifiability(queries: np.ndarray, targets: np.ndarray, *, protocol: str, ks: Sequence[int] = (1, 5),
                    n_boot: int, seed: int) -> pl.DataFrame:
    """Top-k retrieval accuracy of each conversation's profile (row i of ``queries`` belongs to row i
    of ``targets``), with chance (k / n) and a shuffled pairing (a null that must sit near chance).
    """
    n = len(targets)
    rng = np.random.default_rng(name_seed(seed, protocol, "shuffle"))
    pairings = {"true": np.arange(n), "shuffled": rng.permutation(n)}
    rows = []
    for pairing, truth in pairings.items():
        ranks = retrieval_ranks(queries, targets, truth)
        for k in ks:
            hits = (ranks <= k).astype(float)
            mean, low, high = bootstrap_mean_ci(hits, n_boot=n_boot, seed=name_seed(seed, protocol, pairing, str(k)))
            rows.append((protocol, pairing, k, mean, low, high, min(1.0, k / n), n))
    return pl.DataFrame(rows, schema=IDENTIFIABILITY_SCHEMA, orient="row")


# --- questionnaire recovery --------------------------------------------------------------------

RECOVERY_SCHEMA = {"protocol": pl.String, "instrument": pl.String, "rater": pl.String, "pairing": pl.String,
                   "n": pl.Int64, "pearson_r": pl.Float64, "mae": pl.Float64, "mae_mean_guess": pl.Float64,
                   "band_accuracy": pl.Float64, "band_accuracy_modal_guess": pl.Float64, "unanswered_items": pl.Int64,
                   "mae_gain": pl.Float64, "gain_low": pl.Float64, "gain_high": pl.Float64,
                   "conversations": pl.Int64, "distinct_totals": pl.Int64}


def recovery_table(recovered: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Recovered vs profile totals per protocol, instrument and rater.

    ``recovered`` has protocol, instrument, rater, profile_id, true_total, true_band, total, band,
    unanswered. Beside the true pairing, a shuffled pairing (recovered totals matched to other
    profiles) is the null; the mean of the true totals and the modal band are the trivial guesses.
    ``mae_gain`` is the mean guess's absolute error minus the rater's, per conversation, with a
    bootstrap interval: above 0 means the transcript told the rater something. ``n`` counts the
    conversations with a complete total out of ``conversations`` rated; ``distinct_totals`` how
    many different totals the rater gave (the rater's task floor reads both).
    """
    rows = []
    for (protocol, instrument, rater), group in recovered.group_by("protocol", "instrument", "rater", maintain_order=True):
        group = group.sort("profile_id")
        rng = np.random.default_rng(name_seed(seed, protocol, instrument, rater))
        order = rng.permutation(group.height)
        for pairing, index in (("true", np.arange(group.height)), ("shuffled", order)):
            truth = group["true_total"].to_numpy()[index].astype(float)
            bands = np.asarray(group["true_band"].to_list(), dtype=object)[index]
            estimate = group["total"].to_numpy().astype(float)
            ok = ~np.isnan(estimate)
            r = float(np.corrcoef(truth[ok], estimate[ok])[0, 1]) if ok.sum() > 2 and np.std(estimate[ok]) > 0 else float("nan")
            modal = max(set(bands.tolist()), key=bands.tolist().count) if len(bands) else None
            est_bands = np.asarray(group["band"].to_list(), dtype=object)
            gain = np.abs(truth - truth.mean())[ok] - np.abs(truth[ok] - estimate[ok])
            mean_gain, low, high = bootstrap_mean_ci(gain, n_boot=n_boot, seed=name_seed(seed, protocol, instrument, pairing))
            rows.append((protocol, instrument, rater, pairing, int(ok.sum()), r,
                         float(np.mean(np.abs(truth[ok] - estimate[ok]))) if ok.any() else float("nan"),
                         float(np.mean(np.abs(truth - truth.mean()))),
                         float(np.mean(est_bands[ok] == bands[ok])) if ok.any() else float("nan"),
                         float(np.mean(bands == modal)), int(group["unanswered"].sum()), mean_gain, low, high,
                         group.height, len(set(estimate[ok].tolist()))))
    return pl.DataFrame(rows, schema=RECOVERY_SCHEMA, orient="row")
