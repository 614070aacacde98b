"""The networks paper's findings on AnnoMI sessions with an illustrative gold set (level proxy)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict, embedded_label

STUDY = "networks"


def _number(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"
SOURCE = "Using LLMs to Create Personalized Networks From Therapy Sessions"
ILLUSTRATIVE = "gold EEMM codes are an illustrative set written by the replisuite project, not the paper's annotations"


def networks_claims(*, detection: pl.DataFrame, comparison: pl.DataFrame, stability: pl.DataFrame, coder: str,
                    judge: str, embedded: Sequence[str]) -> list[Claim]:
    def label(name):
        return embedded_label(name) if name in embedded else name

    claims = []
    baseline = detection.filter(pl.col("shots").is_null()).row(0, named=True)
    models = detection.filter(pl.col("shots").is_not_null() & (pl.col("shots") > 0))
    if models.height:
        best = models.sort("f1", descending=True, nulls_last=True).row(0, named=True)
        verdict, rule = beats_baseline_verdict(baseline["f1"], best["f1"], best["f1_ci_low"])
        claims.append(Claim(
            study=STUDY, claim_id="process_detection_few_shot", source=f"{SOURCE}: in-context process detection",
            claim="A model coder given a few examples detects EEMM processes (span and code) better than a trivial guess",
            published="few examples suffice", reproduced=best["f1"], ci_low=best["f1_ci_low"], ci_high=best["f1_ci_high"],
            level="proxy", verdict=verdict, rule=rule, models=label(coder),
            note=f"best of {models['shots'].to_list()} examples ({best['shots']}); trivial guess F1 {_number(baseline['f1'])}; "
                 f"{ILLUSTRATIVE}"))
    row = comparison.filter(pl.col("measure") == "multi-step preferred").row(0, named=True)
    first = comparison.filter(pl.col("measure") == "first shown picked").row(0, named=True)
    verdict, rule = beats_baseline_verdict(0.5, row["rate"], row["ci_low"])
    claims.append(Claim(
        study=STUDY, claim_id="multi_step_networks_preferred", source=f"{SOURCE}: expert comparison",
        claim="Multi-step networks are preferred to directly prompted ones (here by a model judge, not experts)",
        published="experts preferred multi-step in up to 90% of cases", reproduced=row["rate"], ci_low=row["ci_low"],
        ci_high=row["ci_high"], level="proxy", verdict=verdict, rule=rule, models=label(judge),
        note=f"{row['count']} of {row['n']} comparisons; the judge picked the network shown first in {first['count']} of "
             f"{first['n']}; a model judge is not the paper's experts"))
    summary = stability.row(0, named=True)
    verdict, rule = beats_baseline_verdict(summary["mean_null_ari"], summary["mean_ari"], summary["min_ari"])
    claims.append(Claim(
        study=STUDY, claim_id="theme_clusters_stable", source=f"{SOURCE}: two-step theme clustering",
        claim="The processes' theme clusters are stable across clustering seeds (adjusted Rand index)",
        published="", reproduced=summary["mean_ari"], ci_low=summary["min_ari"], ci_high=None, level="proxy",
        verdict=verdict, rule=rule.replace("CI lower bound", "lowest seed-pair ARI"), models=label(coder),
        note=f"{summary['pairs']} seed pairs; null ARI (size-preserving relabelling) {_number(summary['mean_null_ari'])}; "
             f"processes from {label(coder)}'s codes"))
    return claims


def claims_from_files(paths: dict[str, str], *, coder: str, judge: str, embedded: Sequence[str]) -> list[Claim]:
    return networks_claims(detection=pl.read_csv(paths["detection"]), comparison=pl.read_csv(paths["comparison"]),
                           stability=pl.read_csv(paths["stability"]), coder=coder, judge=judge, embedded=embedded)
