"""CEP-IP's findings on a cohort with a planted answer (level B) or a real cohort (level C)."""

from __future__ import annotations

import numpy as np
import polars as pl

from replisuite.claims import Claim, as_planted, beats_baseline_verdict, direction_verdict, null_verdict, planted_verdict
from replisuite.stats import bootstrap_mean_ci, wilson_interval

STUDY = "trpm4"


def focus_above_sets(gam_fits: pl.DataFrame, *, focus: str, level: str, seed: int) -> list[Claim]:
    """Per group: DE of the focus set minus the best other set, per patient; bootstrap over patients.
    A patient any of whose gene-set fits failed (DE missing) is dropped and counted: comparing the
    focus set with only the sets that happened to fit would flatter it.
    """
    claims = []
    for (group,), fits in gam_fits.group_by("group", maintain_order=True):
        wide = fits.pivot(on="gene_set", index="patient", values="deviance_explained").fill_nan(None)
        others = [c for c in wide.columns if c not in ("patient", focus)]
        complete = wide.drop_nulls()
        dropped = wide.height - complete.height
        margin = (complete[focus] - complete.select(pl.max_horizontal(others)).to_series()).to_numpy()
        mean, low, high = bootstrap_mean_ci(margin, seed=seed)
        verdict, rule = direction_verdict(1, mean, low, high)
        if level == "B":
            verdict, rule = as_planted((verdict, rule))
        claims.append(Claim(
            study=STUDY, claim_id=f"{focus.lower()}_above_other_sets_{group}", source="CEP-IP, gene-set GAMs",
            claim=f"TRPM4 explains the {focus} score better than every comparison gene set ({group})",
            published=f"{focus} > other sets", reproduced=mean, ci_low=low, ci_high=high, level=level,
            verdict=verdict, rule=rule, models="", measure=f"deviance explained, {focus} minus the best other set",
            note=f"deviance explained of {focus} minus the best other set, {len(margin)} patients used, {dropped} "
                 "dropped (a gene-set fit failed), bootstrap 95% interval over patients"
                 + ("; planted in the simulated cohort" if level == "B" else ""),
        ))
    return claims


def _beats_trivial(ip: np.ndarray, trivial: np.ndarray, planted: np.ndarray) -> np.ndarray:
    """Per patient: the IP is closer to the planted one than the trivial guess. A patient without an
    IP (NaN) is a miss, never left out of the denominator.
    """
    return np.where(np.isnan(ip), False, np.abs(ip - planted) < np.abs(trivial - planted))


def ip_recovery(recovery: pl.DataFrame, *, nominal: float = 0.95) -> list[Claim]:
    """Per group: how often the IP is closer to the planted IP than the trivial guess (the median
    detected anchor), and how often its interval covers the planted IP against the nominal rate;
    both with Wilson intervals over patients. Absolute errors: a +1 and a -1 do not cancel.
    """
    claims = []
    for (group,), rows in recovery.group_by("group", maintain_order=True):
        planted = rows["planted_ip"].to_numpy().astype(float)
        ip = rows["recovered_ip" if "recovered_ip" in rows.columns else "ip"].fill_null(float("nan")).to_numpy().astype(float)
        trivial = planted + rows["trivial_guess_error"].to_numpy().astype(float) if "trivial_guess_error" in rows.columns \
            else rows["trivial_guess"].to_numpy().astype(float)
        beats = _beats_trivial(ip, trivial, planted)
        share, low, high = wilson_interval(int(beats.sum()), len(beats))
        verdict, rule = as_planted(beats_baseline_verdict(0.5, share, low))
        missing = int(np.isnan(ip).sum())
        claims.append(Claim(
            study=STUDY, claim_id=f"ip_recovery_{group}", source="CEP-IP inflection point",
            claim=f"The inflection point is closer to the planted one than a trivial guess ({group})",
            published="planted IP", reproduced=share, ci_low=low, ci_high=high, level="B", verdict=verdict,
            rule=f"{rule}: share of patients with |IP - planted| < |trivial - planted| (Wilson interval over "
                 "patients) above 0.5",
            models="", measure="share of patients closer to the planted IP than the trivial guess", baseline=0.5,
            note=f"{int(beats.sum())} of {len(beats)} patients ({missing} without an IP count as misses); mean |IP - "
                 f"planted| {np.nanmean(np.abs(ip - planted)):.3f} vs trivial guess {np.mean(np.abs(trivial - planted)):.3f}"
                 if missing < len(beats) else f"no patient has an IP ({len(beats)} patients)",
        ))
        covered = rows["planted_in_interval"].fill_null(False).to_numpy().astype(bool) & ~np.isnan(ip)
        rate, low, high = wilson_interval(int(covered.sum()), len(covered))
        verdict, rule = planted_verdict(nominal, rate, ci_low=low, ci_high=high)
        claims.append(Claim(
            study=STUDY, claim_id=f"ip_interval_coverage_{group}", source="CEP-IP inflection point",
            claim=f"The IP's 95% interval covers the planted IP at its nominal rate ({group})",
            published=f"{nominal:g}", reproduced=rate, ci_low=low, ci_high=high, level="B", verdict=verdict,
            rule=f"Wilson interval over patients covers the nominal {nominal:g}", models="",
            measure="share of patients whose interval covers the planted IP",
            note=f"{int(covered.sum())} of {len(covered)} patients' intervals cover the planted IP ({missing} without an IP)",
        ))
    return claims


