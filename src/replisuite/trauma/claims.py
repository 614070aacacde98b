"""The trauma study's checks, each against what would pass without the method: extracted SUDS
against the plan (beside shuffled planted values), planted habituation recovered beside a flat-arc
null, the embedding predictor against the training-mean guess; with released data, their case
metadata against the published shares and habituation as a finding about the data.

The sampler's match to its own input shares is a unit test of the sampler (tests/trauma), not a
claim: most categories there are our uniform remainder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from replisuite.claims import (
    Claim, TaskFloor, as_planted, beats_baseline_verdict, direction_verdict, embedded_label, format_floor,
    goodness_of_fit_verdict, published_direction_verdict, too_few_units, with_floor,
)

STUDY = "trauma"
SOURCE = "Thousand Voices of Trauma (NeurIPS 2025 Datasets and Benchmarks)"
# a chi-square test of shares as small as 0.06 needs about 100 cases for 5 expected per cell
MIN_MARGINAL_CASES = 100


def published_marginals_claim(marginals: pl.DataFrame, *, alpha: float) -> Claim:
    """The released cases' demographics match the published marginals (goodness of fit)."""
    tested = marginals.filter(pl.col("p_value").is_not_null())
    n = int(tested["cases"].max()) if tested.height else 0
    lowest_p = float(tested["p_value"].min()) if tested.height else None
    verdict, rule = goodness_of_fit_verdict(lowest_p, alpha=alpha, n=n, min_n=MIN_MARGINAL_CASES)
    worst = float(tested["deviation"].abs().max()) if tested.height else float("nan")
    return Claim(study=STUDY, claim_id="released_marginals_match_published", source=f"{SOURCE}: case demographics",
                 claim="The released cases match the published marginals (gender, trauma types, behaviours)",
                 published="the published shares", reproduced=lowest_p, ci_low=None, ci_high=None, level="A",
                 verdict=verdict, rule=f"chi-square per attribute (unpublished categories pooled): {rule}",
                 measure="lowest chi-square p-value over the attributes",
                 note=f"{n} released cases; largest |released - published share| {worst:.3f}")


def generator_floor(extraction: pl.DataFrame, *, min_usable: float) -> TaskFloor:
    """The client model's task: say the SUDS it was told when asked (a number or a number word)."""
    counts = {r["measure"].removeprefix("status: "): int(r["value"]) for r in extraction.iter_rows(named=True)
              if r["measure"].startswith("status: ")}
    stated = counts.get("number", 0) + counts.get("word", 0)
    return format_floor(stated, sum(counts.values()), what="client states a SUDS rating when asked",
                        min_rate=min_usable)


def extraction_claim(extraction: pl.DataFrame, *, models: str, min_units: int, floor: TaskFloor | None) -> Claim:
    """The extracted trajectories are nearer the planted ones than a shuffled null, with the generator's floor."""
    rows = {r["measure"]: r for r in extraction.iter_rows(named=True)}
    mine, null = rows.get("within 5 of planted: extracted"), rows.get("within 5 of planted: shuffled planted (null)")
    verdict, rule = as_planted(beats_baseline_verdict(null["value"] if null else None, mine["value"] if mine else None,
                                                      mine["ci_low"] if mine else None))
    conversations = int(mine["conversations"]) if mine else 0
    verdict, rule = too_few_units((verdict, rule), n=conversations, min_units=min_units, unit="conversation")
    return with_floor(Claim(
        study=STUDY, claim_id="extracted_suds_follow_the_plan", source=f"{SOURCE}: emotional trajectories",
        claim="SUDS ratings read from the generated conversations follow the arc each case planted",
        published="", reproduced=mine["value"] if mine else None, ci_low=mine["ci_low"] if mine else None,
        ci_high=mine["ci_high"] if mine else None, level="B", verdict=verdict,
        rule=f"{rule} (planted values shuffled across points)", models=models,
        measure="share of ratings within 5 points of the planted one", baseline=null["value"] if null else None,
        note=f"share within 5 points of the planted rating over {conversations} conversations; null {null['value']:.2f}"
             if null else "no planted rating"), floor)


