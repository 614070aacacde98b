"""PsAIch's finding on administration mode, and our verdict per model and instrument."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import (
    Claim, TaskFloor, all_floors, direction_verdict, embedded_label, format_floor, too_few_units, variation_floor,
    with_floor,
)

STUDY = "psaich"
# Symptom instruments whose published direction is stated: item-by-item questioning inside the
# therapy conversation elicits higher symptom totals than the whole questionnaire, which frontier
# models often recognise and answer "healthily" (PsAIch, stage 2 results).
SYMPTOM_INSTRUMENTS = ("phq9", "gad7")


def model_floor(row: Mapping, *, min_usable: float) -> TaskFloor:
    """A questionnaire-taker's floor: usable item answers, and answers that vary across items."""
    return all_floors(format_floor(int(row["answered"]), int(row["items"]), what="item answers", min_rate=min_usable),
                      variation_floor(int(row["stateless_distinct"]), int(row["stateless_items"]),
                                      what="items asked outside the conversation", unit="items"))


def psaich_claims(differences: pl.DataFrame, *, floor: pl.DataFrame | None = None, embedded: Sequence[str],
                  min_seeds: int, min_usable: float = 0.8) -> list[Claim]:
    """The psaich study's claims: symptom totals are higher item by item in therapy than as a whole form, per model with its floor."""
    floors = {r["model"]: model_floor(r, min_usable=min_usable) for r in floor.iter_rows(named=True)} if floor is not None else {}
    claims = []
    rows = differences.filter((pl.col("mode") == "therapy_item") & pl.col("instrument").is_in(SYMPTOM_INSTRUMENTS))
    for row in rows.iter_rows(named=True):
        verdict, rule = too_few_units(direction_verdict(1, row["mean_difference"], row["ci_low"], row["ci_high"]),
                                      n=row["seeds"], min_units=min_seeds, unit="seed")
        model = row["model"]
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"item_above_whole_{row['instrument']}_{model}",
            source="PsAIch, stage 2 (item-by-item vs whole questionnaire)",
            claim=f"{row['instrument'].upper()} totals are higher item by item in therapy than as a whole questionnaire",
            published="item-by-item > whole", reproduced=row["mean_difference"], ci_low=row["ci_low"],
            ci_high=row["ci_high"], level="C", verdict=verdict, rule=rule, measure="item-by-item minus whole total (points)",
            models=embedded_label(model) if model in embedded else model, subject=model,
            note=f"mean over {row['seeds']} seeds ({row['seeds_missing']} without both totals), bootstrap 95% "
                 "interval over seeds; run more seeds (psaich.seeds) for a verdict",
        ), floors.get(model)))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str], min_seeds: int,
                      min_usable: float = 0.8) -> list[Claim]:
    """:func:`psaich_claims` from the tables the workflow wrote."""
    return psaich_claims(pl.read_csv(paths["differences"]),
                         floor=pl.read_csv(paths["floor"]) if "floor" in paths else None,
                         embedded=embedded, min_seeds=min_seeds, min_usable=min_usable)
