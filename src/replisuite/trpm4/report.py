"""The trpm4 study's tables and figures from every job's outputs."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from replisuite.plotting import apply_style, figure_paths, save_figure
from replisuite.singlecell.simulate import TRUTH_SCHEMA
from replisuite.tables import write_table
from replisuite.trpm4 import calibration, summary
from replisuite.trpm4.cells import DUAL_SCHEMA


def summarise(study: Mapping[str, Any], *, fits: list[str], cell_tables: list[str], summaries: list[str], cv: list[str],
              degs: list[str], go: list[str], dual: list[str], truth: str | None, tables: Mapping[str, str],
              planted_genes: str | None = None,
              figure_stems: Mapping[str, str]) -> None:
    """Every study-level table and figure from the per-job outputs."""
    from replisuite.trpm4 import figures

    groups = list(study["groups"])
    fit_table = summary.gam_table(summary.read_records(fits))
    cep_table = summary.cep_table(summary.read_records(summaries))
    if (cep_table["reason"] != "").all():
        reasons = "; ".join(f"{r['group']} {r['patient']}: {r['reason']}" for r in cep_table.iter_rows(named=True))
        raise ValueError(f"no patient could be analysed ({reasons})")
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
        "cv": summary.cv_table(cv_frame, alpha=study["cv"]["normality_alpha"], train_fraction=study["cv"]["train_fraction"]),
        "deg_counts": summary.deg_counts(deg_frame, min_abs_log2fc=settings["min_abs_log2fc"], max_p=settings["max_p"]),
        "degs": deg_frame.filter((pl.col("log2fc").abs() > settings["min_abs_log2fc"]) & (pl.col("p_value") < settings["max_p"])),
        "go_top": top,
        "go_themes": summary.theme_check(top),
        "dual_filter": summary.dual_filter_summary(dual_tables, study["dual_filter"]),
        "dual_filter_recovery": summary.dual_filter_recovery(
            dual_tables, json.loads(Path(planted_genes).read_text())["coexpressed"] if planted_genes else {}),
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
    shown = study["cv"]["selections"][0]
    save_figure(figures.cv_boxplots(cv_frame.filter(pl.col("selection") == shown), groups, selection=shown),
                *figure_paths(figure_stems["cv"]))
    save_figure(figures.quadrant_mosaic(cep_table, groups), *figure_paths(figure_stems["quadrants"]))
    save_figure(figures.go_dotplot(top, comparisons={"pre_ip": "pre-IP", "post_ip": "post-IP"}),
                *figure_paths(figure_stems["go"]))


def summarise_calibration(parts: Sequence[str], *, table_out: str, patients_out: str, figure_stem: str) -> pl.DataFrame:
    """The calibration table, every simulated patient's row, and the figure."""
    from replisuite.trpm4 import figures

    rows = pl.concat([pl.read_parquet(p) for p in parts]).sort("scenario", "replicate", "patient")
    table = calibration.calibration_table(rows)
    write_table(table, table_out, schema=table.schema)
    write_table(rows, patients_out, schema=calibration.PATIENT_SCHEMA)
    apply_style()
    save_figure(figures.calibration(rows, table), *figure_paths(figure_stem))
    return table
