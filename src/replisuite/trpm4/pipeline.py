"""The trpm4 study's steps as the workflow runs them (one function per rule)."""

from __future__ import annotations

import json
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import anndata as ad
import numpy as np
import polars as pl

from replisuite.atomic import atomic_open, atomic_path
from replisuite.singlecell import cep, qc
from replisuite.singlecell.correlation import anchor_correlations
from replisuite.singlecell.gam import fit_anchor_gam
from replisuite.singlecell.genesets import (
    MissingGenesError,
    gene_set_scores,
    go_biological_process,
    resolve_gene_sets,
)
from replisuite.singlecell.markers import (
    DEG_SCHEMA,
    ENRICHMENT_SCHEMA,
    enrich,
    rank_genes,
    significant,
)
from replisuite.singlecell.simulate import TRUTH_SCHEMA, CohortSpec, simulate_cohort
from replisuite.stats import bh_fdr
from replisuite.tables import write_table

STUDY = "trpm4"
DUAL_SCHEMA = {"group": pl.String, "gene": pl.String, "n": pl.Int64, "spearman_rho": pl.Float64, "spearman_p": pl.Float64,
               "spearman_fdr": pl.Float64, "kendall_tau_b": pl.Float64, "kendall_p": pl.Float64, "kendall_fdr": pl.Float64,
               "tier": pl.String}
CELL_SCHEMA = {"cell": pl.String, "group": pl.String, "patient": pl.String, "anchor": pl.Float64, "score": pl.Float64,
               "fitted": pl.Float64, "residual": pl.Float64, "explanatory_power": pl.Float64, "trep": pl.Boolean,
               "post_ip": pl.Boolean, "quadrant": pl.String}
DEGS_SCHEMA = {**DEG_SCHEMA, "comparison": pl.String, "group": pl.String, "patient": pl.String}
GO_SCHEMA = {**ENRICHMENT_SCHEMA, "comparison": pl.String, "p_filter": pl.String, "direction": pl.String, "n_genes": pl.Int64,
             "rank": pl.Int64, "group": pl.String, "patient": pl.String}
COMPARISONS = {"post_ip": ("post_trep", "post_non_trep"), "pre_ip": ("pre_trep", "pre_non_trep"), "all": ("trep", "non_trep")}


def _write_json(payload: Mapping[str, Any], path: str) -> None:
    with atomic_open(path) as handle:
        json.dump(payload, handle, indent=2, default=float)


def simulation_spec(study: Mapping[str, Any]) -> CohortSpec:
    """The simulator's settings from the study config (the anchor, sets, patients and clusters included)."""
    simulation = study["simulation"]
    groups = {rule["condition"]: [str(c) for c in rule["clusters"]] for rule in study["groups"].values()}
    focus = study["gene_sets"][study["focus_set"]]
    return CohortSpec(patients=tuple(study["patients"]), cells_per_group=simulation["cells_per_group"],
                      genes=simulation["genes"], anchor=study["anchor"], focus_genes=tuple(focus),
                      other_sets={k: v for k, v in study["gene_sets"].items() if k != study["focus_set"]},
                      tumour_clusters=tuple(groups.get("tumour", ["6"])), benign_clusters=tuple(groups.get("benign", ["3"])),
                      programmes=simulation["programmes"], seed=simulation["seed"])


def simulate(study: Mapping[str, Any], *, cohort_out: str, truth_out: str) -> None:
    adata, truth = simulate_cohort(simulation_spec(study))
    adata.uns["simulation"] = json.dumps(adata.uns["simulation"])
    with atomic_path(cohort_out) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
    write_table(truth, truth_out, schema=TRUTH_SCHEMA)


def prepare_cells(study: Mapping[str, Any], *, cohort: str, cells_out: str, qc_out: str) -> None:
    """Read the cohort, select the configured groups, run QC and log-normalise; fail early on missing genes or patients."""
    adata = qc.read_cohort(cohort, layer=study["cohort"]["layer"], obs_columns=study["cohort"]["obs"])
    if study["anchor"] not in set(adata.var_names):
        raise MissingGenesError(f"{cohort}: anchor gene {study['anchor']} is not among its {adata.n_vars} genes")
    resolve_gene_sets(study["gene_sets"], adata.var_names, allow_partial=study["allow_partial_sets"], source=cohort)
    adata = qc.select_groups(adata, study["groups"])
    cells, steps = qc.quality_control(adata, **study["qc"])
    for group in study["groups"]:
        kept = qc.patients(cells, group, min_cells=study["min_cells_per_patient"])
        short = [p for p in study["patients"] if p not in kept]
        if short:
            raise ValueError(f"{cohort}: group {group!r} has fewer than {study['min_cells_per_patient']} cells after QC "
                             f"for patient(s) {short} (trpm4.patients lists them)")
    cells = cells[cells.obs["patient"].isin(study["patients"])].copy()
    with atomic_path(cells_out) as tmp:
        cells.write_h5ad(tmp)
    per_group = pl.DataFrame([(f"group {g}", int((cells.obs["group"] == g).sum()), float("nan")) for g in study["groups"]],
                             schema=qc.QC_SCHEMA, orient="row")
    write_table(pl.concat([steps, per_group]), qc_out, schema=qc.QC_SCHEMA)


