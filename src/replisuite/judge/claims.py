"""The premise the judge papers share: a model judge applying a counselling rubric tracks expert
judgement. Checked on AnnoMI's expert MI-quality labels against the trivial length baseline."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict, embedded_label

STUDY = "judge"


def judge_claims(validation: pl.DataFrame, *, embedded: Sequence[str]) -> list[Claim]:
    rows = validation.filter(pl.col("set") == "annomi_mi_quality")
    baselines = {r["rubric"]: r["value"] for r in rows.filter(pl.col("judge") == "baseline: counsellor words").iter_rows(named=True)}
    claims = []
    for row in rows.filter(~pl.col("judge").str.starts_with("baseline") & (pl.col("judge") != "chance")).iter_rows(named=True):
        judge, rubric = row["judge"], row["rubric"]
        baseline = max(0.5, baselines.get(judge, 0.5))
        verdict, rule = beats_baseline_verdict(baseline, row["value"], row["ci_low"])
        claims.append(Claim(
            study=STUDY, claim_id=f"judge_tracks_experts_{rubric}_{judge}",
            source="HELPERT, PsychEval, SQPsych (LLM judges scoring sessions with a rubric)",
            claim=f"A model judge's {rubric} total separates high- from low-quality counselling (expert labels)",
            published="LLM judge scores track expert ratings", reproduced=row["value"], ci_low=row["ci_low"],
            ci_high=row["ci_high"], level="proxy", verdict=verdict, rule=rule,
            models=embedded_label(judge) if judge in embedded else judge,
            note=f"AUC on {row['n']} AnnoMI sessions (expert high/low MI quality); baseline {baseline:.3f} = the better of "
                 f"chance and counsellor word count; {row['note']}",
        ))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str]) -> list[Claim]:
    return judge_claims(pl.read_csv(paths["validation"]), embedded=embedded)