def trep_recovery(recovery: pl.DataFrame, cep: pl.DataFrame, *, seed: int) -> list[Claim]:
    """Jaccard of TREP with the planted cells against a random selection of the same size."""
    joined = recovery.join(cep.select("group", "patient", "n_cells"), on=["group", "patient"])
    claims = []
    for (group,), rows in joined.group_by("group", maintain_order=True):
        planted, trep, cells = (rows[c].to_numpy().astype(float) for c in ("n_planted", "n_trep", "n_cells"))
        overlap = planted * trep / cells  # expected intersection of a random TREP set
        chance = float(np.mean(overlap / (planted + trep - overlap)))
        mean, low, high = bootstrap_mean_ci(rows["jaccard_trep_planted"].to_numpy(), seed=seed)
        verdict, rule = as_planted(beats_baseline_verdict(chance, mean, low))
        claims.append(Claim(
            study=STUDY, claim_id=f"trep_recovery_{group}", source="CEP-IP TREP cells",
            claim=f"TREP cells recover the planted well-explained cells beyond chance ({group})",
            published="planted cells", reproduced=mean, ci_low=low, ci_high=high, level="B", verdict=verdict,
            rule=rule, models="", measure="mean Jaccard of TREP and planted cells", baseline=chance,
            note=f"mean Jaccard over {rows.height} patients; chance (random set of the same "
                                       f"size) {chance:.3f}",
        ))
    return claims


def _rate(flags: pl.Series) -> tuple[float, float, float, int, int]:
    k, n = int(flags.fill_null(False).sum()), flags.len()
    return (*wilson_interval(k, n), k, n)


def calibration_claims(patients: pl.DataFrame, *, max_null_rate: float = 0.1, min_power: float = 0.8) -> list[Claim]:
    """The calibration scenarios beside each other for the published and the corrected CV, and for
    the IP. Every simulated patient counts: a patient whose fit failed (``reason`` set) is neither a
    detection nor a located IP (a miss), and each note reports how many there were.
    """
    claims = []
    failed = pl.col("reason").fill_null("") != ""
    null = patients.filter(pl.col("scenario") == "no_subpopulation")
    planted = patients.filter(pl.col("scenario") == "planted")
    for label, column, what in (("", "cv_significant", "published CV"),
                                ("corrected_", "cv_corrected_significant", "corrected CV")):
        null_rate = _rate(null[column])[0] if null.height else float("nan")
        if null.height:
            rate, low, high, k, n = _rate(null[column])
            verdict, rule = null_verdict(rate, max_rate=max_null_rate, what=f"share of patients with the {what} 'significant'")
            claims.append(Claim(
                study=STUDY, claim_id=f"cv_{label}null_no_subpopulation", source="CEP-IP Monte Carlo CV (calibration)",
                claim=f"The {what} stays silent without a subpopulation (a smooth curve plus noise)",
                published="CV significant in every patient", reproduced=rate, ci_low=low, ci_high=high, level="B",
                verdict=verdict, rule=rule, measure="share of patients 'significant'",
                note=f"{k} of {n} simulated patients 'significant' ({null.filter(failed).height} failed fits count as not "
                     "significant); " + ("held-out cells are ranked by EP from their own residuals, so the TREP set "
                                         "has small residuals by construction" if not label else
                                         "a classifier of expression outside the score set predicts TREP membership")))
        if planted.height:
            rate, low, high, k, n = _rate(planted[column])
            verdict, rule = planted_verdict(1.0, rate, tolerance=1 - min_power)
            # a test that calls everything significant detects planted cells too: power counts only
            # where the same test stays silent under the null
            rule = f"share detected at least {min_power:g}, and at most {max_null_rate:g} under no_subpopulation"
            if verdict == "planted recovered" and not null_rate <= max_null_rate:
                verdict = "not reproduced"
            claims.append(Claim(
                study=STUDY, claim_id=f"cv_{label}power_planted", source="CEP-IP Monte Carlo CV (calibration)",
                claim=f"The {what} detects a planted subpopulation",
                published="CV significant in every patient", reproduced=rate, ci_low=low, ci_high=high, level="B",
                verdict=verdict, rule=rule, measure="share of patients 'significant'",
                note=f"{k} of {n} simulated patients with planted cells ({planted.filter(failed).height} failed fits count "
                     f"as misses); under no_subpopulation the same test is 'significant' in {null_rate:.2f}"))
    if null.height:
        rate, low, high, k, n = _rate(null["ip_gated"].fill_nan(None).is_not_null())
        verdict, rule = null_verdict(rate, max_rate=max_null_rate, what="share of patients with an IP (residual smooth significant)")
        claims.append(Claim(
            study=STUDY, claim_id="ip_null_no_subpopulation", source="CEP-IP inflection point (calibration)",
            claim="An inflection point is reported only where there is a transition", published="an IP per patient",
            reproduced=rate, ci_low=low, ci_high=high, level="B", verdict=verdict, rule=rule,
            measure="share of patients with an IP",
            note=f"{k} of {n} simulated patients without a transition get an IP; median IP minus the fit's mean crossing "
                 f"{float((null['ip'] - null['mean_crossing']).drop_nans().median() or float('nan')):.3f}"))
    if planted.height:
        ip = planted["ip"].fill_null(float("nan")).to_numpy().astype(float)
        beats = _beats_trivial(ip, planted["trivial_guess"].to_numpy().astype(float),
                               planted["planted_ip"].to_numpy().astype(float))
        share, low, high = wilson_interval(int(beats.sum()), len(beats))
        verdict, rule = as_planted(beats_baseline_verdict(0.5, share, low))
        claims.append(Claim(
            study=STUDY, claim_id="ip_beats_trivial_guess", source="CEP-IP inflection point (calibration)",
            claim="The inflection point locates the planted transition better than a trivial guess",
            published="planted IP", reproduced=share, ci_low=low, ci_high=high, level="B", verdict=verdict,
            rule=f"{rule}: share of patients with |IP - planted| < |trivial - planted| (Wilson) above 0.5",
            measure="share of patients closer to the planted IP than the trivial guess", baseline=0.5,
            note=f"{int(beats.sum())} of {len(beats)} simulated patients ({int(np.isnan(ip).sum())} without an IP count "
                 "as misses); the trivial guess is the median detected anchor"))
    return claims


