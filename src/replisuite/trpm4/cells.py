"""The trpm4 study's cell-level steps (AnnData in, tables out): the cohort, QC, scores, the
dual filter, DEGs and GO. One function per rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import polars as pl

from replisuite.atomic import atomic_open, atomic_path
from replisuite.singlecell import qc
from replisuite.singlecell.correlation import anchor_correlations
from replisuite.singlecell.features import principal_components
from replisuite.singlecell.h5ad import read_annotations, read_cells
from replisuite.singlecell.genesets import (
    MissingGenesError,
    gene_set_scores,
    go_biological_process,
    resolve_gene_sets,
)
from replisuite.singlecell.markers import (
    DEG_SCHEMA,
    ENRICHMENT_SCHEMA,
    enrich_indexed,
    index_gene_sets,
    rank_genes,
    significant,
)
from replisuite.singlecell.simulate import TRUTH_SCHEMA, CohortSpec, simulate_cohort
from replisuite.stats import bh_fdr
from replisuite.tables import write_table

log = logging.getLogger("replisuite.trpm4")

DUAL_SCHEMA = {"group": pl.String, "gene": pl.String, "n": pl.Int64, "spearman_rho": pl.Float64, "spearman_p": pl.Float64,
               "spearman_fdr": pl.Float64, "kendall_tau_b": pl.Float64, "kendall_p": pl.Float64, "kendall_fdr": pl.Float64,
               "tier": pl.String}
# a comparison that could not be made is one row with no gene and its reason
DEGS_SCHEMA = {**DEG_SCHEMA, "comparison": pl.String, "group": pl.String, "patient": pl.String, "reason": pl.String}
# score_genes: "kept" (as published) or "removed": the DEG list without the focus score set's genes, since
# TREP cells are selected on that score and its genes would otherwise drive e.g. a "ribosome" theme
GO_SCHEMA = {**ENRICHMENT_SCHEMA, "comparison": pl.String, "p_filter": pl.String, "direction": pl.String, "n_genes": pl.Int64,
             "rank": pl.Int64, "score_genes": pl.String, "group": pl.String, "patient": pl.String}
COMPARISONS = {"post_ip": ("post_trep", "post_non_trep"), "pre_ip": ("pre_trep", "pre_non_trep"), "all": ("trep", "non_trep")}


def simulation_spec(study: Mapping[str, Any]) -> CohortSpec:
    """The simulator's settings from the study config (the anchor, sets, patients and clusters included)."""
    simulation = study["simulation"]
    conditions: dict[str, list[str]] = {}
    for rule in study["groups"].values():
        conditions.setdefault(str(rule["condition"]), []).extend(str(c) for c in rule["clusters"])
    focus = study["gene_sets"][study["focus_set"]]
    return CohortSpec(patients=tuple(study["patients"]), cells_per_group=simulation["cells_per_group"],
                      genes=simulation["genes"], anchor=study["anchor"], focus_genes=tuple(focus),
                      other_sets={k: v for k, v in study["gene_sets"].items() if k != study["focus_set"]},
                      conditions=conditions, anchor_per_10k=simulation["anchor_per_10k"],
                      programmes=simulation["programmes"], coexpressed=simulation["coexpressed"], seed=simulation["seed"])


def simulate(study: Mapping[str, Any], *, cohort_out: str, truth_out: str, genes_out: str) -> None:
    """The simulated cohort, its per-cell truth, and the planted genes (programmes, co-expressed with the anchor)."""
    adata, truth = simulate_cohort(simulation_spec(study))
    planted = {key: adata.uns["simulation"][key] for key in ("programme_genes", "coexpressed")}
    with atomic_open(genes_out) as handle:
        json.dump(planted, handle, indent=2)
    adata.uns["simulation"] = json.dumps(adata.uns["simulation"])
    with atomic_path(cohort_out) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
    write_table(truth, truth_out, schema=TRUTH_SCHEMA)