def score_cells(study: Mapping[str, Any], *, cells: str, scores_out: str, sets_out: str) -> None:
    adata = ad.read_h5ad(cells)
    scores, summary = gene_set_scores(adata, study["gene_sets"], anchor=study["anchor"], allow_partial=study["allow_partial_sets"])
    scores = scores.with_columns(pl.Series("group", adata.obs["group"].astype(str).tolist()),
                                 pl.Series("patient", adata.obs["patient"].astype(str).tolist()))
    write_table(scores.select("cell", "group", "patient", "anchor", *study["gene_sets"]), scores_out,
                schema={"cell": pl.String, "group": pl.String, "patient": pl.String, "anchor": pl.Float64,
                        **{name: pl.Float64 for name in study["gene_sets"]}})
    write_table(summary, sets_out, schema=summary.schema)


def dual_filter(study: Mapping[str, Any], group: str, *, cells: str, table_out: str, threads: int | None = None) -> None:
    """Spearman-Kendall dual filter of every gene against the anchor, cells of ``group`` pooled."""
    adata = ad.read_h5ad(cells)
    adata = adata[(adata.obs["group"] == group).to_numpy()]
    anchor = np.asarray(adata[:, study["anchor"]].X.toarray()).ravel()
    keep = (adata.var_names != study["anchor"])
    table = anchor_correlations(adata.X[:, keep], anchor, list(adata.var_names[keep]), threads=threads)
    tiers = study["dual_filter"]
    table = table.with_columns(pl.Series("spearman_fdr", bh_fdr(table["spearman_p"].to_numpy())),
                               pl.Series("kendall_fdr", bh_fdr(table["kendall_p"].to_numpy())))
    # a gene constant in these cells has no correlation: null, never a tier (polars orders NaN above every number)
    table = table.with_columns(pl.col(pl.Float64).fill_nan(None))
    passes = {name: (pl.col("spearman_rho") >= rule["rho"]) & (pl.col("kendall_tau_b") >= rule["tau"])
              for name, rule in tiers.items()}
    table = table.with_columns(pl.when(passes["tier1"]).then(pl.lit("tier1")).when(passes["tier2"]).then(pl.lit("tier2"))
                               .otherwise(pl.lit("none")).alias("tier"), pl.lit(group).alias("group"))
    table = table.select(list(DUAL_SCHEMA)).sort("spearman_rho", descending=True, nulls_last=True)
    write_table(table, table_out, schema=DUAL_SCHEMA)


def _patient_scores(scores: str, group: str, patient: str) -> pl.DataFrame:
    frame = pl.read_parquet(scores).filter((pl.col("group") == group) & (pl.col("patient") == patient))
    if frame.is_empty():
        raise ValueError(f"{scores}: no cells for group {group!r}, patient {patient!r}")
    return frame


def lam_grid(study: Mapping[str, Any]) -> np.ndarray:
    gam = study["gam"]
    return np.logspace(gam["lam_log10_low"], gam["lam_log10_high"], gam["lam_num"])