def _worst_rate(patients: pl.DataFrame, scenarios: tuple[str, ...], flag: pl.Expr, *, worst: str) -> tuple | None:
    """The highest (``worst="max"``) or lowest rate of ``flag`` among ``scenarios`` (pure cohorts;
    every simulated patient counts), with its Wilson interval, count, size and scenario.
    """
    rates = []
    for scenario in scenarios:
        rows = patients.filter(pl.col("scenario") == scenario)
        if rows.height:
            rates.append((*_rate(rows.select(flag).to_series()), scenario))
    if not rates:
        return None
    return (max if worst == "max" else min)(rates, key=lambda rate: rate[0])


def calibrated_ip_claims(patients: pl.DataFrame, *, seed: int, max_null_rate: float = 0.1, min_power: float = 0.8,
                         max_error_ratio: float = 0.5, min_coverage: float = 0.8) -> list[Claim]:
    """The calibrated IP (`replisuite.singlecell.transition`) on the calibration scenarios, beside
    the published IP's claims: silent under both nulls, found under both planted scenarios, and on
    ``planted_shifted`` closer to the planted IP than half the trivial guess's error with its
    interval covering it. Every simulated patient counts; a patient with no calibrated IP where one
    was planted is a miss (an infinite error in the median).
    """
    if "ip_calibrated" not in patients.columns:
        return []
    claims = []
    reported = pl.col("ip_calibrated").fill_nan(None).is_not_null()
    null = _worst_rate(patients, ("no_subpopulation", "no_relation"), reported, worst="max")
    power = _worst_rate(patients, ("planted", "planted_shifted"), reported, worst="min")
    if null:
        rate, low, high, k, n, scenario = null
        verdict, rule = null_verdict(rate, max_rate=max_null_rate,
                                     what="share of patients with a calibrated IP, in each of no_subpopulation and no_relation,")
        claims.append(_calibrated_rate_claim(
            "ip_calibrated_null", "The calibrated inflection point is reported only where there is a transition",
            (rate, low, high), verdict, rule, measure="share of patients with a calibrated IP (the higher null scenario)",
            note=f"{k} of {n} simulated patients of {scenario} (the higher of the two nulls) get a calibrated IP; "
                 "wild-bootstrap test of the residuals' median spline"))
    if power:
        rate, low, high, k, n, scenario = power
        null_rate = null[0] if null else float("nan")
        verdict, rule = planted_verdict(1.0, rate, tolerance=1 - min_power)
        rule = (f"share reported at least {min_power:g} in each of planted and planted_shifted, and at most "
                f"{max_null_rate:g} under each null")
        if verdict == "planted recovered" and not null_rate <= max_null_rate:
            verdict = "not reproduced"
        claims.append(_calibrated_rate_claim(
            "ip_calibrated_power", "The calibrated inflection point is found where a transition was planted",
            (rate, low, high), verdict, rule, measure="share of patients with a calibrated IP (the lower planted scenario)",
            note=f"{k} of {n} simulated patients of {scenario} (the lower of the two planted scenarios); "
                 f"under the nulls at most {null_rate:.2f}"))
    shifted = patients.filter(pl.col("scenario") == "planted_shifted")
    if shifted.height:
        planted = shifted["planted_ip"].to_numpy().astype(float)
        ip = shifted["ip_calibrated"].fill_null(float("nan")).to_numpy().astype(float)
        error = np.where(np.isnan(ip), np.inf, np.abs(ip - planted))
        trivial = np.abs(shifted["trivial_guess"].to_numpy().astype(float) - planted)
        median_error, median_trivial = float(np.median(error)), float(np.median(trivial))
        low, high = _median_interval(error, seed=seed)
        coverage = float(shifted["ip_calibrated_covers_planted"].fill_null(False).mean())
        passed = high <= max_error_ratio * median_trivial and coverage >= min_coverage
        verdict = "planted recovered" if passed else "not reproduced"
        claims.append(Claim(
            study=STUDY, claim_id="ip_calibrated_beats_trivial_guess",
            source="CEP-IP inflection point, calibrated (calibration)",
            claim="The calibrated inflection point locates a planted transition far from the mean crossing",
            published="planted IP", reproduced=median_error, ci_low=low, ci_high=high, level="B", verdict=verdict,
            rule=f"median |IP - planted| (bootstrap interval over patients) at most {max_error_ratio:g} x the trivial "
                 f"guess's, and 95% interval coverage at least {min_coverage:g}",
            measure="median |calibrated IP - planted IP| on planted_shifted", baseline=max_error_ratio * median_trivial,
            note=f"{shifted.height} simulated patients ({int(np.isinf(error).sum())} without a calibrated IP count as "
                 f"infinite errors); trivial guess (median detected anchor) median error {median_trivial:.3f}; "
                 f"interval coverage {coverage:.2f}"))
    return claims