def overall_rmse(table: pl.DataFrame) -> tuple[str, dict[str, Mapping]]:
    """The benchmark's target (extracted ratings where there are any, else planted) and each
    predictor's RMSE row over all phases.
    """
    overall = table.filter((pl.col("phase") == "all") & (pl.col("metric") == "rmse"))
    target = "extracted" if "extracted" in overall["target"].to_list() else "planted"
    return target, {r["predictor"]: r for r in overall.filter(pl.col("target") == target).iter_rows(named=True)}


def benchmark_claim(table: pl.DataFrame, *, min_units: int) -> Claim:
    """The trajectory predictor beats the training-mean baseline (RMSE)."""
    target, rows = overall_rmse(table)
    model, baseline = rows.get("MiniLM + ridge"), rows.get("training mean (baseline)")
    # lower RMSE is better: compare the negated errors
    verdict, rule = beats_baseline_verdict(-baseline["value"] if baseline else None, -model["value"] if model else None,
                                           -model["ci_high"] if model else None)
    cases = int(model["cases"]) if model else 0
    verdict, rule = too_few_units((verdict, rule), n=cases, min_units=min_units, unit="case")
    return Claim(study=STUDY, claim_id="text_predicts_suds_trajectory", source=f"{SOURCE}: trajectory benchmark",
                 claim="SUDS trajectories can be predicted from the client's words (embedding model beats the mean guess)",
                 published="", reproduced=model["value"] if model else None, ci_low=model["ci_low"] if model else None,
                 ci_high=model["ci_high"] if model else None, level="proxy", verdict=verdict,
                 rule=f"RMSE: upper CI bound below the training-mean baseline's RMSE ({rule})",
                 measure="RMSE of SUDS (points)", baseline=baseline["value"] if baseline else None,
                 note=f"target {target}; {model['points'] if model else 0} ratings of {cases} cases; baseline RMSE "
                      f"{baseline['value']:.1f}" if baseline else "not scored")


def rater_claims(table: pl.DataFrame, *, raters: Sequence[str], embedded: Sequence[str], min_units: int,
                 min_usable: float = 0.8) -> list[Claim]:
    """Each model rater (the benchmark's raters are subjects: roles.subjects) rates SUDS from the
    client's words better than the training-mean guess (RMSE), with its floor: the share of replies
    it gave as a SUDS decile.
    """
    target, rows = overall_rmse(table)
    baseline = rows.get("training mean (baseline)")
    claims = []
    for rater in raters:
        mine = rows.get(f"rated by {rater}")
        verdict, rule = beats_baseline_verdict(-baseline["value"] if baseline else None, -mine["value"] if mine else None,
                                               -mine["ci_high"] if mine else None)
        cases = int(mine["cases"]) if mine else 0
        verdict, rule = too_few_units((verdict, rule), n=cases, min_units=min_units, unit="case")
        rated, points = (int(mine["points"]) if mine else 0), (int(baseline["points"]) if baseline else 0)
        floor = format_floor(rated, points, what="ratings given as a SUDS decile", min_rate=min_usable)
        claims.append(with_floor(Claim(
            study=STUDY, claim_id=f"model_rates_suds_{rater}", source=f"{SOURCE}: trajectory benchmark",
            claim="A model reading the client's words rates SUDS closer than the training-mean guess",
            published="", reproduced=mine["value"] if mine else None, ci_low=mine["ci_low"] if mine else None,
            ci_high=mine["ci_high"] if mine else None, level="proxy", verdict=verdict,
            rule=f"RMSE: upper CI bound below the training-mean baseline's RMSE ({rule})",
            models=embedded_label(rater) if rater in embedded else rater, measure="RMSE of SUDS (points)",
            baseline=baseline["value"] if baseline else None, subject=rater,
            note=f"target {target}; {rated} of {points} ratings given as a decile, {cases} cases" +
                 (f"; baseline RMSE {baseline['value']:.1f}" if baseline else "")), floor))
    return claims


def _row(arc: pl.DataFrame, scenario: str) -> Mapping | None:
    rows = arc.filter((pl.col("scenario") == scenario) & (pl.col("source") == "extracted"))
    return rows.row(0, named=True) if rows.height else None


