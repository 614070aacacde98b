"""The reconstruct study's check that its measure can fail: the utterance classifier that measures
question and reflection rates beats always guessing the most frequent code on held-out sessions.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict

STUDY = "reconstruct"


def reconstruct_claims(validation: pl.DataFrame, comparison: pl.DataFrame, *, embedded: Sequence[str]) -> list[Claim]:
    """The reconstruct study's claim: the utterance classifier beats the majority guess on held-out sessions."""
    row = validation.row(0, named=True)
    verdict, rule = beats_baseline_verdict(row["majority_baseline"], row["accuracy"], row["ci_low"])
    claims = [Claim(
        study=STUDY, claim_id="classifier_beats_majority", source="Therapy as an NLP Task (HELPERT): session dynamics",
        claim="The counsellor-utterance classifier (reflection / question / input / other) beats the majority-class "
              "guess on AnnoMI sessions held out of its training folds",
        published="", reproduced=row["accuracy"], ci_low=row["ci_low"], ci_high=row["ci_high"], level="proxy",
        verdict=verdict, rule=rule, models="", measure="accuracy", baseline=row["majority_baseline"],
        note=f"{row['utterances']} utterances of {row['sessions']} sessions; macro F1 {row['macro_f1']:.2f}; "
             f"majority guess {row['majority_baseline']:.2f}")]
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str]) -> list[Claim]:
    """:func:`reconstruct_claims` from the tables the workflow wrote."""
    return reconstruct_claims(pl.read_csv(paths["validation"]), pl.read_csv(paths["comparison"]), embedded=embedded)
