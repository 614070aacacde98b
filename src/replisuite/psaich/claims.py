"""PsAIch's finding on administration mode, and our verdict per model and instrument."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import Claim, direction_verdict, embedded_label

STUDY = "psaich"
# Symptom instruments whose published direction is stated: item-by-item questioning inside the
# therapy conversation elicits higher symptom totals than the whole questionnaire, which frontier
# models often recognise and answer "healthily" (PsAIch, stage 2 results).
SYMPTOM_INSTRUMENTS = ("phq9", "gad7")


def psaich_claims(differences: pl.DataFrame, *, embedded: Sequence[str]) -> list[Claim]:
    claims = []
    rows = differences.filter((pl.col("mode") == "therapy_item") & pl.col("instrument").is_in(SYMPTOM_INSTRUMENTS))
    for row in rows.iter_rows(named=True):
        verdict, rule = direction_verdict(1, row["mean_difference"], row["ci_low"], row["ci_high"])
        model = row["model"]
        claims.append(Claim(
            study=STUDY, claim_id=f"item_above_whole_{row['instrument']}_{model}",
            source="PsAIch, stage 2 (item-by-item vs whole questionnaire)",
            claim=f"{row['instrument'].upper()} totals are higher item by item in therapy than as a whole questionnaire",
            published="item-by-item > whole", reproduced=row["mean_difference"], ci_low=row["ci_low"],
            ci_high=row["ci_high"], level="C", verdict=verdict, rule=rule,
            models=embedded_label(model) if model in embedded else model,
            note=f"mean over {row['seeds']} seeds, bootstrap 95% interval over seeds",
        ))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str]) -> list[Claim]:
    return psaich_claims(pl.read_csv(paths["differences"]), embedded=embedded)
