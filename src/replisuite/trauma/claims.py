"""The trauma study's checks, each against what would pass without the method: sampled marginals
against the published shares, extracted SUDS against the plan (beside shuffled planted values),
the embedding predictor against the training-mean guess, and habituation within phases."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from replisuite.claims import Claim, beats_baseline_verdict, direction_verdict, embedded_label, goodness_of_fit_verdict

STUDY = "trauma"
SOURCE = "Thousand Voices of Trauma (NeurIPS 2025 Datasets and Benchmarks)"


def marginals_claim(marginals: pl.DataFrame, *, alpha: float) -> Claim:
    published = marginals.filter((pl.col("share_source") == "published") & (pl.col("attribute") != "age"))
    worst = float(published["deviation"].abs().max())
    age = marginals.filter((pl.col("attribute") == "age") & (pl.col("category") == "mean")).row(0, named=True)
    lowest_p = float(marginals.filter(pl.col("p_value").is_not_null())["p_value"].min())
    verdict, rule = goodness_of_fit_verdict(lowest_p, alpha=alpha)
    return Claim(study=STUDY, claim_id="sampled_marginals_match_published", source=f"{SOURCE}: case demographics",
                 claim="Cases sampled by the generator match the published marginals (gender, trauma types, behaviours)",
                 published="the published shares", reproduced=lowest_p, ci_low=None, ci_high=None, level="B",
                 verdict=verdict, rule=f"chi-square per attribute: {rule}",
                 note=f"{published['cases'][0]} cases; largest |sampled - published share| {worst:.3f}; age mean "
                      f"{age['sampled_share']:.1f} vs {age['published_share']:.1f}")


def extraction_claim(extraction: pl.DataFrame, *, models: str) -> Claim:
    rows = {r["measure"]: r for r in extraction.iter_rows(named=True)}
    mine, null = rows.get("within 5 of planted: extracted"), rows.get("within 5 of planted: shuffled planted (null)")
    verdict, rule = beats_baseline_verdict(null["value"] if null else None, mine["value"] if mine else None,
                                           mine["ci_low"] if mine else None)
    return Claim(study=STUDY, claim_id="extracted_suds_follow_the_plan", source=f"{SOURCE}: emotional trajectories",
                 claim="SUDS ratings read from the generated conversations follow the arc each case planted",
                 published="", reproduced=mine["value"] if mine else None, ci_low=mine["ci_low"] if mine else None,
                 ci_high=mine["ci_high"] if mine else None, level="B", verdict=verdict,
                 rule=f"{rule} (planted values shuffled across points)", models=models,
                 note=f"share within 5 points of the planted rating; null {null['value']:.2f}" if null else "no rating")


def benchmark_claim(table: pl.DataFrame) -> Claim:
    overall = table.filter((pl.col("phase") == "all") & (pl.col("metric") == "rmse"))
    target = "extracted" if "extracted" in overall["target"].to_list() else "planted"
    rows = {r["predictor"]: r for r in overall.filter(pl.col("target") == target).iter_rows(named=True)}
    model, baseline = rows.get("MiniLM + ridge"), rows.get("training mean (baseline)")
    # lower RMSE is better: compare the negated errors
    verdict, rule = beats_baseline_verdict(-baseline["value"] if baseline else None, -model["value"] if model else None,
                                           -model["ci_high"] if model else None)
    return Claim(study=STUDY, claim_id="text_predicts_suds_trajectory", source=f"{SOURCE}: trajectory benchmark",
                 claim="SUDS trajectories can be predicted from the client's words (embedding model beats the mean guess)",
                 published="", reproduced=model["value"] if model else None, ci_low=model["ci_low"] if model else None,
                 ci_high=model["ci_high"] if model else None, level="proxy", verdict=verdict,
                 rule=f"RMSE: upper CI bound below the training-mean baseline's RMSE ({rule})",
                 note=f"target {target}; {model['points'] if model else 0} ratings of {model['cases'] if model else 0} "
                      f"cases; baseline RMSE {baseline['value']:.1f}" if baseline else "not scored")


def habituation_claim(habituation: pl.DataFrame, *, models: str) -> list[Claim]:
    claims = []
    for row in habituation.filter(pl.col("source") == "extracted").iter_rows(named=True):
        verdict, rule = direction_verdict(-1, row["mean_slope"], row["ci_low"], row["ci_high"])
        claims.append(Claim(study=STUDY, claim_id=f"suds_habituates[{row['phase']}]", source=f"{SOURCE}: SUDS habituation",
                            claim="Distress (SUDS) falls within a PE phase, as exposure therapy expects",
                            published="negative slope", reproduced=row["mean_slope"], ci_low=row["ci_low"],
                            ci_high=row["ci_high"], level="proxy", verdict=verdict, rule=rule, models=models,
                            note=f"{row['conversations']} conversations; SUDS change per exchange of the extracted "
                                 f"ratings; {row['declining_share']:.2f} of them fall"))
    return claims


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str], generator: Sequence[str],
                      alpha: float) -> list[Claim]:
    models = " / ".join(embedded_label(m) if m in embedded else m for m in generator)
    return [marginals_claim(pl.read_csv(paths["marginals"]), alpha=alpha),
            extraction_claim(pl.read_csv(paths["extraction"]), models=models),
            benchmark_claim(pl.read_csv(paths["benchmark"])),
            *habituation_claim(pl.read_csv(paths["habituation"]), models=models)]
