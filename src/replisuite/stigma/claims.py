"""The stigma paper's findings (Moore et al., FAccT 2025) and our verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import Claim, direction_verdict, embedded_label, equal_verdict, wald_difference

STUDY = "stigma"
EXACT = 1e-9


def _pooled(frame: pl.DataFrame, rate: str, n: str) -> tuple[float, int]:
    """The n-weighted rate (NaN when there is nothing to pool, e.g. a run limited to a few stimuli)."""
    total = int(frame[n].sum())
    return (float((frame[rate] * frame[n]).sum() / total) if total else float("nan")), total


def published_appropriateness(check: pl.DataFrame) -> list[Claim]:
    """Per published model: the pooled appropriateness rate against the published records."""
    claims = []
    for (model,), cells in check.group_by("published_model", maintain_order=True):
        published, _ = _pooled(cells, "published_rate", "published_n")
        ours, n = _pooled(cells, "our_rate", "our_n")
        verdict, rule = equal_verdict(published, ours, tolerance=EXACT)
        claims.append(Claim(
            study=STUDY, claim_id=f"appropriateness_{model}", source="Fig. 4; results/interjections all_combined.csv",
            claim=f"{model} answers the symptom interjections appropriately at the published rate (pooled over symptoms)",
            published=f"{published:.4f}", reproduced=ours, ci_low=None, ci_high=None, level="A", verdict=verdict,
            rule=rule, models=f"{model} (published records)",
            note=f"{n} graded replies; {int(cells['equal'].sum())} of {cells.height} symptom cells equal",
        ))
    return claims


def published_stigma_codes(check: pl.DataFrame) -> Claim:
    rows, equal = int(check["published_rows"].sum()), int(check["equal_codes"].sum())
    verdict, rule = equal_verdict(1.0, equal / rows, tolerance=0.0)
    return Claim(
        study=STUDY, claim_id="stigma_codes", source="results/stigma all_combined.csv",
        claim="Every published stigma code is recomputed from the published model answers",
        published="1 (all rows)", reproduced=equal / rows, ci_low=None, ci_high=None, level="A", verdict=verdict,
        rule=rule, models=", ".join(f"{m} (published records)" for m in check["published_model"]),
        note=f"{equal} of {rows} coded rows equal",
    )


def condition_contrast(by_condition: pl.DataFrame, models: Sequence[str], *, higher: str, lower: str,
                       claim_id: str, level: str, label: str) -> Claim:
    """Stigma rate of ``higher`` minus ``lower`` (no steel-man prompt), pooled over ``models``."""
    plain = by_condition.filter(pl.col("model").is_in(list(models)) & ~pl.col("steel_man"))
    p1, n1 = _pooled(plain.filter(pl.col("condition") == higher), "rate", "n")
    p2, n2 = _pooled(plain.filter(pl.col("condition") == lower), "rate", "n")
    difference, low, high = wald_difference(p1, n1, p2, n2)
    verdict, rule = direction_verdict(1, difference, low, high)
    return Claim(
        study=STUDY, claim_id=claim_id, source="Fig. 2 (stigma by condition)",
        claim=f"Models express more stigma toward {higher} than toward {lower}",
        published=f"{higher} > {lower}", reproduced=difference, ci_low=low, ci_high=high, level=level,
        verdict=verdict, rule=rule, models=label,
        note=f"difference of stigma rates pooled over the models ({n1} vs {n2} answers), Wald 95% interval",
    )


def humans_above_model(overall: pl.DataFrame, model: str) -> Claim:
    humans = overall.filter(pl.col("model") == "human therapists").row(0, named=True)
    bot = overall.filter((pl.col("model") == model) & ~pl.col("steel_man") & ~pl.col("contextualize")).row(0, named=True)
    difference, low, high = wald_difference(humans["rate"], humans["n"], bot["rate"], bot["n"])
    verdict, rule = direction_verdict(1, difference, low, high)
    return Claim(
        study=STUDY, claim_id=f"humans_vs_{model}", source="Fig. 4 (human therapists beside the models)",
        claim=f"Human therapists respond appropriately more often than {model}",
        published="human therapists > models", reproduced=difference, ci_low=low, ci_high=high, level="A",
        verdict=verdict, rule=rule, models=f"{model} (published records); human therapists (graded by the authors)",
        note=f"rates {humans['rate']:.3f} (n={humans['n']}) vs {bot['rate']:.3f} (n={bot['n']}), Wald 95% interval",
    )


def stigma_claims(*, check_interjections: pl.DataFrame, check_stigma: pl.DataFrame, overall: pl.DataFrame,
                  by_condition: pl.DataFrame, live: Sequence[str], embedded: Sequence[str]) -> list[Claim]:
    """Every claim of the study, from its tables."""
    published = check_stigma["published_model"].to_list()
    claims = [*published_appropriateness(check_interjections), published_stigma_codes(check_stigma)]
    for higher in ("schizophrenia", "alcohol dependence"):
        slug = higher.replace(" ", "_")
        claims.append(condition_contrast(by_condition, published, higher=higher, lower="depression",
                                         claim_id=f"stigma_{slug}_vs_depression", level="A",
                                         label=", ".join(f"{m} (published records)" for m in published)))
        for model in live:
            label = embedded_label(model) if model in embedded else model
            claims.append(condition_contrast(by_condition, [model], higher=higher, lower="depression",
                                             claim_id=f"stigma_{slug}_vs_depression_{model}", level="C", label=label))
    claims += [humans_above_model(overall, model) for model in check_interjections["published_model"].unique(maintain_order=True)]
    return claims


def claims_from_files(paths: Mapping[str, str], *, live: Sequence[str], embedded: Sequence[str]) -> list[Claim]:
    """The workflow's entry: the study's tables by name."""
    return stigma_claims(
        check_interjections=pl.read_csv(paths["check_interjections"]), check_stigma=pl.read_csv(paths["check_stigma"]),
        overall=pl.read_csv(paths["overall"]), by_condition=pl.read_csv(paths["by_condition"]), live=live,
        embedded=embedded,
    )
