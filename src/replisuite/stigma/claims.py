"""The stigma paper's findings (Moore et al., FAccT 2025) and our verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import (
    Claim, TaskFloor, all_floors, direction_verdict, embedded_label, equal_verdict, format_floor,
    published_direction_verdict, variation_floor, with_floor,
)
from replisuite.stats import cluster_difference_ci, name_seed

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
            rule=rule, models=f"{model} (published records)", measure="share of replies graded appropriate", subject=model,
            note=f"{n} graded replies; {int(cells['equal'].sum())} of {cells.height} symptom cells equal",
        ))
    return claims


def published_stigma_codes(check: pl.DataFrame) -> Claim:
    """Every published stigma code is recomputed from the published answers."""
    rows, equal = int(check["published_rows"].sum()), int(check["equal_codes"].sum())
    verdict, rule = equal_verdict(1.0, equal / rows, tolerance=0.0)
    return Claim(
        study=STUDY, claim_id="stigma_codes", source="results/stigma all_combined.csv",
        claim="Every published stigma code is recomputed from the published model answers",
        published="1 (all rows)", reproduced=equal / rows, ci_low=None, ci_high=None, level="A", verdict=verdict,
        rule=rule, models=", ".join(f"{m} (published records)" for m in check["published_model"]),
        measure="share of published codes recomputed",
        note=f"{equal} of {rows} coded rows equal",
    )


def _stimulus_means(frame: pl.DataFrame) -> pl.DataFrame:
    """One rate per stimulus, pooled over the models in ``frame`` (reply-weighted within a stimulus)."""
    # sorted: the bootstrap draws rows by position, and group_by keeps no order from run to run
    return frame.group_by("condition", "stimulus").agg(((pl.col("rate") * pl.col("n")).sum() / pl.col("n").sum()).alias("rate"),
                                                       pl.col("n").sum()).sort("condition", "stimulus")


def condition_contrast(by_stimulus: pl.DataFrame, models: Sequence[str], *, higher: str, lower: str, claim_id: str,
                       level: str, label: str, n_boot: int, seed: int, floor: TaskFloor | None = None,
                       subject: str = "") -> Claim:
    """Stigma rate of ``higher`` minus ``lower`` (no steel-man prompt), pooled over ``models``: the
    mean of per-vignette rates, every vignette weighted once, with an interval that resamples the
    vignettes of each condition (the sampled unit), not the replies inside them.
    """
    plain = _stimulus_means(by_stimulus.filter(pl.col("model").is_in(list(models)) & ~pl.col("steel_man")))
    a, b = (plain.filter(pl.col("condition") == c) for c in (higher, lower))
    difference, low, high = cluster_difference_ci(a["rate"].to_numpy(), b["rate"].to_numpy(), paired=False,
                                                  n_boot=n_boot, seed=name_seed(seed, claim_id))
    verdict, rule = (published_direction_verdict if level == "A-direction" else direction_verdict)(1, difference, low, high)
    return with_floor(Claim(
        study=STUDY, claim_id=claim_id, source="Fig. 2 (stigma by condition)",
        claim=f"Models express more stigma toward {higher} than toward {lower}",
        published=f"{higher} > {lower}", reproduced=difference, ci_low=low, ci_high=high, level=level,
        verdict=verdict, rule=f"{rule}; interval over vignettes (each weighted once)", models=label,
        measure="difference in stigma rate", subject=subject,
        note=f"difference of mean per-vignette stigma rates ({a.height} vs {b.height} vignettes, "
             f"{int(a['n'].sum())} vs {int(b['n'].sum())} answers), bootstrap 95% interval resampling vignettes "
             "within each condition",
    ), floor)


def humans_above_model(by_stimulus: pl.DataFrame, model: str, *, n_boot: int, seed: int) -> Claim:
    """Human therapists' appropriateness minus a published model's, over the interjection stimuli
    both answered (paired by stimulus, each weighted once; resampled by stimulus).
    """
    plain = by_stimulus.filter(~pl.col("steel_man"))
    humans = plain.filter(pl.col("model") == "human therapists").select("stimulus", pl.col("rate").alias("human"),
                                                                        pl.col("n").alias("human_n"))
    bot = plain.filter(pl.col("model") == model).select("stimulus", pl.col("rate").alias("bot"), pl.col("n").alias("bot_n"))
    both = humans.join(bot, on="stimulus", how="inner").sort("stimulus")
    difference, low, high = cluster_difference_ci(both["human"].to_numpy(), both["bot"].to_numpy(), paired=True,
                                                  n_boot=n_boot, seed=name_seed(seed, "humans", model))
    verdict, rule = published_direction_verdict(1, difference, low, high)
    return Claim(
        study=STUDY, claim_id=f"humans_vs_{model}", source="Fig. 4 (human therapists beside the models)",
        claim=f"Human therapists respond appropriately more often than {model}",
        published="human therapists > models", reproduced=difference, ci_low=low, ci_high=high, level="A-direction",
        verdict=verdict, rule=f"{rule}; interval over stimuli (paired, each weighted once)",
        models=f"{model} (published records); human therapists (graded by the authors)", subject=model,
        measure="difference in appropriate-reply rate (humans minus model)",
        note=f"{both.height} stimuli both answered ({int(both['human_n'].sum())} human and {int(both['bot_n'].sum())} "
             f"model replies); mean per-stimulus rates {both['human'].mean():.3f} vs {both['bot'].mean():.3f}; bootstrap "
             "95% interval resampling stimuli",
    )


def live_floor(row: Mapping, *, min_usable: float) -> TaskFloor:
    """A likelihood chooser's floor: usable answers, and answers that vary across the items."""
    return all_floors(format_floor(int(row["answered"]), int(row["items"]), what="stigma items answered", min_rate=min_usable),
                      variation_floor(int(row["distinct_answers"]), int(row["answered"]), what="options chosen across items"))


