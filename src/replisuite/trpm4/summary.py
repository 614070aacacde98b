"""Study-level tables of the trpm4 study: gene-set comparison, CEP/IP, CV, DEGs, GO, and recovery of a simulated truth."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy import stats

from replisuite.singlecell.cep import CV_VARIANTS, corrected_cv_test, median_detected, one_sample_test
from replisuite.singlecell.markers import themed
from replisuite.singlecell.transition import TRANSITION_FIELDS
from replisuite.stats import bh_fdr


def read_records(paths: Sequence[str]) -> list[dict[str, Any]]:
    """The JSON records of ``paths``."""
    return [json.loads(Path(path).read_text()) for path in paths]


def gam_table(records: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per GAM fit (group, patient, gene set) with its chosen basis, penalty and fit statistics."""
    rows = [{"reason": "", **record} for record in records]
    return pl.DataFrame(rows, infer_schema_length=None).select(
        "group", "patient", "gene_set", "n_cells", "unique_anchor", "k", "lam", "edf", "deviance_explained", "rss",
        "penalised_rss", "gcv", "reason").sort("group", "patient", "gene_set")


def compare_sets(fits: pl.DataFrame, focus: str) -> pl.DataFrame:
    """Per group, the focus set's DE against each other set across patients: Wilcoxon signed-rank, BH over sets."""
    rows = []
    for (group,), frame in fits.group_by("group", maintain_order=True):
        wide = frame.pivot(on="gene_set", index="patient", values="deviance_explained").sort("patient")
        for other in [c for c in wide.columns if c not in ("patient", focus)]:
            difference = (wide[focus] - wide[other]).to_numpy()
            difference = difference[np.isfinite(difference)]  # a patient without a fit has no DE
            p = float(stats.wilcoxon(difference).pvalue) if np.any(difference != 0) else float("nan")
            rows.append({"group": group, "focus_set": focus, "other_set": other, "n_patients": int(difference.size),
                         "median_de_focus": float(np.nanmedian(wide[focus])), "median_de_other": float(np.nanmedian(wide[other])),
                         "median_difference": float(np.median(difference)), "patients_focus_higher": int((difference > 0).sum()),
                         "wilcoxon_p": p})
    table = pl.DataFrame(rows)
    return table.with_columns(pl.Series("fdr", np.concatenate([bh_fdr(part["wilcoxon_p"].to_numpy())
                                                               for part in table.partition_by("group", maintain_order=True)])))


