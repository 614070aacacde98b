"""The care study's one testable premise: a model coder agrees with human coders beyond chance.
On the shipped illustrative data this checks the pipeline, not the paper (level proxy).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict, embedded_label, format_floor, with_floor

STUDY = "care"


def care_claims(*, model_agreement: pl.DataFrame, agreement: pl.DataFrame, embedded: Sequence[str],
                min_usable: float = 0.8) -> list[Claim]:
    """The care study's claims: each model coder agrees with the human reference beyond chance, beside the humans' agreement."""
    humans = agreement.filter(pl.col("among") == "human coders") if "among" in agreement.columns else agreement
    human = humans.filter((pl.col("code") == "overall") & (pl.col("statistic") == "cohen_kappa")).row(0, named=True)
    claims = []
    for row in model_agreement.filter(pl.col("code") == "overall").iter_rows(named=True):
        verdict, rule = beats_baseline_verdict(0.0, row["value"], row["ci_low"])
        model = row["model"]
        excerpts, unparsed = row.get("excerpts"), row.get("unparsed")
        floor = (format_floor(excerpts - unparsed, excerpts, what="coder replies parsed", min_rate=min_usable)
                 if excerpts is not None and unparsed is not None else None)
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"model_coder_agrees_{model}_{row['reference']}",
            source="LLM-assisted thematic coding of care-encounter interviews",
            claim=f"A model coder's codes agree with coder {row['reference']}'s beyond chance (Cohen's kappa over excerpt x code)",
            published="", reproduced=row["value"], ci_low=row["ci_low"], ci_high=row["ci_high"], level="proxy",
            verdict=verdict, rule=rule, models=embedded_label(model) if model in embedded else model,
            measure="Cohen's kappa (excerpt x code)", baseline=0.0, subject=model,
            note=f"{row['data']} data; the two human coders' kappa is {human['value']:.2f} "
                 f"({human['ci_low']:.2f}-{human['ci_high']:.2f}); {row['units']} excerpt x code cells; "
                 f"{unparsed if unparsed is not None else 'n/a'} excerpts unparsed (missing for the model, not 'no code'), "
                 f"{row.get('span_not_found', 'n/a')} codes kept whose quote was not found verbatim"), floor))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str], min_usable: float = 0.8) -> list[Claim]:
    """:func:`care_claims` from the summary tables the workflow wrote (``paths`` maps table names to CSV files)."""
    return care_claims(model_agreement=pl.read_csv(paths["model_agreement"]), agreement=pl.read_csv(paths["agreement"]),
                       embedded=embedded, min_usable=min_usable)
