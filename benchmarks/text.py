"""Wall time and peak memory of the mi and topics studies on this machine.

Each study runs from scratch (fresh copy of the repository, empty embedding cache, inputs from
$REPLISUITE_MIRROR or the network) with `snakemake --cores N <study manifest>`. Printed per
study: wall time of the whole run, summed job time, and the largest resident memory of any job
(from Snakemake's per-rule benchmark files).

Run: python benchmarks/text.py [--cores 2] [--studies mi topics]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def copy_repository(target: Path) -> None:
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target / name)


def run_study(work: Path, study: str, cores: int) -> None:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), "--profile", "workflow/profiles/default",
                    f"results/{study}/manifest.json"], cwd=work, check=True, capture_output=True)
    wall = time.perf_counter() - started
    job_seconds, peak_mb, jobs = 0.0, 0.0, 0
    for path in (work / "logs" / study).rglob("*.benchmark.tsv"):
        with open(path) as handle:
            row = next(csv.DictReader(handle, delimiter="\t"))
        jobs += 1
        job_seconds += float(row["s"])
        peak_mb = max(peak_mb, float(row["max_rss"]) if row["max_rss"] not in ("", "NA", "-") else 0.0)
    print(f"{study}: wall {wall:.0f} s on {cores} cores ({jobs} jobs, {job_seconds:.0f} s of job time); "
          f"peak resident memory of any job {peak_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--studies", nargs="+", default=["mi", "topics"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        copy_repository(work)
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(args.cores), "results/data/manifest.json"],
                       cwd=work, check=True, capture_output=True)
        for study in args.studies:
            run_study(work, study, args.cores)


if __name__ == "__main__":
    main()
