"""The synthesis study's claims, one set per generator: the filter catches planted defects better
than a trivial filter (level B), the reasoning names the condition of the post's topic more often
than guesses that read no reasoning (proxy), and the filter keeps dialogues the benchmark scores
higher (C). Each carries its task floor: the judge's usable answers or planted easy contrasts, the
generator's closed reasoning parts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import (
    Claim, TaskFloor, all_floors, as_planted, beats_baseline_verdict, contrast_floor, direction_verdict, embedded_label,
    format_floor, number_text, too_few_units, with_floor,
)
from replisuite.synthesis.analysis import DIFFERENCE, KEPT_MINUS_DROPPED, SCORE

STUDY = "synthesis"
SOURCE = "Beyond Empathy (PsyLLM)"


def generator_floor(generation: Mapping, *, min_usable: float) -> TaskFloor:
    """The generator writes the reasoned format: counsellor turns with a closed reasoning part."""
    return format_floor(int(generation["closed"]), int(generation["counsellor_turns"]),
                        what="counsellor turns with a closed <think> reasoning part", min_rate=min_usable)


def judge_usable_floor(row: Mapping, *, min_usable: float) -> TaskFloor:
    """The filter's judge answers each issue in the asked format (after the repair pass)."""
    return format_floor(int(row["judge_usable"] or 0), int(row["judge_checks"] or 0),
                        what="filter judge's issue scores usable", min_rate=min_usable)


def contrast_floors(pairs: pl.DataFrame, *, min_contrast: float) -> TaskFloor | None:
    """The benchmark judge scores each planted degraded reply below its original on the dimension it degrades."""
    if pairs.height == 0:
        return None
    return all_floors(*(contrast_floor(frame["original"].to_list(), frame["degraded"].to_list(),
                                       what=f"{kind} reply lower on {frame['dimension'][0]}", min_share=min_contrast)
                        for (kind,), frame in pairs.sort("degradation").group_by("degradation", maintain_order=True)))


def synthesis_claims(*, generation: pl.DataFrame, validation: pl.DataFrame, diagnosis: pl.DataFrame,
                     benchmark: pl.DataFrame, floor_pairs: pl.DataFrame, judge: str, embedded: Sequence[str],
                     min_usable: float = 0.8, min_contrast: float = 0.75, min_units: int = 5) -> list[Claim]:
    """Every generator's three claims (see the module docstring)."""
    def label(name):
        return embedded_label(name) if name in embedded else name

    claims = []
    for generated in generation.iter_rows(named=True):
        generator = generated["generator"]
        models = f"{label(generator)}; judge {label(judge)}"
        claims.append(_filter_claim(validation.filter(pl.col("generator") == generator), generated, models=models,
                                    min_usable=min_usable, min_units=min_units))
        claims.append(_diagnosis_claim(diagnosis.filter(pl.col("generator") == generator), generated, models=models,
                                       min_usable=min_usable, min_units=min_units))
        claims.append(_quality_claim(benchmark.filter(pl.col("generator") == generator),
                                     floor_pairs.filter(pl.col("generator") == generator), generator, models=models,
                                     min_contrast=min_contrast))
    return claims


def _filter_claim(rows: pl.DataFrame, generated: Mapping, *, models: str, min_usable: float, min_units: int) -> Claim:
    generator = generated["generator"]
    base = {"study": STUDY, "claim_id": f"filter_catches_planted_defects_{generator}",
            "source": f"{SOURCE}: the filter agent's four issues",
            "claim": "The filter (rule checks and the judge's four issues) drops dialogues with planted defects and "
                     "keeps the untouched ones better than a trivial length or keyword filter",
            "published": "the filter removes dialogues with incomplete reasoning, incoherence, mismatch or no grounding",
            "level": "B", "models": models, "subject": generator,
            "measure": "detection score (share of defective copies dropped minus untouched originals dropped)"}
    difference = rows.filter(pl.col("measure") == DIFFERENCE)
    if difference.height == 0:
        return Claim(**base, reproduced=None, ci_low=None, ci_high=None, verdict="not comparable",
                     rule="needs dialogues with a closed reasoning part to plant defects in",
                     note=f"no plantable dialogue: {generated['plantable_dialogues']} of {generated['dialogues']} "
                          f"dialogues have a closed reasoning part in every counsellor turn")
    diff = difference.row(0, named=True)
    ours = rows.filter((pl.col("measure") == SCORE) & (pl.col("filter") == diff["filter"])).row(0, named=True)
    best = rows.filter((pl.col("measure") == SCORE) & (pl.col("filter") == diff["compared_with"])).row(0, named=True)
    verdict, rule = too_few_units(as_planted(beats_baseline_verdict(0.0, diff["value"], diff["ci_low"])),
                                  n=int(diff["dialogues"]), min_units=min_units, unit="post")
    return with_floor(Claim(
        **base, reproduced=ours["value"], ci_low=ours["ci_low"], ci_high=ours["ci_high"], baseline=best["value"],
        verdict=verdict, rule=f"paired difference from the better trivial filter ({diff['compared_with']}), posts "
                              f"resampled: {rule.replace('trivial baseline', '0')}",
        note=f"difference {number_text(diff['value'])} [{number_text(diff['ci_low'])}, {number_text(diff['ci_high'])}] over "
             f"{diff['dialogues']} posts; {diff['compared_with']} scores {number_text(best['value'])}"),
        judge_usable_floor(diff, min_usable=min_usable))


