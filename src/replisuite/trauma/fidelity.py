"""Fidelity of generated PE conversations: does each contain its phase's required elements (beside
the same checklist applied to the other phases' conversations, which it must beat to mean anything),
does SUDS habituate within a phase as planted, and how alike are the conversations of different cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.dialogue.metrics import distinct_n
from replisuite.stats import bootstrap_mean_ci, name_seed

ADHERENCE_SCHEMA = {"phase": pl.String, "element": pl.String, "conversations": pl.Int64, "present": pl.Float64,
                    "other_phases": pl.Float64}
HABITUATION_SCHEMA = {"scenario": pl.String, "phase": pl.String, "source": pl.String, "conversations": pl.Int64,
                      "mean_slope": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "declining_share": pl.Float64}
ARC_SCHEMA = {"scenario": pl.String, "source": pl.String, "cases": pl.Int64, "conversations": pl.Int64,
              "mean_slope": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64, "declining_share": pl.Float64}
DIVERSITY_SCHEMA = {"phase": pl.String, "conversations": pl.Int64, "distinct_2_client": pl.Float64,
                    "distinct_2_counsellor": pl.Float64, "similarity_other_cases": pl.Float64,
                    "similarity_same_case": pl.Float64}


def contains(text: str, phrases: Sequence[str]) -> bool:
    """Whether ``text`` contains any of ``phrases`` (case-insensitive)."""
    lowered = text.lower()
    return any(phrase.lower() in lowered for phrase in phrases)


def adherence(records: Sequence[Mapping[str, Any]], phases: Mapping[str, Mapping[str, Any]]) -> pl.DataFrame:
    """Per phase and checklist element: the share of that phase's conversations whose therapist turns
    contain it, and the share of the other phases' conversations that do (the baseline).
    """
    therapist = {r["id"]: " ".join(t["text"] for t in r["turns"] if t["role"] == "counsellor") for r in records}
    phase_of = {r["id"]: r["phase"] for r in records}
    rows = []
    for phase, spec in phases.items():
        mine = [c for c in therapist if phase_of[c] == phase]
        others = [c for c in therapist if phase_of[c] != phase]
        if not mine:
            continue
        for element, phrases in spec["checklist"].items():
            share = float(np.mean([contains(therapist[c], phrases) for c in mine]))
            other = float(np.mean([contains(therapist[c], phrases) for c in others])) if others else float("nan")
            rows.append((phase, element, len(mine), share, other))
    return pl.DataFrame(rows, schema=ADHERENCE_SCHEMA, orient="row")


def slope(exchanges: np.ndarray, values: np.ndarray) -> float:
    """Least-squares SUDS change per exchange (NaN with fewer than two distinct exchanges)."""
    if len(set(exchanges)) < 2:
        return float("nan")
    return round(float(np.polyfit(exchanges, values, 1)[0]), 9)   # equal ratings give 0, not float noise


def _slopes(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """One within-conversation slope per conversation (with its case), conversations with fewer
    than two rated exchanges left out.
    """
    rows = [(case, conversation, slope(c["exchange"].to_numpy(), c[column].to_numpy()))
            for (case, conversation), c in frame.group_by("case_id", "conversation", maintain_order=True)]
    slopes = pl.DataFrame(rows, schema={"case_id": pl.String, "conversation": pl.String, "slope": pl.Float64},
                          orient="row")
    return slopes.filter(pl.col("slope").is_not_nan())


def habituation(trajectories: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Per scenario and phase: the mean within-conversation SUDS slope of the extracted ratings and
    of the planted ones, with a bootstrap interval over conversations, and the share of
    conversations whose ratings fall (descriptive; the claim reads :func:`arc_recovery`).
    """
    rows = []
    for source, column in (("extracted", "value"), ("planted", "planted")):
        usable = trajectories.filter(pl.col(column).is_not_null())
        for (scenario, phase), frame in usable.group_by("scenario", "phase", maintain_order=True):
            slopes = _slopes(frame, column)["slope"].to_numpy()
            mean, low, high = bootstrap_mean_ci(slopes, n_boot=n_boot, seed=name_seed(seed, source, scenario, phase))
            rows.append((scenario, phase, source, len(slopes), mean, low, high,
                         float(np.mean(slopes < 0)) if slopes.size else float("nan")))
    return pl.DataFrame(rows, schema=HABITUATION_SCHEMA, orient="row")


def arc_recovery(trajectories: pl.DataFrame, *, phases: Sequence[str], n_boot: int, seed: int) -> pl.DataFrame:
    """Per scenario (planted, flat, or published) and source: the within-phase SUDS slope over the
    given phases (those whose planted arc declines), averaged per case, then over cases with a
    bootstrap interval over cases (the sampled unit: a case's phases share its client).
    """
    rows = []
    in_phases = trajectories.filter(pl.col("phase").is_in(list(phases)))
    for source, column in (("extracted", "value"), ("planted", "planted")):
        usable = in_phases.filter(pl.col(column).is_not_null())
        for (scenario,), frame in usable.group_by("scenario", maintain_order=True):
            slopes = _slopes(frame, column)
            per_case = slopes.group_by("case_id", maintain_order=True).agg(pl.col("slope").mean())["slope"].to_numpy()
            mean, low, high = bootstrap_mean_ci(per_case, n_boot=n_boot, seed=name_seed(seed, "arc", source, scenario))
            rows.append((scenario, source, len(per_case), slopes.height, mean, low, high,
                         float(np.mean(per_case < 0)) if per_case.size else float("nan")))
    return pl.DataFrame(rows, schema=ARC_SCHEMA, orient="row")


def diversity(records: Sequence[Mapping[str, Any]], embeddings: Mapping[str, np.ndarray]) -> pl.DataFrame:
    """Per phase: distinct bigrams of client and therapist turns, and the mean cosine similarity of a
    conversation's embedding to other cases' conversations of the phase beside its similarity to the
    same case's conversations of other phases.
    """
    rows = []
    case_of = {r["id"]: r["case_id"] for r in records}
    for phase in sorted({r["phase"] for r in records}):
        mine = [r for r in records if r["phase"] == phase]
        texts = {role: [t["text"] for r in mine for t in r["turns"] if t["role"] == role] for role in ("client", "counsellor")}
        other_cases, same_case = [], []
        for r in mine:
            for other in records:
                if other["id"] == r["id"]:
                    continue
                similarity = float(embeddings[r["id"]] @ embeddings[other["id"]])
                if other["phase"] == phase and case_of[other["id"]] != r["case_id"]:
                    other_cases.append(similarity)
                elif other["phase"] != phase and case_of[other["id"]] == r["case_id"]:
                    same_case.append(similarity)
        rows.append((phase, len(mine), distinct_n(texts["client"], 2), distinct_n(texts["counsellor"], 2),
                     float(np.mean(other_cases)) if other_cases else float("nan"),
                     float(np.mean(same_case)) if same_case else float("nan")))
    return pl.DataFrame(rows, schema=DIVERSITY_SCHEMA, orient="row")
