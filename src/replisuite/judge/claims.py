"""The premise the judge papers share: a model judge applying a counselling rubric tracks expert
judgement. Checked on AnnoMI's expert MI-quality labels against the trivial length baseline, once
the judge passes its task floor (a planted easy contrast: each session above its copy with every
counsellor turn degraded).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import (
    Claim, TaskFloor, all_floors, beats_baseline_verdict, contrast_floor, embedded_label, variation_floor, with_floor,
)

STUDY = "judge"


def judge_floor(rows: pl.DataFrame, *, rubric: str, min_contrast: float) -> TaskFloor:
    """Each floor session above its degraded copy (the planted easy contrast), and totals that vary
    over the validation sessions.
    """
    distinct = int(rows["distinct_totals"].max() or 0) if rows.height else 0
    return all_floors(contrast_floor(rows["original"].to_list(), rows["degraded"].to_list(),
                                     what=f"sessions above their degraded copy, {rubric}", min_share=min_contrast),
                      variation_floor(distinct, int(rows.height), what="totals across sessions", unit="floor sessions"))


def judge_claims(validation: pl.DataFrame, *, embedded: Sequence[str], floor: pl.DataFrame | None = None,
                 min_contrast: float = 0.75) -> list[Claim]:
    """The judge study's claims: each judge's totals separate MI-quality labels beyond a word-count baseline, with its floor."""
    floors = ({(judge, rubric): judge_floor(rows, rubric=rubric, min_contrast=min_contrast)
               for (judge, rubric), rows in floor.group_by("judge", "rubric")} if floor is not None else {})
    rows = validation.filter(pl.col("set") == "annomi_mi_quality")
    baselines = {r["rubric"]: r["value"] for r in rows.filter(pl.col("judge") == "baseline: counsellor words").iter_rows(named=True)}
    claims = []
    for row in rows.filter(~pl.col("judge").str.starts_with("baseline") & (pl.col("judge") != "chance")).iter_rows(named=True):
        judge, rubric = row["judge"], row["rubric"]
        baseline = max(0.5, baselines.get(judge, 0.5))
        verdict, rule = beats_baseline_verdict(baseline, row["value"], row["ci_low"])
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"judge_tracks_experts_{rubric}_{judge}",
            source="HELPERT, PsychEval, SQPsych (LLM judges scoring sessions with a rubric)",
            claim=f"A model judge's {rubric} total separates high- from low-quality counselling (expert labels)",
            published="LLM judge scores track expert ratings", reproduced=row["value"], ci_low=row["ci_low"],
            ci_high=row["ci_high"], level="proxy", verdict=verdict, rule=rule,
            models=embedded_label(judge) if judge in embedded else judge, measure="AUC", baseline=baseline,
            subject=judge,
            note=f"AUC on {row['n']} AnnoMI sessions (expert high/low MI quality); baseline {baseline:.3f} = the better of "
                 f"chance and counsellor word count; {row['note']}",
        ), floors.get((judge, rubric))))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str], min_contrast: float = 0.75) -> list[Claim]:
    """:func:`judge_claims` from the validation (and floor) tables the workflow wrote."""
    return judge_claims(pl.read_csv(paths["validation"]), embedded=embedded,
                        floor=pl.read_csv(paths["floor"]) if "floor" in paths else None, min_contrast=min_contrast)