def _diagnosis_claim(rows: pl.DataFrame, generated: Mapping, *, models: str, min_usable: float, min_units: int) -> Claim:
    measures = {r["measure"]: r for r in rows.iter_rows(named=True)}
    named = measures.get("reasoning names the topic's condition")
    majority, keyword = measures.get("majority condition guess"), measures.get("keyword match on the post")
    left_out = measures.get("posts without a mapped topic (left out)", {}).get("posts", 0)
    baseline = max(majority["rate"], keyword["rate"]) if named and named["posts"] else None
    verdict, rule = beats_baseline_verdict(baseline, named["rate"] if named else None, named["ci_low"] if named else None)
    verdict, rule = too_few_units((verdict, rule), n=int(named["posts"]) if named else 0, min_units=min_units, unit="post")
    return with_floor(Claim(
        study=STUDY, claim_id=f"reasoning_names_post_condition_{generated['generator']}",
        source=f"{SOURCE}: diagnostic reasoning aligned with DSM-5 / ICD-11",
        claim="The counsellor's reasoning names the condition that the post's topic corresponds to more often than "
              "guesses that read no reasoning",
        published="reasoning identifies the client's condition", level="proxy", models=models,
        subject=generated["generator"],
        reproduced=named["rate"] if named else None, ci_low=named["ci_low"] if named else None,
        ci_high=named["ci_high"] if named else None, baseline=baseline, verdict=verdict,
        rule=f"{rule} (the better of the majority-condition guess and a keyword match on the post; Wilson interval)",
        measure="share of posts with a mapped topic whose reasoning names its condition",
        note=(f"majority guess {number_text(majority['rate'])}, keyword match on the post {number_text(keyword['rate'])}, "
              f"{named['posts']} posts; {left_out} posts without a mapped topic left out; CounselChat topics are a weak label"
              if named else "no diagnosis table rows")),
        generator_floor(generated, min_usable=min_usable))


def _quality_claim(rows: pl.DataFrame, pairs: pl.DataFrame, generator: str, *, models: str, min_contrast: float) -> Claim:
    totals = {r["group"]: r for r in rows.filter(pl.col("dimension") == "total").iter_rows(named=True)}
    difference = totals.get(KEPT_MINUS_DROPPED)
    kept, dropped = totals.get("kept", {}).get("dialogues", 0), totals.get("dropped", {}).get("dialogues", 0)
    verdict, rule = direction_verdict(1, *(difference[k] if difference else None for k in ("mean", "ci_low", "ci_high")))
    verdict, rule = too_few_units((verdict, rule), n=min(kept, dropped), min_units=2, unit="dialogue per group")
    return with_floor(Claim(
        study=STUDY, claim_id=f"filter_keeps_better_dialogues_{generator}", source=f"{SOURCE}: four-dimension benchmark",
        claim="Dialogues the filter keeps score higher on the four-dimension benchmark than those it drops",
        published="filtered data trains a better counsellor", level="C", models=models, subject=generator,
        reproduced=difference["mean"] if difference else None, ci_low=difference["ci_low"] if difference else None,
        ci_high=difference["ci_high"] if difference else None, baseline=0.0, verdict=verdict, rule=rule,
        measure="difference in mean psyllm total (0-9), kept minus dropped",
        note=f"{kept} kept, {dropped} dropped; kept {number_text(totals.get('kept', {}).get('mean'))}, dropped "
             f"{number_text(totals.get('dropped', {}).get('mean'))}"),
        contrast_floors(pairs, min_contrast=min_contrast))


def claims_from_files(paths: dict[str, str], *, judge: str, embedded: Sequence[str], min_usable: float = 0.8,
                      min_contrast: float = 0.75, min_units: int = 5) -> list[Claim]:
    """:func:`synthesis_claims` from the tables the workflow wrote."""
    return synthesis_claims(generation=pl.read_csv(paths["generation"]), validation=pl.read_csv(paths["filter_validation"]),
                            diagnosis=pl.read_csv(paths["diagnosis"]), benchmark=pl.read_csv(paths["benchmark"]),
                            floor_pairs=pl.read_csv(paths["benchmark_floor"]), judge=judge, embedded=embedded,
                            min_usable=min_usable, min_contrast=min_contrast, min_units=min_units)