def prepare_cells(study: Mapping[str, Any], *, cohort: str, cells_out: str, qc_out: str) -> None:
    """Read the configured groups' cells of the cohort, run QC and log-normalise; fail early on
    missing genes or patients. The counts are held once (read for those cells only; QC, the
    patient filter and normalisation in place).
    """
    qc.check_h5ad(cohort)
    _, var = read_annotations(cohort)
    if study["anchor"] not in set(var.index):
        raise MissingGenesError(f"{cohort}: anchor gene {study['anchor']} is not among its {len(var)} genes")
    resolve_gene_sets(study["gene_sets"], var.index, allow_partial=study["allow_partial_sets"], source=cohort)
    adata = qc.read_cohort(cohort, layer=study["cohort"]["layer"], obs_columns=study["cohort"]["obs"], groups=study["groups"])
    cells, steps = qc.quality_control(adata, **study["qc"], copy=False)
    del adata
    for group in study["groups"]:
        kept = qc.patients(cells, group, min_cells=study["min_cells_per_patient"])
        short = [p for p in study["patients"] if p not in kept]
        if short:
            raise ValueError(f"{cohort}: group {group!r} has fewer than {study['min_cells_per_patient']} cells after QC "
                             f"for patient(s) {short} (trpm4.patients lists them)")
    listed = cells.obs["patient"].isin(study["patients"]).to_numpy()
    cells = ad.AnnData(X=qc.keep_rows(cells.X, listed), obs=cells.obs[listed].copy(), var=cells.var, uns=cells.uns)
    with atomic_path(cells_out) as tmp:
        cells.write_h5ad(tmp)
    per_group = pl.DataFrame([(f"group {g}", int((cells.obs["group"] == g).sum()), float("nan")) for g in study["groups"]],
                             schema=qc.QC_SCHEMA, orient="row")
    write_table(pl.concat([steps, per_group]), qc_out, schema=qc.QC_SCHEMA)


def score_cells(study: Mapping[str, Any], *, cells: str, scores_out: str, sets_out: str) -> None:
    """Gene-set scores of every cell, and the sets' coverage in the data (only the anchor's and the
    sets' genes are read).
    """
    _, var = read_annotations(cells)
    wanted = {study["anchor"], *(gene for genes in study["gene_sets"].values() for gene in genes)}
    adata = read_cells(cells, genes=[gene for gene in var.index if gene in wanted])
    scores, summary = gene_set_scores(adata, study["gene_sets"], anchor=study["anchor"], allow_partial=study["allow_partial_sets"])
    scores = scores.with_columns(pl.Series("group", adata.obs["group"].astype(str).tolist()),
                                 pl.Series("patient", adata.obs["patient"].astype(str).tolist()))
    write_table(scores.select("cell", "group", "patient", "anchor", *study["gene_sets"]), scores_out,
                schema={"cell": pl.String, "group": pl.String, "patient": pl.String, "anchor": pl.Float64,
                        **{name: pl.Float64 for name in study["gene_sets"]}})
    write_table(summary, sets_out, schema=summary.schema)


def expression_features(study: Mapping[str, Any], *, cells: str, features_out: str) -> None:
    """Principal components per cell for the corrected CV's classifier, from genes outside the focus
    score set, the anchor and ``cv.classifier.exclude_pattern``; computed within each group and
    patient (genes ranked and components found on that patient's cells only), so that one
    patient's verdict does not move when other patients are added or removed. A patient with too
    few cells or genes for the components gets no rows (its corrected CV is not run) and a warning.
    """
    settings = study["cv"]["classifier"]
    obs, var = read_annotations(cells)
    names = var.index.to_series()
    excluded = {study["anchor"], *study["gene_sets"][study["focus_set"]]}
    if settings["exclude_pattern"]:
        excluded |= set(names[names.str.contains(settings["exclude_pattern"])])
    parts = []
    for (group, patient), index in obs.groupby(["group", "patient"], observed=True).indices.items():
        try:  # one patient's cells in memory at a time
            components, _ = principal_components(read_cells(cells, index), exclude=excluded, n_genes=settings["genes"],
                                                 n_components=settings["components"], seed=settings["seed"])
        except ValueError as error:
            log.warning("%s %s: no expression features (%s)", group, patient, error)
            continue
        parts.append(components.with_columns(pl.exclude("cell").cast(pl.Float64)))
    schema = {"cell": pl.String, **{f"pc{i + 1}": pl.Float64 for i in range(settings["components"])}}
    write_table(pl.concat(parts) if parts else pl.DataFrame(schema=schema), features_out, schema=schema)


def dual_filter(study: Mapping[str, Any], group: str, *, cells: str, table_out: str, threads: int | None = None) -> None:
    """Spearman-Kendall dual filter of every gene against the anchor, cells of ``group`` pooled."""
    obs, _ = read_annotations(cells)
    adata = read_cells(cells, np.flatnonzero((obs["group"] == group).to_numpy()))  # only this group's cells
    anchor = np.asarray(adata[:, study["anchor"]].X.toarray()).ravel()
    matrix, genes = adata.X, list(adata.var_names)
    del adata
    # every gene, the anchor's own row dropped after (slicing it out first would copy the matrix)
    table = anchor_correlations(matrix, anchor, genes, threads=threads).filter(pl.col("gene") != study["anchor"])
    tiers = study["dual_filter"]
    table = table.with_columns(pl.Series("spearman_fdr", bh_fdr(table["spearman_p"].to_numpy())),
                               pl.Series("kendall_fdr", bh_fdr(table["kendall_p"].to_numpy())))
    # a gene constant in these cells has no correlation: null, never a tier (polars orders NaN above every number)
    table = table.with_columns(pl.col(pl.Float64).fill_nan(None))
    significant = (pl.col("spearman_fdr") < tiers["max_fdr"]) & (pl.col("kendall_fdr") < tiers["max_fdr"])
    passes = {name: (pl.col("spearman_rho") >= tiers[name]["rho"]) & (pl.col("kendall_tau_b") >= tiers[name]["tau"]) & significant
              for name in ("tier1", "tier2")}
    table = table.with_columns(pl.when(passes["tier1"]).then(pl.lit("tier1")).when(passes["tier2"]).then(pl.lit("tier2"))
                               .otherwise(pl.lit("none")).alias("tier"), pl.lit(group).alias("group"))
    table = table.select(list(DUAL_SCHEMA)).sort("spearman_rho", descending=True, nulls_last=True)
    write_table(table, table_out, schema=DUAL_SCHEMA)


