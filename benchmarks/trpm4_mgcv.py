"""Fidelity check of the trpm4 GAMs against R's mgcv (REML), the author's engine. Not run in CI.

For every group and patient of a finished run (`results/trpm4/`), the focus set's model
score ~ s(anchor) is refitted with mgcv::gam(method = "REML") at the basis size our pipeline
chose (thin-plate, as mgcv defaults); TREP cells are called from mgcv's fit the same way
(top round(N x DE) by explanatory power), mgcv fits their residuals on the anchor, and the IP
is the first negative-to-positive crossing on the same grid. Prints DE and IP side by side with
the TREP overlap, then the largest differences.

Needs Rscript with mgcv (Debian: apt install r-base-core r-cran-mgcv); prints a note and exits 0
when they are missing.

Run: python benchmarks/trpm4_mgcv.py [--results results/trpm4] [--config config/config.yaml]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl
import yaml

from replisuite.singlecell.cep import trep_cells, zero_crossings

R_FIT = r"""
suppressMessages(library(mgcv))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1])
k <- as.integer(args[2])
grid <- read.csv(args[3])
fit <- gam(y ~ s(x, k = k), data = data, method = "REML")
out <- predict(fit, newdata = grid, se.fit = TRUE)
write.csv(data.frame(fitted = as.numeric(fitted(fit))), args[4], row.names = FALSE)
write.csv(data.frame(mean = as.numeric(out$fit), se = as.numeric(out$se.fit)), args[5], row.names = FALSE)
cat(summary(fit)$dev.expl, sum(fit$edf), "\n", file = args[6])
"""


def mgcv_fit(folder: Path, x: np.ndarray, y: np.ndarray, k: int, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    pl.DataFrame({"x": x, "y": y}).write_csv(folder / "data.csv")
    pl.DataFrame({"x": grid}).write_csv(folder / "grid.csv")
    script = folder / "fit.R"
    script.write_text(R_FIT)
    paths = [folder / name for name in ("data.csv", "grid.csv", "fitted.csv", "pred.csv", "stats.txt")]
    subprocess.run(["Rscript", str(script), str(paths[0]), str(k), str(paths[1]), *map(str, paths[2:])], check=True)
    fitted = pl.read_csv(paths[2])["fitted"].to_numpy()
    prediction = pl.read_csv(paths[3])
    de, edf = map(float, paths[4].read_text().split())
    return fitted, prediction["mean"].to_numpy(), prediction["se"].to_numpy(), de, edf


def compare(results: Path, study: dict, folder: Path) -> pl.DataFrame:
    rows = []
    settings = study["ip"]
    for group in study["groups"]:
        for patient in study["patients"]:
            record = json.loads((results / f"fits/{group}/{patient}/{study['focus_set']}.json").read_text())
            ours = json.loads((results / f"cep/{group}/{patient}.json").read_text())
            cells = pl.read_parquet(results / f"cep/{group}/{patient}.cells.parquet")
            x, y = cells["anchor"].to_numpy(), cells["score"].to_numpy()
            fitted, _, _, de, edf = mgcv_fit(folder, x, y, record["k"], np.array([x.min(), x.max()]))
            _, trep = trep_cells(y, fitted, de)
            residual = (y - fitted)[trep]
            support = x[trep][x[trep] > 0] if settings["detected_only"] else x[trep]
            low, high = np.quantile(support, settings["grid_quantiles"])
            grid = np.linspace(low, high, settings["grid_points"])
            _, mean, _, _, _ = mgcv_fit(folder, x[trep], residual, max(3, min(10, len(np.unique(x[trep])) - 1)), grid)
            crossings = zero_crossings(mean, grid)
            ours_trep = cells["trep"].to_numpy()
            rows.append({"group": group, "patient": patient, "k": record["k"], "de_pygam": record["deviance_explained"],
                         "de_mgcv": de, "edf_pygam": record["edf"], "edf_mgcv": edf, "ip_pygam": ours["ip"],
                         "ip_mgcv": float(crossings[0]) if crossings.size else float("nan"),
                         "trep_jaccard": float((trep & ours_trep).sum() / (trep | ours_trep).sum())})
    return pl.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("results/trpm4"))
    parser.add_argument("--config", type=Path, default=Path("config/config.yaml"))
    args = parser.parse_args()
    if shutil.which("Rscript") is None or subprocess.run(["Rscript", "-e", "library(mgcv)"], capture_output=True, check=False).returncode:
        print("skipped: needs Rscript with mgcv (apt install r-base-core r-cran-mgcv)")
        return
    if not (args.results / "tables/cep.csv").exists():
        sys.exit(f"no finished trpm4 run under {args.results}: run snakemake results/trpm4/manifest.json first")
    study = yaml.safe_load(args.config.read_text())["trpm4"]
    with tempfile.TemporaryDirectory() as folder:
        table = compare(args.results, study, Path(folder))
    table = table.with_columns((pl.col("de_mgcv") - pl.col("de_pygam")).alias("de_diff"),
                               (pl.col("ip_mgcv") - pl.col("ip_pygam")).alias("ip_diff"))
    with pl.Config(tbl_rows=50, tbl_cols=20, tbl_width_chars=200, float_precision=4):
        print(table)
    print(f"DE: max |mgcv - pygam| = {table['de_diff'].abs().max():.4f}, mean {table['de_diff'].mean():+.4f}")
    print(f"IP: max |mgcv - pygam| = {table['ip_diff'].abs().max():.4f}, mean {table['ip_diff'].mean():+.4f} "
          f"(anchor units, log2); TREP overlap (Jaccard) min {table['trep_jaccard'].min():.3f}, mean {table['trep_jaccard'].mean():.3f}")


if __name__ == "__main__":
    main()
