"""Per-session skill rates from coded therapist utterances, annotated and classifier-measured."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from replisuite.coding.annomi import THERAPIST_CODE
from replisuite.coding.classifier import fit_predict

SESSION_SKILLS_SCHEMA = {
    "transcript_id": pl.Int64, "mi_quality": pl.String, "therapist_utterances": pl.Int64, "skill": pl.String,
    "annotated": pl.Float64, "measured": pl.Float64,
}


def session_skills(codes: pl.DataFrame, predictions: pl.DataFrame, *,
                   skills: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Share of each session's therapist utterances that show each skill, from the annotated codes
    and from the classifier's predicted codes of the same utterances.

    Parameters
    ----------
    codes
        Therapist utterances with transcript_id, utterance_id, mi_quality and the flat code
        (:func:`replisuite.coding.annomi.therapist_codes`).
    predictions
        Out-of-fold predictions of that code (transcript_id, utterance_id, predicted).
    skills
        Skill name -> the flat codes that count as that skill.
    """
    joined = codes.select("transcript_id", "utterance_id", "mi_quality", pl.col(THERAPIST_CODE).alias("annotated")).join(
        predictions.select("transcript_id", "utterance_id", pl.col("predicted").alias("measured")),
        on=["transcript_id", "utterance_id"], how="left", validate="1:1")
    missing = joined.filter(pl.col("measured").is_null())
    if missing.height:
        raise ValueError(f"{missing.height} coded utterances have no prediction (first: transcript "
                         f"{missing['transcript_id'][0]}, utterance {missing['utterance_id'][0]})")
    frames = []
    for skill, members in skills.items():
        frames.append(joined.group_by("transcript_id", "mi_quality").agg(
            pl.len().cast(pl.Int64).alias("therapist_utterances"),
            pl.lit(skill).alias("skill"),
            pl.col("annotated").is_in(list(members)).mean().alias("annotated"),
            pl.col("measured").is_in(list(members)).mean().alias("measured"),
        ))
    return pl.concat(frames).select(list(SESSION_SKILLS_SCHEMA)).sort("skill", "transcript_id")


def skills_wide(sessions: pl.DataFrame) -> pl.DataFrame:
    """One row per session: ``<skill>`` (annotated) and ``<skill>_measured`` columns."""
    annotated = sessions.pivot("skill", index="transcript_id", values="annotated", sort_columns=False)
    measured = sessions.pivot("skill", index="transcript_id", values="measured", sort_columns=False)
    measured = measured.rename({c: f"{c}_measured" for c in measured.columns if c != "transcript_id"})
    return annotated.join(measured, on="transcript_id").sort("transcript_id")


def measurement_quality(sessions: pl.DataFrame, *, n_boot: int, seed: int) -> pl.DataFrame:
    """Per skill: mean and SD of the annotated and measured rates, their Pearson r (bootstrap CI
    over sessions) beside the r of sessions paired at random (the null a measurement must beat), and
    the calibration slope (annotated regressed on measured): the factor by which a single-skill
    regression on measured rates attenuates the true coefficient under regression calibration.
    """
    rows = []
    rng = np.random.default_rng(seed)
    for (skill,), group in sessions.group_by("skill", maintain_order=True):
        x, w = group["annotated"].to_numpy(), group["measured"].to_numpy()
        draws = rng.integers(0, x.size, size=(n_boot, x.size))
        boot = np.array([_pearson(x[d], w[d]) for d in draws])
        shuffled = np.array([_pearson(x, rng.permutation(w)) for _ in range(n_boot)])
        rows.append({
            "skill": skill, "sessions": x.size, "mean_annotated": float(x.mean()), "mean_measured": float(w.mean()),
            "sd_annotated": float(x.std(ddof=1)), "sd_measured": float(w.std(ddof=1)),
            "pearson_r": _pearson(x, w), "ci_low": float(np.nanquantile(boot, 0.025)),
            "ci_high": float(np.nanquantile(boot, 0.975)), "null_r_95": float(np.nanquantile(np.abs(shuffled), 0.95)),
            "calibration_slope": float(np.cov(x, w)[0, 1] / w.var(ddof=1)) if w.var() > 0 else float("nan"),
        })
    return pl.DataFrame(rows)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.std() == 0 or y.std() == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def transcript_skill_rates(supporter_turns: pl.DataFrame, codes: pl.DataFrame, *, skills: Mapping[str, Sequence[str]],
                           classifier: Mapping[str, Any]) -> pl.DataFrame:
    """Per chat user: the share of the supporter's turns the skill classifier (fitted on every coded
    AnnoMI therapist utterance) assigns to each skill's codes; columns ``user_id`` and ``skill_<name>``.
    """
    predicted = fit_predict(codes, supporter_turns, codes[THERAPIST_CODE].to_numpy(), classifier=classifier["name"],
                            tfidf=classifier["tfidf"], C=classifier["logistic_C"])
    turns = supporter_turns.with_columns(pl.Series("predicted", predicted.astype(str)))
    return turns.group_by("user_id").agg(
        *[pl.col("predicted").is_in(list(members)).mean().alias(f"skill_{skill}") for skill, members in skills.items()]
    ).sort("user_id")
