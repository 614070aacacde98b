"""CEP-IP's findings on a cohort with a planted answer (level B) or a real cohort (level C)."""

from __future__ import annotations

import numpy as np
import polars as pl

from replisuite.claims import Claim, as_planted, beats_baseline_verdict, direction_verdict, planted_verdict
from replisuite.stats import bootstrap_mean_ci

STUDY = "trpm4"


def focus_above_sets(gam_fits: pl.DataFrame, *, focus: str, level: str, seed: int) -> list[Claim]:
    """Per group: DE of the focus set minus the best other set, per patient; bootstrap over patients."""
    claims = []
    for (group,), fits in gam_fits.group_by("group", maintain_order=True):
        wide = fits.pivot(on="gene_set", index="patient", values="deviance_explained")
        others = [c for c in wide.columns if c not in ("patient", focus)]
        margin = (wide[focus] - wide.select(pl.max_horizontal(others)).to_series()).to_numpy()
        mean, low, high = bootstrap_mean_ci(margin, seed=seed)
        verdict, rule = direction_verdict(1, mean, low, high)
        if level == "B":
            verdict, rule = as_planted((verdict, rule))
        claims.append(Claim(
            study=STUDY, claim_id=f"{focus.lower()}_above_other_sets_{group}", source="CEP-IP, gene-set GAMs",
            claim=f"TRPM4 explains the {focus} score better than every comparison gene set ({group})",
            published=f"{focus} > other sets", reproduced=mean, ci_low=low, ci_high=high, level=level,
            verdict=verdict, rule=rule, models="",
            note=f"deviance explained of {focus} minus the best other set, {len(margin)} patients, bootstrap 95% "
                 "interval" + ("; planted in the simulated cohort" if level == "B" else ""),
        ))
    return claims


def ip_recovery(recovery: pl.DataFrame, *, seed: int) -> list[Claim]:
    """Per group: recovered minus planted IP, averaged over patients; the planted error is 0."""
    claims = []
    for (group,), rows in recovery.group_by("group", maintain_order=True):
        mean, low, high = bootstrap_mean_ci(rows["ip_error"].to_numpy(), seed=seed)
        verdict, rule = planted_verdict(0.0, mean, ci_low=low, ci_high=high)
        covered = int(rows["planted_in_interval"].sum())
        claims.append(Claim(
            study=STUDY, claim_id=f"ip_recovery_{group}", source="CEP-IP inflection point",
            claim=f"The inflection point recovers the planted one ({group})", published="planted IP",
            reproduced=mean, ci_low=low, ci_high=high, level="B", verdict=verdict, rule=rule, models="",
            note=f"mean recovered - planted IP over {rows.height} patients; planted IP inside the per-patient 95% "
                 f"interval for {covered} of {rows.height}",
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
            rule=rule, models="", note=f"mean Jaccard over {rows.height} patients; chance (random set of the same "
                                       f"size) {chance:.3f}",
        ))
    return claims


def trpm4_claims(*, gam_fits: pl.DataFrame, recovery: pl.DataFrame | None, cep: pl.DataFrame, focus: str,
                 simulated: bool, seed: int) -> list[Claim]:
    """On the simulated cohort every claim is a recovery check (level B); on a real one only the
    gene-set comparison is made (level C: the published protocol on the configured data)."""
    claims = focus_above_sets(gam_fits, focus=focus, level="B" if simulated else "C", seed=seed)
    if simulated and recovery is not None:
        claims += ip_recovery(recovery, seed=seed) + trep_recovery(recovery, cep, seed=seed)
    return claims


def claims_from_files(paths: dict[str, str], *, focus: str, simulated: bool, seed: int) -> list[Claim]:
    return trpm4_claims(gam_fits=pl.read_csv(paths["gam_fits"]), recovery=pl.read_csv(paths["recovery"]),
                        cep=pl.read_csv(paths["cep"]), focus=focus, simulated=simulated, seed=seed)