def fit_gam(study: Mapping[str, Any], group: str, patient: str, gene_set: str, *, scores: str, fit_out: str,
            fitted_out: str) -> None:
    """``score ~ s(anchor)`` for one group, patient and gene set: the fit record and per-cell fitted values."""
    frame = _patient_scores(scores, group, patient)
    x, y = frame["anchor"].to_numpy(), frame[gene_set].to_numpy()
    gam, fit = fit_anchor_gam(x, y, k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    fitted = frame.select("cell", "anchor", pl.col(gene_set).alias("score")).with_columns(
        pl.Series("fitted", gam.predict(x[:, None])))
    write_table(fitted, fitted_out, schema={"cell": pl.String, "anchor": pl.Float64, "score": pl.Float64, "fitted": pl.Float64})
    _write_json({"group": group, "patient": patient, "gene_set": gene_set, **fit.as_dict()}, fit_out)


def cell_power(study: Mapping[str, Any], group: str, patient: str, *, fit: str, fitted: str, cells_out: str,
               summary_out: str, cv_out: str) -> None:
    """EP, TREP cells, Monte Carlo CV with controls, the inflection point, pre/post and quadrant tests."""
    record = json.loads(Path(fit).read_text())
    frame = pl.read_parquet(fitted)
    x, y, yhat = (frame[c].to_numpy() for c in ("anchor", "score", "fitted"))
    residual = y - yhat
    ep, trep = cep.trep_cells(y, yhat, record["deviance_explained"])
    settings = study["ip"]
    ip = cep.inflection_point(x[trep], residual[trep], grid_points=settings["grid_points"], level=settings["level"],
                              grid_quantiles=tuple(settings["grid_quantiles"]), detected_only=settings["detected_only"],
                              k_min=study["gam"]["k_min"], k_max=study["gam"]["k_max"], lam_grid=lam_grid(study))
    found = not np.isnan(ip["ip"])
    post = x > ip["ip"] if found else np.zeros(x.size, dtype=bool)
    summary = {"group": group, "patient": patient, "n_cells": int(x.size), "deviance_explained": record["deviance_explained"],
               "k": record["k"], "lam": record["lam"], "n_trep": int(trep.sum()), **ip}
    alpha = study["cv"]["normality_alpha"]
    if found:
        summary["pre_post"] = cep.compare_pre_post(residual[trep & ~post], residual[trep & post], alpha=alpha)
        summary["above_below"] = dict(cep.above_below_test(x[trep], residual[trep], ip["ip"]))
        quadrant = cep.quadrants(x, trep, ip["ip"])
    else:
        summary["pre_post"], summary["above_below"] = {}, {}
        quadrant = np.full(x.size, "no_ip")
    summary["quadrants"] = {q: int((quadrant == q).sum()) for q in ("pre_trep", "pre_non_trep", "post_trep", "post_non_trep")}
    cells = pl.DataFrame({"cell": frame["cell"], "group": group, "patient": patient, "anchor": x, "score": y, "fitted": yhat,
                          "residual": residual, "explanatory_power": ep, "trep": trep,
                          "post_ip": pl.Series(post if found else [None] * x.size, dtype=pl.Boolean), "quadrant": quadrant})
    cv = cep.cross_validate(x, y, k=record["k"], lam=record["lam"], repeats=study["cv"]["repeats"],
                            train_fraction=study["cv"]["train_fraction"], seed=_patient_seed(study, group, patient))
    write_table(cells, cells_out, schema=CELL_SCHEMA)
    write_table(cv.with_columns(pl.lit(group).alias("group"), pl.lit(patient).alias("patient")), cv_out,
                schema={**cep.CV_SCHEMA, "group": pl.String, "patient": pl.String})
    _write_json(summary, summary_out)


def _patient_seed(study: Mapping[str, Any], group: str, patient: str) -> int:
    """One CV seed per group and patient, derived from the configured seed (stable across runs)."""
    groups, patients = list(study["groups"]), list(study["patients"])
    return int(np.random.SeedSequence([study["cv"]["seed"], groups.index(group), patients.index(patient)]).generate_state(1)[0])


def markers(study: Mapping[str, Any], group: str, patient: str, *, cells: str, cell_power_table: str, degs_out: str,
            go_out: str) -> None:
    """Wilcoxon DEGs of TREP vs non-TREP (post-IP, pre-IP, all) and GO BP over-representation of their up-regulated genes."""
    labels = pl.read_parquet(cell_power_table)
    adata = ad.read_h5ad(cells, backed="r")
    adata = adata[labels["cell"].to_list()].to_memory()
    background = qc.expressed_genes(adata)
    library = go_biological_process()
    quadrant = labels["quadrant"].to_numpy()
    trep = labels["trep"].to_numpy()
    masks = {"trep": trep, "non_trep": ~trep, **{q: quadrant == q for q in ("pre_trep", "pre_non_trep", "post_trep", "post_non_trep")}}
    settings = study["degs"]
    tables, enrichments = [], []
    for comparison, (target, reference) in COMPARISONS.items():
        if min(masks[target].sum(), masks[reference].sum()) < settings["min_cells"]:
            continue
        table = rank_genes(adata, masks[target], masks[reference])
        tables.append(table.with_columns(pl.lit(comparison).alias("comparison")))
        for adjusted in (False, True):
            for direction in ("up", "down"):
                genes = significant(table, min_abs_log2fc=settings["min_abs_log2fc"], max_p=settings["max_p"],
                                    adjusted=adjusted, direction=direction)
                found = enrich(genes, background, library).with_columns(
                    pl.lit(comparison).alias("comparison"), pl.lit("bh" if adjusted else "raw").alias("p_filter"),
                    pl.lit(direction).alias("direction"), pl.lit(len(genes)).cast(pl.Int64).alias("n_genes"),
                    pl.int_range(pl.len()).add(1).cast(pl.Int64).alias("rank"))
                enrichments.append(found)
    keys = [pl.lit(group).alias("group"), pl.lit(patient).alias("patient")]
    degs = pl.concat(tables) if tables else pl.DataFrame(schema={**DEG_SCHEMA, "comparison": pl.String})
    write_table(degs.with_columns(*keys), degs_out, schema=DEGS_SCHEMA)
    go = pl.concat(enrichments).with_columns(*keys) if enrichments else pl.DataFrame(schema=GO_SCHEMA)
    write_table(go, go_out, schema=GO_SCHEMA)




def summarise(study: Mapping[str, Any], *, fits: list[str], cell_tables: list[str], summaries: list[str], cv: list[str],
              degs: list[str], go: list[str], dual: list[str], truth: str | None, tables: Mapping[str, str],
              figure_stems: Mapping[str, str]) -> None:
    """Every study-level table and figure from the per-job outputs."""
    from replisuite.plotting import apply_style, figure_paths, save_figure
    from replisuite.trpm4 import figures, summary

    groups = list(study["groups"])
    fit_table = summary.gam_table(summary.read_records(fits))
    cep_table = summary.cep_table(summary.read_records(summaries))
    cells = pl.concat([pl.read_parquet(p) for p in cell_tables])
    cv_frame = pl.concat([pl.read_parquet(p) for p in cv])
    deg_frame = pl.concat([pl.read_parquet(p) for p in degs])
    go_frame = pl.concat([pl.read_parquet(p) for p in go])
    dual_tables = [pl.read_csv(p, schema=DUAL_SCHEMA) for p in dual]
    settings = study["degs"]
    top = summary.go_top(go_frame, top=study["go"]["top_terms"], themes=study["go"]["themes"])
    truth_frame = pl.read_parquet(truth) if truth else pl.DataFrame(schema=TRUTH_SCHEMA)
    outputs = {
        "gam_fits": fit_table,
        "set_comparison": summary.compare_sets(fit_table, study["focus_set"]),
        "cep": cep_table,
        "cv": summary.cv_table(cv_frame, alpha=study["cv"]["normality_alpha"]),
        "deg_counts": summary.deg_counts(deg_frame, min_abs_log2fc=settings["min_abs_log2fc"], max_p=settings["max_p"]),
        "degs": deg_frame.filter((pl.col("log2fc").abs() > settings["min_abs_log2fc"]) & (pl.col("p_value") < settings["max_p"])),
        "go_top": top,
        "go_themes": summary.theme_check(top),
        "dual_filter": summary.dual_filter_summary(dual_tables),
        "recovery": summary.recovery(cells, cep_table, truth_frame, go_frame, study["simulation"]["programmes"]
                                     if study["cohort"]["source"] == "simulate" else {}),
    }
    for name, frame in outputs.items():
        write_table(frame, tables[name], schema=frame.schema)
    apply_style()
    save_figure(figures.dual_filter(dual_tables, anchor=study["anchor"]), *figure_paths(figure_stems["dual_filter"]))
    for group in groups:
        save_figure(figures.gam_fits(cells, cep_table, group=group, anchor=study["anchor"], focus=study["focus_set"]),
                    *figure_paths(figure_stems[f"gam_fits_{group}"]))
    save_figure(figures.de_heatmap(fit_table), *figure_paths(figure_stems["de_heatmap"]))
    save_figure(figures.cv_boxplots(cv_frame, groups), *figure_paths(figure_stems["cv"]))
    save_figure(figures.quadrant_mosaic(cep_table, groups), *figure_paths(figure_stems["quadrants"]))
    save_figure(figures.go_dotplot(top, comparisons={"pre_ip": "pre-IP", "post_ip": "post-IP"}),
                *figure_paths(figure_stems["go"]))