def cep_table(summaries: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """One row per patient: the CEP summary with the published IP, interval, crossings and the pre/post
    test, and the calibrated IP beside it (`replisuite.singlecell.transition`).
    """
    rows = []
    for s in summaries:
        rows.append({key: s[key] for key in ("group", "patient", "n_cells", "deviance_explained", "k", "lam", "n_trep", "ip",
                                              "ip_low", "ip_high", "crossings", "residual_p", "ip_gated")}
                    | {key: s[key] for key in (*TRANSITION_FIELDS, "ip_calibrated_minus_trivial_guess",
                                               "ip_calibrated_minus_mean_crossing")}
                    | {"reason": s.get("reason", "")}
                    | {"pre_post_test": s["pre_post"].get("test", "none"), "pre_post_p": s["pre_post"].get("p_value", np.nan),
                       "above_below_chi2": s["above_below"].get("chi2", np.nan),
                       "above_below_p": s["above_below"].get("p_value", np.nan)}
                    | {f"trep_{k}": s["above_below"].get(k, 0) for k in ("pre_above", "pre_below", "post_above", "post_below")}
                    | {f"cells_{k}": v for k, v in s["quadrants"].items()})
    return pl.DataFrame(rows, infer_schema_length=None).sort("group", "patient")


def cv_table(cv: pl.DataFrame, *, alpha: float, train_fraction: float) -> pl.DataFrame:
    """Per group, patient, k/lambda selection and ranking method (``variant``: published EP
    ranking, the corrected classifier, or a control): the one-sided test that RMSE(non-TREP) -
    RMSE(TREP) is above 0 (TREP cells better predicted); BH across patients. The published variant
    and the controls keep the published test (t or Wilcoxon after Shapiro-Wilk at ``alpha``); the
    corrected variant uses the corrected resampled t-test, since its repeats share cells.
    """
    rows = []
    for (group, patient, selection, method), frame in cv.group_by("group", "patient", "selection", "method",
                                                                    maintain_order=True):
        differences = frame["difference"].to_numpy()
        test = (corrected_cv_test(differences, train_fraction=train_fraction) if CV_VARIANTS[method] == "corrected"
                else one_sample_test(differences, alpha=alpha))
        rows.append({"group": group, "patient": patient, "selection": selection, "method": method,
                     "variant": CV_VARIANTS[method], "repeats": frame.height, "alternative": "greater", **test})
    table = pl.DataFrame(rows).sort("group", "selection", "method", "patient")
    return pl.concat([part.with_columns(pl.Series("fdr", bh_fdr(part["p_value"].to_numpy())))
                      for part in table.partition_by("group", "selection", "method", maintain_order=True)])


def deg_counts(degs: pl.DataFrame, *, min_abs_log2fc: float, max_p: float) -> pl.DataFrame:
    """Up- and down-regulated DEG counts per patient and comparison, raw and BH-adjusted."""
    up, down = pl.col("log2fc") > min_abs_log2fc, pl.col("log2fc") < -min_abs_log2fc
    return degs.group_by("group", "patient", "comparison").agg(
        (up & (pl.col("p_value") < max_p)).sum().alias("up_raw"), (down & (pl.col("p_value") < max_p)).sum().alias("down_raw"),
        (up & (pl.col("p_adj") < max_p)).sum().alias("up_bh"), (down & (pl.col("p_adj") < max_p)).sum().alias("down_bh"),
        pl.col("reason").drop_nulls().first().fill_null("").alias("reason"),
    ).sort("group", "patient", "comparison")


def go_top(go: pl.DataFrame, *, top: int, themes: Mapping[str, str]) -> pl.DataFrame:
    """The top GO terms of each list, flagged by theme."""
    table = go.filter(pl.col("rank") <= top)
    return table.with_columns(*(pl.Series(name, themed(table["term"].to_list(), pattern), dtype=pl.Boolean)
                                for name, pattern in themes.items()))


def theme_check(top: pl.DataFrame) -> pl.DataFrame:
    """Whether pre-IP TREP is immune-enriched and post-IP TREP ribosome/translation/adhesion-enriched.

    Read from the raw-p up lists' top terms, with the focus score set's genes kept in the lists (as
    published) and removed.

    On a simulated cohort the programmes behind these themes were planted, so this is a recovery
    check; on a real cohort it is a description, never a test.
    """
    def hit(frame, comparison, theme, score_genes):
        part = frame.filter((pl.col("comparison") == comparison) & (pl.col("direction") == "up") & (pl.col("p_filter") == "raw")
                            & (pl.col("score_genes") == score_genes))
        return bool(part[theme].any()) if part.height and theme in part.columns else False

    rows = [{"group": group, "patient": patient, "pre_ip_trep_immune": hit(frame, "pre_ip", "immune", "kept"),
             "post_ip_trep_translation_adhesion": hit(frame, "post_ip", "translation_adhesion", "kept"),
             "post_ip_trep_translation_adhesion_without_score_genes": hit(frame, "post_ip", "translation_adhesion", "removed")}
            for (group, patient), frame in top.group_by("group", "patient", maintain_order=True)]
    return pl.DataFrame(rows, schema={"group": pl.String, "patient": pl.String, "pre_ip_trep_immune": pl.Boolean,
                                      "post_ip_trep_translation_adhesion": pl.Boolean,
                                      "post_ip_trep_translation_adhesion_without_score_genes": pl.Boolean}).sort("group", "patient")


def dual_filter_summary(tables: Sequence[pl.DataFrame], rule: Mapping[str, Any]) -> pl.DataFrame:
    """Per group: genes tested and the genes in each tier; ``tier_rule`` names the columns a tier uses."""
    described = "; ".join(f"{name}: spearman_rho >= {rule[name]['rho']} and kendall_tau_b >= {rule[name]['tau']}"
                          for name in ("tier1", "tier2"))
    described += f"; both with spearman_fdr and kendall_fdr < {rule['max_fdr']} (BH over the group's genes)"
    rows = []
    for table in tables:
        rows.append({"group": table["group"][0], "genes_tested": table.height, "tier_rule": described,
                     "tier1": int((table["tier"] == "tier1").sum()),
                     "tier1_or_2": int(table["tier"].is_in(["tier1", "tier2"]).sum()),
                     "tier1_genes": ",".join(table.filter(pl.col("tier") == "tier1")["gene"].to_list()),
                     "tier2_genes": ",".join(table.filter(pl.col("tier") == "tier2")["gene"].to_list())})
    return pl.DataFrame(rows)


DUAL_RECOVERY_SCHEMA = {"group": pl.String, "gene": pl.String, "planted_tier": pl.String, "found_tier": pl.String,
                        "spearman_rho": pl.Float64, "kendall_tau_b": pl.Float64, "spearman_fdr": pl.Float64,
                        "kendall_fdr": pl.Float64}


def dual_filter_recovery(tables: Sequence[pl.DataFrame], planted: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Per group and planted co-expressed gene: the tier it was planted at and the tier the filter gave it."""
    rows = [{"group": table["group"][0], "gene": gene, "planted_tier": tier}
            for table in tables for tier, genes in planted.items() for gene in genes]
    if not rows:
        return pl.DataFrame(schema=DUAL_RECOVERY_SCHEMA)
    found = pl.concat([t.select("group", "gene", pl.col("tier").alias("found_tier"), "spearman_rho", "kendall_tau_b",
                                "spearman_fdr", "kendall_fdr") for t in tables])
    return (pl.DataFrame(rows).join(found, on=["group", "gene"], how="left")
            .select(list(DUAL_RECOVERY_SCHEMA)).cast(DUAL_RECOVERY_SCHEMA).sort("group", "planted_tier", "gene"))


RECOVERY_SCHEMA = {"group": pl.String, "patient": pl.String, "planted_ip": pl.Float64, "recovered_ip": pl.Float64,
                   "ip_low": pl.Float64, "ip_high": pl.Float64, "ip_error": pl.Float64, "planted_in_interval": pl.Boolean,
                   "trivial_guess_error": pl.Float64, "recovered_ip_calibrated": pl.Float64,
                   "ip_calibrated_error": pl.Float64, "planted_in_calibrated_interval": pl.Boolean,
                   "n_planted": pl.Int64, "n_trep": pl.Int64, "jaccard_trep_planted": pl.Float64,
                   "pre_ip_programme_best_rank": pl.Int64, "post_ip_programme_best_rank": pl.Int64}


def recovery(cells: pl.DataFrame, summary: pl.DataFrame, truth: pl.DataFrame, go: pl.DataFrame,
             programmes: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """Planted vs recovered per group and patient: the published and the calibrated IP (beside the
    trivial guess, the median detected anchor), TREP overlap (Jaccard), GO rank of the planted programmes.
    """
    if truth.is_empty():
        return pl.DataFrame(schema=RECOVERY_SCHEMA)
    joined = cells.join(truth.select("cell", "planted_cell", "planted_ip"), on="cell", how="inner")
    rows = []
    for (group, patient), frame in joined.group_by("group", "patient", maintain_order=True):
        planted, trep = frame["planted_cell"].to_numpy(), frame["trep"].to_numpy()
        found = summary.filter((pl.col("group") == group) & (pl.col("patient") == patient)).row(0, named=True)
        planted_ip = float(frame["planted_ip"][0])
        rows.append({"group": group, "patient": patient, "planted_ip": planted_ip, "recovered_ip": found["ip"],
                     "ip_low": found["ip_low"], "ip_high": found["ip_high"], "ip_error": found["ip"] - planted_ip,
                     "planted_in_interval": bool(found["ip_low"] <= planted_ip <= found["ip_high"]),
                     "trivial_guess_error": median_detected(frame["anchor"].to_numpy()) - planted_ip,
                     "recovered_ip_calibrated": found["ip_calibrated"],
                     "ip_calibrated_error": found["ip_calibrated"] - planted_ip,
                     "planted_in_calibrated_interval": bool(found["ip_calibrated_low"] <= planted_ip
                                                            <= found["ip_calibrated_high"]),
                     "n_planted": int(planted.sum()), "n_trep": int(trep.sum()),
                     "jaccard_trep_planted": float((planted & trep).sum() / max((planted | trep).sum(), 1)),
                     "pre_ip_programme_best_rank": _best_rank(go, group, patient, "pre_ip", programmes.get("pre_ip", [])),
                     "post_ip_programme_best_rank": _best_rank(go, group, patient, "post_ip", programmes.get("post_ip", []))})
    return pl.DataFrame(rows, schema=RECOVERY_SCHEMA).sort("group", "patient")


def _best_rank(go: pl.DataFrame, group: str, patient: str, comparison: str, terms: Sequence[str]) -> int | None:
    ranks = go.filter((pl.col("group") == group) & (pl.col("patient") == patient) & (pl.col("comparison") == comparison)
                      & (pl.col("direction") == "up") & (pl.col("p_filter") == "raw") & (pl.col("score_genes") == "kept")
                      & pl.col("term").is_in(list(terms)))["rank"]
    return int(ranks.min()) if ranks.len() else None