def arc_claim(arc: pl.DataFrame, *, models: str, min_units: int, floor: TaskFloor | None) -> Claim:
    """Generated conversations: the planted decline is read back (extracted slope below 0 over
    cases) while the flat-arc null is not (its interval must not lie below 0). Released ones: the
    falling slope is a finding about the data.
    """
    published = _row(arc, "published")
    if published is not None:
        verdict, rule = published_direction_verdict(-1, published["mean_slope"], published["ci_low"], published["ci_high"])
        verdict, rule = too_few_units((verdict, rule), n=published["cases"], min_units=min_units, unit="case")
        return Claim(study=STUDY, claim_id="suds_habituates_released", source=f"{SOURCE}: SUDS habituation",
                     claim="Distress (SUDS) falls within a PE phase in the released conversations",
                     published="negative slope", reproduced=published["mean_slope"], ci_low=published["ci_low"],
                     ci_high=published["ci_high"], level="A-direction", verdict=verdict, rule=rule,
                     models="released conversations", measure="SUDS change per exchange",
                     note=f"{published['cases']} cases, {published['conversations']} conversations; SUDS change per "
                          "exchange, averaged per case, bootstrap over cases")
    planted, flat = _row(arc, "planted"), _row(arc, "flat")
    verdict, rule = as_planted(direction_verdict(-1, planted["mean_slope"] if planted else None,
                                                 planted["ci_low"] if planted else None,
                                                 planted["ci_high"] if planted else None))
    rule += "; the flat-arc null's interval must not lie below 0"
    if flat is None:
        verdict, rule = "not comparable", f"{rule} (no flat-arc null: set trauma.generate.flat_cases)"
    elif verdict == "planted recovered" and flat["ci_high"] < 0:
        verdict = "not reproduced"  # the extraction finds habituation where none was planted
    units = min(planted["cases"] if planted else 0, flat["cases"] if flat else 0)
    verdict, rule = too_few_units((verdict, rule), n=units, min_units=min_units, unit="case")
    return with_floor(Claim(
        study=STUDY, claim_id="planted_habituation_recovered", source=f"{SOURCE}: SUDS habituation",
        claim="A planted within-phase SUDS decline is read back from the conversations, and a flat arc is not",
        published="negative slope where planted", reproduced=planted["mean_slope"] if planted else None,
        ci_low=planted["ci_low"] if planted else None, ci_high=planted["ci_high"] if planted else None, level="B",
        verdict=verdict, rule=rule, models=models, measure="SUDS change per exchange",
        note=(f"planted: {planted['cases']} cases; flat null: " + (
              f"{flat['cases']} cases, slope {flat['mean_slope']:.2f} ({flat['ci_low']:.2f} to {flat['ci_high']:.2f})"
              if flat else "none") + "; SUDS change per exchange over the declining phases, per case, bootstrap over "
              "cases") if planted else "no extracted rating"), floor)


def claims_from_files(paths: dict[str, str], *, embedded: Sequence[str], generator: Sequence[str], alpha: float,
                      min_cases: int, raters: Sequence[str] = (), min_usable: float = 0.8) -> list[Claim]:
    """The trauma study's claims from the tables the workflow wrote."""
    models = " / ".join(embedded_label(m) if m in embedded else m for m in generator)
    extraction = pl.read_csv(paths["extraction"])
    released = "published_marginals" in paths
    floor = None if released else generator_floor(extraction, min_usable=min_usable)
    claims = [published_marginals_claim(pl.read_csv(paths["published_marginals"]), alpha=alpha)] if released else []
    if not released:
        claims.append(extraction_claim(extraction, models=models, min_units=min_cases, floor=floor))
    benchmark = pl.read_csv(paths["benchmark"])
    return [*claims, benchmark_claim(benchmark, min_units=min_cases),
            *rater_claims(benchmark, raters=raters, embedded=embedded, min_units=min_cases, min_usable=min_usable),
            arc_claim(pl.read_csv(paths["arc"]), models=models, min_units=min_cases, floor=floor)]
