"""The paper-scale plan: what each study's default run cost, extrapolated to the paper's design.

Measured, from one run's own records: requests and prompt / completion tokens from each study's
response store (``data/llm/<study>``; a fresh clone's store holds exactly the default run's
requests), and job seconds from the rules' benchmark files (``logs/<study>/**/*.benchmark.tsv``).
Extrapolated, with ``config/scaling.yaml``: every figure times ``paper / default`` units, the time
on a served model at a stated throughput (prefill and decode tokens per second, an assumption
printed with the table), and the wall time on the SLURM profile if its ``jobs`` ran side by side.

``python -m replisuite.scaling --root RUN`` prints the table; ``--write docs/scaling.md`` replaces
the page's generated block (between ``<!-- scaling:begin -->`` and ``<!-- scaling:end -->``) with
it, the command and the run's commit and date.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from replisuite.docblocks import markdown_table
from replisuite.llm.store import ResponseStore
from replisuite.provenance import git_state

PLAN = "config/scaling.yaml"
BEGIN = "<!-- scaling:begin -->"
END = "<!-- scaling:end -->"

USAGE_SCHEMA = {"study": pl.String, "requests": pl.Int64, "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64}
JOBS_SCHEMA = {"study": pl.String, "jobs": pl.Int64, "job_seconds": pl.Float64}


class ScalingError(RuntimeError):
    """The plan file or a run's records cannot be read as expected."""


def completion_tokens(usage: Mapping[str, Any]) -> int:
    """Generated tokens of one response: ``completion_tokens``, or for a likelihood choice the
    tokens of the options it scored (``option_tokens``), which a server reads like a completion.
    """
    if "completion_tokens" in usage:
        return int(usage["completion_tokens"] or 0)
    return int(sum(usage.get("option_tokens") or ()))


def store_usage(store_dir: str | Path, *, study: str) -> dict[str, Any]:
    """Requests a model answered live and their tokens in one study's response store (zeros when the
    study has none); published records imported for replay cost nothing and are left out.
    """
    path = Path(store_dir)
    requests = prompt = generated = 0
    if path.is_dir():
        with ResponseStore(path) as store:
            for response in store.iter_responses():
                if response.origin != "live":
                    continue
                requests += 1
                prompt += int(response.usage.get("prompt_tokens") or 0)
                generated += completion_tokens(response.usage)
    return {"study": study, "requests": requests, "prompt_tokens": prompt, "completion_tokens": generated}


def job_seconds(logs_dir: str | Path, *, study: str) -> dict[str, Any]:
    """Jobs and summed wall seconds of one study's benchmark files (Snakemake's ``benchmark:`` TSVs)."""
    files = sorted(Path(logs_dir, study).rglob("*.benchmark.tsv"))
    seconds = 0.0
    for path in files:
        rows = path.read_text().splitlines()
        if len(rows) < 2 or not rows[0].startswith("s\t"):
            raise ScalingError(f"{path}: not a Snakemake benchmark file (expected a header starting with 's')")
        seconds += float(rows[1].split("\t")[0])
    return {"study": study, "jobs": len(files), "job_seconds": seconds}


def _config_value(config: Mapping[str, Any], key: str) -> Any:
    value: Any = config
    for part in key.split("/"):
        if not isinstance(value, Mapping) or part not in value:
            raise ScalingError(f"{PLAN}: config key {key!r} does not exist")
        value = value[part]
    return value