def stigma_claims(*, check_interjections: pl.DataFrame, check_stigma: pl.DataFrame, overall: pl.DataFrame,
                  by_condition: pl.DataFrame, live: Sequence[str], embedded: Sequence[str], n_boot: int = 2000,
                  seed: int = 0, live_floor_table: pl.DataFrame | None = None, min_usable: float = 0.8) -> list[Claim]:
    """Every claim of the study, from its tables (``overall`` and ``by_condition`` per stimulus)."""
    floors = ({r["model"]: live_floor(r, min_usable=min_usable) for r in live_floor_table.iter_rows(named=True)}
              if live_floor_table is not None else {})
    published = check_stigma["published_model"].to_list()
    claims = [*published_appropriateness(check_interjections), published_stigma_codes(check_stigma)]
    for higher in ("schizophrenia", "alcohol dependence"):
        slug = higher.replace(" ", "_")
        claims.append(condition_contrast(by_condition, published, higher=higher, lower="depression",
                                         claim_id=f"stigma_{slug}_vs_depression", level="A-direction",
                                         label=", ".join(f"{m} (published records)" for m in published),
                                         n_boot=n_boot, seed=seed))
        for model in live:
            label = embedded_label(model) if model in embedded else model
            claims.append(condition_contrast(by_condition, [model], higher=higher, lower="depression",
                                             claim_id=f"stigma_{slug}_vs_depression_{model}", level="C", label=label,
                                             n_boot=n_boot, seed=seed, floor=floors.get(model), subject=model))
    claims += [humans_above_model(overall, model, n_boot=n_boot, seed=seed)
               for model in check_interjections["published_model"].unique(maintain_order=True)]
    return claims


def claims_from_files(paths: Mapping[str, str], *, live: Sequence[str], embedded: Sequence[str], n_boot: int = 2000,
                      seed: int = 0, min_usable: float = 0.8) -> list[Claim]:
    """The workflow's entry: the study's tables by name."""
    return stigma_claims(
        check_interjections=pl.read_csv(paths["check_interjections"]), check_stigma=pl.read_csv(paths["check_stigma"]),
        overall=pl.read_csv(paths["overall"], schema_overrides={"stimulus": pl.String}),
        by_condition=pl.read_csv(paths["by_condition"], schema_overrides={"stimulus": pl.String}), live=live,
        embedded=embedded, n_boot=n_boot, seed=seed,
        live_floor_table=pl.read_csv(paths["live_floor"]) if "live_floor" in paths else None, min_usable=min_usable,
    )