def markers(study: Mapping[str, Any], group: str, patient: str, *, cells: str, cell_power_table: str, degs_out: str,
            go_out: str) -> None:
    """Wilcoxon DEGs of TREP vs non-TREP (post-IP, pre-IP, all) and GO BP over-representation of their up-regulated genes."""
    labels = pl.read_parquet(cell_power_table)
    keys = [pl.lit(group).alias("group"), pl.lit(patient).alias("patient")]
    if labels.is_empty():  # the patient has no CEP/IP (its summary says why)
        skipped = pl.DataFrame({"comparison": list(COMPARISONS), "reason": "no TREP cells for this patient"})
        write_table(_skipped_rows(skipped).with_columns(*keys).select(list(DEGS_SCHEMA)), degs_out, schema=DEGS_SCHEMA)
        write_table(pl.DataFrame(schema=GO_SCHEMA), go_out, schema=GO_SCHEMA)
        return
    obs, _ = read_annotations(cells)
    position = pd.Series(np.arange(len(obs)), index=obs.index)
    adata = read_cells(cells, np.sort(position.loc[labels["cell"].to_list()].to_numpy()))
    adata = adata[labels["cell"].to_list()]  # in the labels' order
    background = qc.expressed_genes(adata)
    library = index_gene_sets(go_biological_process(), background)
    quadrant = labels["quadrant"].to_numpy()
    trep = labels["trep"].to_numpy()
    masks = {"trep": trep, "non_trep": ~trep, **{q: quadrant == q for q in ("pre_trep", "pre_non_trep", "post_trep", "post_non_trep")}}
    settings = study["degs"]
    score_set = set(study["gene_sets"][study["focus_set"]])
    tables, enrichments, skipped = [], [], []
    for comparison, (target, reference) in COMPARISONS.items():
        if min(masks[target].sum(), masks[reference].sum()) < settings["min_cells"]:
            skipped.append({"comparison": comparison, "reason": f"{int(masks[target].sum())} {target} and "
                            f"{int(masks[reference].sum())} {reference} cells (fewer than {settings['min_cells']} on a side)"})
            continue
        table = rank_genes(adata, masks[target], masks[reference])
        tables.append(table.with_columns(pl.lit(comparison).alias("comparison")))
        for adjusted in (False, True):
            for direction in ("up", "down"):
                genes = significant(table, min_abs_log2fc=settings["min_abs_log2fc"], max_p=settings["max_p"],
                                    adjusted=adjusted, direction=direction)
                for score_genes, listed in (("kept", genes), ("removed", [g for g in genes if g not in score_set])):
                    found = enrich_indexed(listed, library).with_columns(
                        pl.lit(comparison).alias("comparison"), pl.lit("bh" if adjusted else "raw").alias("p_filter"),
                        pl.lit(direction).alias("direction"), pl.lit(len(listed)).cast(pl.Int64).alias("n_genes"),
                        pl.int_range(pl.len()).add(1).cast(pl.Int64).alias("rank"), pl.lit(score_genes).alias("score_genes"))
                    enrichments.append(found)
    degs = pl.concat([*(t.with_columns(pl.lit(None, dtype=pl.String).alias("reason")) for t in tables),
                      _skipped_rows(pl.DataFrame(skipped, schema={"comparison": pl.String, "reason": pl.String}))])
    write_table(degs.with_columns(*keys).select(list(DEGS_SCHEMA)), degs_out, schema=DEGS_SCHEMA)
    go = pl.concat(enrichments).with_columns(*keys) if enrichments else pl.DataFrame(schema=GO_SCHEMA)
    write_table(go, go_out, schema=GO_SCHEMA)


def _skipped_rows(skipped: pl.DataFrame) -> pl.DataFrame:
    """Comparisons not made, as DEG rows with no gene and their reason."""
    return skipped.select(*(pl.lit(None, dtype=dtype).alias(name) for name, dtype in DEG_SCHEMA.items()),
                          "comparison", "reason")