def default_units(spec: Mapping[str, Any], *, config: Mapping[str, Any], root: Path) -> int:
    """The default run's units under ``spec`` (see ``config/scaling.yaml``).

    ``config``: the product of config values (a list or a dict counts its entries; a dict of
    integers sums them), times ``times`` if given; ``jsonl``: records in the JSON-lines files a glob
    matches (``**`` included); ``table``: rows of the CSV or Parquet files a glob matches, or their
    distinct values of ``distinct``.
    """
    if "config" in spec:
        units = int(spec.get("times", 1))
        for key in spec["config"]:
            value = _config_value(config, key)
            if isinstance(value, Mapping):
                value = sum(value.values()) if all(isinstance(v, int) for v in value.values()) else len(value)
            units *= len(value) if isinstance(value, list) else int(value)
        return units
    pattern = spec.get("jsonl") or spec.get("table")
    if pattern is None:
        raise ScalingError(f"{PLAN}: a default needs 'config', 'jsonl' or 'table', got {sorted(spec)}")
    files = sorted(glob.glob(str(root / pattern), recursive=True))
    if not files:
        raise ScalingError(f"{PLAN}: no file under {root} matches {pattern!r}")
    if "jsonl" in spec:
        return sum(1 for name in files for line in Path(name).read_text().splitlines() if line.strip())
    frames = [pl.read_parquet(name) if name.endswith(".parquet") else pl.read_csv(name) for name in files]
    frame = pl.concat(frames, how="diagonal_relaxed")
    if "distinct" in spec:
        if spec["distinct"] not in frame.columns:
            raise ScalingError(f"{PLAN}: {pattern} has no column {spec['distinct']!r} (it has {frame.columns})")
        return frame[spec["distinct"]].n_unique()
    return frame.height


def plan_table(usage: pl.DataFrame, jobs: pl.DataFrame, studies: Mapping[str, Mapping[str, Any]], *,
               units: Mapping[str, int], prefill_tokens_per_s: float, decode_tokens_per_s: float,
               slurm_jobs: int) -> pl.DataFrame:
    """One row per study: the measured default run and, where the paper's design is counted, its extrapolation.

    Parameters
    ----------
    usage, jobs
        Per study: requests and tokens (:func:`store_usage`), jobs and job seconds (:func:`job_seconds`).
    studies
        The plan's ``studies`` section (unit, paper count, source per study).
    units
        The default run's units per study (:func:`default_units`).
    prefill_tokens_per_s, decode_tokens_per_s
        The served model's assumed throughput for prompt and generated tokens.
    slurm_jobs
        Jobs the SLURM profile runs at once (its ``jobs``).
    """
    measured = pl.DataFrame([{"study": s} for s in studies], schema={"study": pl.String}).join(
        usage, on="study", how="left").join(jobs, on="study", how="left").fill_null(0)
    rows = []
    for row in measured.iter_rows(named=True):
        spec = studies[row["study"]]
        default, paper = units[row["study"]], spec.get("paper")
        factor = paper / default if paper and default else None

        def scaled(value, factor=factor):
            return None if factor is None else value * factor

        requests, prompt, generated = (scaled(row[k]) for k in ("requests", "prompt_tokens", "completion_tokens"))
        served_hours = (None if factor is None or not row["requests"]
                        else (prompt / prefill_tokens_per_s + generated / decode_tokens_per_s) / 3600)
        cpu_hours = scaled(row["job_seconds"] / 3600)
        rows.append({
            "study": row["study"], "unit": spec["unit"], "default_units": default, "paper_units": paper,
            "requests": row["requests"], "prompt_tokens": row["prompt_tokens"], "completion_tokens": row["completion_tokens"],
            "jobs": row["jobs"], "job_seconds": round(row["job_seconds"], 1),
            "paper_requests": None if requests is None else math.ceil(requests),
            "paper_tokens": None if prompt is None else math.ceil(prompt + generated),
            "served_hours": served_hours,
            "cpu_hours": cpu_hours,
            "slurm_hours": None if cpu_hours is None else cpu_hours / slurm_jobs,
            "source": spec.get("source", ""),
        })
    return pl.DataFrame(rows, schema={
        "study": pl.String, "unit": pl.String, "default_units": pl.Int64, "paper_units": pl.Int64, "requests": pl.Int64,
        "prompt_tokens": pl.Int64, "completion_tokens": pl.Int64, "jobs": pl.Int64, "job_seconds": pl.Float64,
        "paper_requests": pl.Int64, "paper_tokens": pl.Int64, "served_hours": pl.Float64, "cpu_hours": pl.Float64,
        "slurm_hours": pl.Float64, "source": pl.String})


