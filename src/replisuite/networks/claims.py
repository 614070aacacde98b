"""The networks paper's findings on AnnoMI sessions with an illustrative gold set (level proxy)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import (
    Claim, TaskFloor, all_floors, beats_baseline_verdict, embedded_label, format_floor, number_text, variation_floor,
    with_floor,
)

STUDY = "networks"
SOURCE = "Using LLMs to Create Personalized Networks From Therapy Sessions"
ILLUSTRATIVE = "gold EEMM codes are an illustrative set written by the replisuite project, not the paper's annotations"


def coder_floor(row: Mapping, *, min_usable: float) -> TaskFloor | None:
    """The coder's task floor (share of replies parsed as JSON), or ``None`` for a row without counts."""
    if row.get("units") is None:
        return None
    return format_floor(int(row["parsed_units"]), int(row["units"]), what="coder replies parsed as JSON",
                        min_rate=min_usable)


def judge_floor(comparison: Mapping[str, Mapping], *, min_usable: float) -> TaskFloor | None:
    """The pairwise judge's floor: verdicts it gave in the asked format, and picks that are not all
    the same position (a judge that always answers "A" compares nothing).
    """
    first, unparsed = comparison.get("first shown picked"), comparison.get("unparseable")
    if first is None or unparsed is None:
        return None
    judged, picked_first = int(first["n"]), int(first["count"])
    positions = int(picked_first > 0) + int(picked_first < judged)
    return all_floors(format_floor(judged, judged + int(unparsed["count"]), what="judge verdicts A or B",
                                   min_rate=min_usable),
                      variation_floor(positions, judged, what="positions picked", unit="verdicts"))


def networks_claims(*, detection: pl.DataFrame, comparison: pl.DataFrame, stability: pl.DataFrame,
                    coders: Sequence[str], judge: str, embedded: Sequence[str], min_usable: float = 0.8) -> list[Claim]:
    """The networks study's claims for each model coder: code detection against the gold codes, the
    judge's comparison of the networks built from its codes, and its themes' stability. The tables
    hold a ``model`` column (the coder); a table without one is taken to be the only coder's.
    """
    def of(table, coder):
        return table.filter(pl.col("model") == coder) if "model" in table.columns else table

    claims = []
    for coder in coders:
        claims += coder_claims(detection=of(detection, coder), comparison=of(comparison, coder),
                               stability=of(stability, coder), coder=coder, judge=judge, embedded=embedded,
                               min_usable=min_usable)
    return claims


def coder_claims(*, detection: pl.DataFrame, comparison: pl.DataFrame, stability: pl.DataFrame, coder: str,
                 judge: str, embedded: Sequence[str], min_usable: float = 0.8) -> list[Claim]:
    """One model coder's claims (its rows of the three tables)."""
    def label(name):
        return embedded_label(name) if name in embedded else name

    claims = []
    baseline = detection.filter(pl.col("shots").is_null()).row(0, named=True)
    # one claim per number of examples: picking the best by its test F1 would select on the evaluation
    for row in detection.filter(pl.col("shots").is_not_null() & (pl.col("shots") > 0)).iter_rows(named=True):
        verdict, rule = beats_baseline_verdict(baseline["f1"], row["f1"], row["f1_ci_low"])
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"process_detection_{row['shots']}_shot_{coder}", source=f"{SOURCE}: in-context process detection",
            claim=f"A model coder given {row['shots']} examples detects EEMM processes (span and code) better than a "
                  "trivial guess",
            published="few examples suffice", reproduced=row["f1"], ci_low=row["f1_ci_low"], ci_high=row["f1_ci_high"],
            level="proxy", verdict=verdict, rule=rule, models=label(coder), measure="span F1", baseline=baseline["f1"],
            subject=coder,
            note=f"trivial guess F1 {number_text(baseline['f1'])}; {ILLUSTRATIVE}"), coder_floor(row, min_usable=min_usable)))
    measures = {r["measure"]: r for r in comparison.iter_rows(named=True)}
    row, first = measures["multi-step preferred"], measures["first shown picked"]
    dropped = measures.get("pairs without a direct network", {}).get("count", 0)
    verdict, rule = beats_baseline_verdict(0.5, row["rate"], row["ci_low"])
    claims.append(with_floor(Claim(
        study=STUDY, claim_id=f"multi_step_networks_preferred_{coder}", source=f"{SOURCE}: expert comparison",
        claim="Multi-step networks are preferred to directly prompted ones (both built by the model; here judged by a "
              "model judge, not experts)",
        published="experts preferred multi-step in up to 90% of cases", reproduced=row["rate"], ci_low=row["ci_low"],
        ci_high=row["ci_high"], level="proxy", verdict=verdict, rule=rule, models=f"{label(coder)}; judge {label(judge)}",
        measure="share of comparisons won by multi-step", baseline=0.5, subject=coder,
        note=f"{row['count']} of {row['n']} comparisons; {dropped} clients left out (no parseable direct network: "
             f"comparing against an empty one would count its failure as a win); the judge picked the network shown "
             f"first in {first['count']} of {first['n']}; a model judge is not the paper's experts"),
        judge_floor(measures, min_usable=min_usable)))
    summary = stability.row(0, named=True)
    null_high = summary.get("max_null_ari", summary["mean_null_ari"])
    verdict, rule = beats_baseline_verdict(null_high, summary["mean_ari"], summary["min_ari"])
    claims.append(Claim(
        study=STUDY, claim_id=f"theme_clusters_stable_{coder}", source=f"{SOURCE}: two-step theme clustering",
        claim="The processes' theme clusters are more stable across clustering seeds than clusters of structureless "
              "embeddings (adjusted Rand index)",
        published="", reproduced=summary["mean_ari"], ci_low=summary["min_ari"], ci_high=None, level="proxy",
        verdict=verdict, rule="lowest seed-pair ARI above the highest seed-pair ARI of the null",
        models=label(coder), measure="mean seed-pair ARI (ci_low: the lowest pair)", baseline=null_high, subject=coder,
        note=f"{summary['pairs']} seed pairs; null ({summary.get('null', 'permuted embeddings')}) ARI mean "
             f"{number_text(summary['mean_null_ari'])}, highest {number_text(null_high)}; processes from {label(coder)}'s codes"))
    return claims


def claims_from_files(paths: dict[str, str], *, coders: Sequence[str], judge: str, embedded: Sequence[str],
                      min_usable: float = 0.8) -> list[Claim]:
    """:func:`networks_claims` from the tables the workflow wrote."""
    return networks_claims(detection=pl.read_csv(paths["detection"]), comparison=pl.read_csv(paths["comparison"]),
                           stability=pl.read_csv(paths["stability"]), coders=coders, judge=judge, embedded=embedded,
                           min_usable=min_usable)