def _calibrated_rate_claim(claim_id: str, claim: str, rate: tuple[float, float, float], verdict: str, rule: str, *,
                           measure: str, note: str) -> Claim:
    reproduced, low, high = rate
    return Claim(study=STUDY, claim_id=claim_id, source="CEP-IP inflection point, calibrated (calibration)", claim=claim,
                 published="an IP per patient", reproduced=reproduced, ci_low=low, ci_high=high, level="B",
                 verdict=verdict, rule=rule, measure=measure, note=note)


def _median_interval(values: np.ndarray, *, seed: int, n_boot: int = 2000, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the median over the units of ``values`` (infinite values allowed)."""
    rng = np.random.default_rng(seed)
    medians = np.median(values[rng.integers(0, values.size, (n_boot, values.size))], axis=1)
    tail = (1 - level) / 2
    # no interpolation: a median may be infinite (most patients missed)
    return (float(np.quantile(medians, tail, method="inverted_cdf")),
            float(np.quantile(medians, 1 - tail, method="inverted_cdf")))


def trpm4_claims(*, gam_fits: pl.DataFrame, recovery: pl.DataFrame | None, cep: pl.DataFrame, focus: str,
                 simulated: bool, seed: int, calibration: pl.DataFrame | None = None) -> list[Claim]:
    """On the simulated cohort every claim is a recovery check (level B); on a real one only the
    gene-set comparison is made (level C: the published protocol on the configured data). The
    calibration scenarios (simulated whatever the cohort) add the checks under nulls.
    """
    claims = focus_above_sets(gam_fits, focus=focus, level="B" if simulated else "C", seed=seed)
    if simulated and recovery is not None:
        claims += ip_recovery(recovery) + trep_recovery(recovery, cep, seed=seed)
    if calibration is not None:
        claims += calibration_claims(calibration) + calibrated_ip_claims(calibration, seed=seed)
    return claims


def claims_from_files(paths: dict[str, str], *, focus: str, simulated: bool, seed: int) -> list[Claim]:
    """:func:`trpm4_claims` from the tables the workflow wrote."""
    return trpm4_claims(gam_fits=pl.read_csv(paths["gam_fits"]), recovery=pl.read_csv(paths["recovery"]),
                        cep=pl.read_csv(paths["cep"]), focus=focus, simulated=simulated, seed=seed,
                        calibration=pl.read_csv(paths["calibration"]) if "calibration" in paths else None)