def markdown(table: pl.DataFrame) -> str:
    """The plan as a Markdown table: measured columns first, then the extrapolated ones (empty: not counted)."""
    def joined(left: str, right: str, sep: str) -> pl.Expr:
        return pl.concat_str(pl.col(left).cast(pl.String).fill_null(""), pl.lit(sep), pl.col(right).cast(pl.String).fill_null(""))

    shown = table.select(
        "study", "unit", joined("default_units", "paper_units", " → ").alias("default → paper"), "requests",
        joined("prompt_tokens", "completion_tokens", " / ").alias("prompt / completion tokens"), "jobs",
        pl.col("job_seconds").alias("job s"), pl.col("paper_requests").alias("paper requests"),
        pl.col("paper_tokens").alias("paper tokens"), pl.col("served_hours").alias("served h"),
        pl.col("cpu_hours").alias("CPU h"), pl.col("slurm_hours").alias("SLURM h"))
    return markdown_table(shown, digits=3)


def replace_block(page: str, block: str, *, where: str) -> str:
    """``page`` with the text between its scaling markers replaced by ``block``."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ScalingError(f"{where}: no {BEGIN} ... {END} block to replace")
    return page[:start + len(BEGIN)] + "\n" + block.strip() + "\n" + page[end:]


def build(root: Path, *, plan_path: Path, prefill: float | None, decode: float | None) -> tuple[pl.DataFrame, dict]:
    """The plan table of the run under ``root`` and the assumptions it used."""
    plan = yaml.safe_load(plan_path.read_text())
    config = yaml.safe_load((root / "config/config.yaml").read_text())
    slurm = yaml.safe_load((root / "workflow/profiles/slurm/config.yaml").read_text())
    studies = plan["studies"]
    store_root = root / config["llm"]["store_dir"]
    usage = pl.DataFrame([store_usage(store_root / s, study=s) for s in studies], schema=USAGE_SCHEMA)
    jobs = pl.DataFrame([job_seconds(root / "logs", study=s) for s in studies], schema=JOBS_SCHEMA)
    units = {s: default_units(spec["default"], config=config, root=root) for s, spec in studies.items()}
    served = plan["assumptions"]["served"]
    assumptions = {"prefill_tokens_per_s": prefill or served["prefill_tokens_per_s"],
                   "decode_tokens_per_s": decode or served["decode_tokens_per_s"],
                   "about": served["about"] if not (prefill or decode) else "given on the command line",
                   "slurm_jobs": int(slurm["jobs"])}
    table = plan_table(usage, jobs, studies, units=units, prefill_tokens_per_s=assumptions["prefill_tokens_per_s"],
                       decode_tokens_per_s=assumptions["decode_tokens_per_s"], slurm_jobs=assumptions["slurm_jobs"])
    return table, assumptions


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the plan of a run, or write it into the docs page."""
    parser = argparse.ArgumentParser(prog="python -m replisuite.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."), help="the run's folder (results/, data/llm/, logs/)")
    parser.add_argument("--plan", type=Path, default=None, help=f"the plan file (default: ROOT/{PLAN})")
    parser.add_argument("--prefill-tokens-per-s", type=float, help="served prompt throughput (default: the plan's)")
    parser.add_argument("--decode-tokens-per-s", type=float, help="served generation throughput (default: the plan's)")
    parser.add_argument("--write", type=Path, help="replace the generated block of this Markdown page")
    args = parser.parse_args(argv)
    try:
        table, assumptions = build(args.root, plan_path=args.plan or args.root / PLAN,
                                   prefill=args.prefill_tokens_per_s, decode=args.decode_tokens_per_s)
    except (OSError, ScalingError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    text = markdown(table)
    note = (f"Generated on {date.today().isoformat()} by `python -m replisuite.scaling --root RUN --write {args.write}` "
            f"from the run of commit {(git_state(args.root)['commit'] or 'unknown')[:10]}. Served: {assumptions['about']}, "
            f"{assumptions['prefill_tokens_per_s']:g} prompt and {assumptions['decode_tokens_per_s']:g} generated tokens/s. "
            f"SLURM h: CPU h over the profile's {assumptions['slurm_jobs']} jobs at once.")
    if args.write:
        page = args.write.read_text()
        args.write.write_text(replace_block(page, text + "\n\n" + note, where=str(args.write)))
    print(text + "\n\n" + note)
    print(json.dumps(assumptions), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
