"""Did a rerun reproduce the recorded results? Checksums of the results' content, and a comparison.

A lab that publishes results records, in git, the SHA-256 of every table, figure and claims file
under ``results/`` (:data:`RECORD`, ``sha256sum`` format) and, for every table, the SHA-256 of
its content with floating-point values rounded to :data:`DIGITS` significant digits
(:data:`ROUNDED_RECORD`). A reviewer's ``make reproduce`` then compares the files it produced
with that record and says, per study, what came out ``identical``, what only ``within tolerance``
(a table whose rounded content is equal: a different BLAS or CPU changes the last bits), what
``differs``, and which files are ``missing`` or ``new``. Where the recorded file itself is in the
local DVC cache (``make record`` on this machine, or ``dvc fetch`` from the lab's remote), a table
that differs is compared value by value and its largest difference reported.

What is provenance rather than content is left out of the record: the manifests (they name the
commit and the machine), the per-job model records under ``llm/`` (their cache-hit counts depend
on what the response store held) and the comparison itself.

``python -m replisuite.reproduction record`` writes the record, ``compare`` prints the per-study
table and writes :data:`COMPARISON` (the workflow's last job, ``compare_with_record``, does the same
for the report) and ``show`` prints that table again; ``compare`` exits 0 whatever it finds (also
without a record), and 1 only when a record cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from replisuite.atomic import atomic_open
from replisuite.data import sha256_file
from replisuite.tables import write_table

RECORD = "results/CHECKSUMS.sha256"
ROUNDED_RECORD = "results/CHECKSUMS.rounded.sha256"
COMPARISON = "results/reproduction.csv"
DIGITS = 6
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet")
SUITE = "suite"      # files directly under results/ (the scorecard) belong to no one study

IDENTICAL, WITHIN, DIFFERS, MISSING, NEW = "identical", "within tolerance", "differs", "missing", "new"
COMPARISON_SCHEMA = {"study": pl.String, "path": pl.String, "status": pl.String,
                     "max_abs_difference": pl.Float64, "detail": pl.String}


class ReproductionError(RuntimeError):
    """A record that cannot be read, or no results to compare."""


def is_content(relative: str) -> bool:
    """Whether a path under ``results/`` is content (recorded) rather than provenance."""
    parts = Path(relative).parts
    name = parts[-1]
    return not (name == "manifest.json" or "llm" in parts[:-1] or name.startswith(".")
                or name.endswith((".sha256", ".part", ".log", ".html")) or relative == Path(COMPARISON).name
                or any(p.endswith(".training") for p in parts[:-1]))


def content_files(results: str | Path = "results") -> list[str]:
    """Every content file under ``results`` (see :func:`is_content`), as sorted paths relative to
    the repository root (``results/<study>/...``).
    """
    root = Path(results)
    if not root.is_dir():
        raise ReproductionError(f"{root}: no results folder (run `make reproduce` first)")
    found = (p for p in root.rglob("*") if p.is_file() and is_content(str(p.relative_to(root))))
    return sorted(str(Path(root.name) / p.relative_to(root)) for p in found)


def study_of(path: str) -> str:
    """The study a results path belongs to (``results/<study>/...``), or :data:`SUITE`."""
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 else SUITE


def read_any_table(path: str | Path, *, suffix: str | None = None) -> pl.DataFrame:
    """A recorded table (CSV, TSV or Parquet) as polars reads it, every column inferred.

    ``suffix`` names the format when the file's own name has none (a copy in the DVC cache).
    """
    path = Path(path)
    suffix = suffix or path.suffix
    if suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_csv(path, separator="\t" if suffix == ".tsv" else ",", infer_schema_length=None)


def _round(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def rounded_digest(path: str | Path, *, digits: int = DIGITS) -> str:
    """SHA-256 of a table's column names, types and values, floats rounded to ``digits``
    significant digits (NaN and null kept distinct).
    """
    frame = read_any_table(path)
    hasher = hashlib.sha256()
    hasher.update(json.dumps([[name, str(dtype)] for name, dtype in frame.schema.items()]).encode())
    for name, dtype in frame.schema.items():
        values = frame[name].to_list()
        if dtype.is_float():
            values = [None if v is None else repr(_round(v, digits)) for v in values]
        hasher.update(json.dumps(values, default=str).encode())
    return hasher.hexdigest()


def table_difference(recorded: pl.DataFrame, produced: pl.DataFrame, *, digits: int = DIGITS) -> tuple[bool, float, str]:
    """Whether two tables are equal within ``digits`` significant digits, their largest absolute
    difference over numeric columns, and what differs otherwise (shape, columns, other values).
    """
    if recorded.columns != produced.columns:
        return False, math.nan, f"columns differ: {recorded.columns} vs {produced.columns}"
    if recorded.height != produced.height:
        return False, math.nan, f"rows differ: {recorded.height} vs {produced.height}"
    largest, equal, detail = 0.0, True, ""
    tolerance = 10.0 ** (1 - digits)
    for name in recorded.columns:
        a, b = recorded[name], produced[name]
        if a.dtype.is_numeric() and b.dtype.is_numeric():
            x, y = a.cast(pl.Float64).to_numpy(), b.cast(pl.Float64).to_numpy()
            both_nan = (x != x) & (y != y)
            gap = abs(x - y)
            gap[both_nan] = 0.0
            if (gap != gap).any():    # NaN on one side only
                return False, math.nan, f"column {name}: missing values differ"
            largest = max(largest, float(gap.max(initial=0.0)))
            scale = abs(x).clip(min=1e-300)
            if (gap > tolerance * scale).any():
                equal, detail = False, detail or f"column {name} differs beyond {digits} significant digits"
        elif not a.equals(b, check_dtypes=False, null_equal=True):
            return False, largest, f"column {name}: values differ"
    return equal, largest, detail


def write_record(results: str | Path = "results", *, record: str | Path = RECORD,
                 rounded_record: str | Path = ROUNDED_RECORD, digits: int = DIGITS) -> list[str]:
    """Write the checksum listing of every content file and the rounded digest of every table."""
    root = Path(results).parent
    files = content_files(results)
    with atomic_open(record) as handle:
        for path in files:
            handle.write(f"{sha256_file(root / path)}  {path}\n")
    with atomic_open(rounded_record) as handle:
        handle.write(f"# tables' content with floats rounded to {digits} significant digits\n")
        for path in files:
            if path.endswith(TABLE_SUFFIXES):
                handle.write(f"{rounded_digest(root / path, digits=digits)}  {path}\n")
    return files


def read_record(path: str | Path) -> dict[str, str]:
    """A ``sha256sum`` listing as ``{path: digest}`` (comment lines skipped)."""
    listing: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ReproductionError(f"{path}, line {number}: expected '<sha256>  <path>', got {line!r}")
        listing[name] = digest
    return listing


def compare_file(path: str, recorded_digest: str, *, root: Path, rounded: Mapping[str, str],
                 recorded_copy: Path | None, digits: int = DIGITS) -> dict[str, object]:
    """One listed file against its record: identical, within tolerance (tables), or differs."""
    row = {"study": study_of(path), "path": path, "max_abs_difference": None, "detail": ""}
    produced = root / path
    if not produced.is_file():
        return {**row, "status": MISSING, "detail": "recorded, not produced"}
    if sha256_file(produced) == recorded_digest:
        return {**row, "status": IDENTICAL}
    if not path.endswith(TABLE_SUFFIXES):
        return {**row, "status": DIFFERS, "detail": "bytes differ"}
    if recorded_copy is not None:
        equal, largest, detail = table_difference(read_any_table(recorded_copy, suffix=produced.suffix),
                                                  read_any_table(produced), digits=digits)
        return {**row, "status": WITHIN if equal else DIFFERS, "max_abs_difference": None if math.isnan(largest) else largest,
                "detail": f"equal to {digits} significant digits" if equal else detail}
    if path in rounded and rounded_digest(produced, digits=digits) == rounded[path]:
        return {**row, "status": WITHIN,
                "detail": f"equal to {digits} significant digits (recorded table not in the DVC cache: no largest difference)"}
    return {**row, "status": DIFFERS, "detail": "values differ beyond "
            f"{digits} significant digits" if path in rounded else "bytes differ"}


def compare(record: Mapping[str, str], *, results: str | Path = "results", rounded: Mapping[str, str] | None = None,
            recorded_copies: Mapping[str, Path] | None = None, digits: int = DIGITS) -> pl.DataFrame:
    """Every recorded file against what is under ``results`` now, and every unrecorded content
    file as ``new``: one row per file (see :data:`COMPARISON_SCHEMA`).
    """
    root = Path(results).parent
    copies = recorded_copies or {}
    rows = [compare_file(path, digest, root=root, rounded=rounded or {}, recorded_copy=copies.get(path), digits=digits)
            for path, digest in sorted(record.items())]
    rows += [{"study": study_of(path), "path": path, "status": NEW, "max_abs_difference": None,
              "detail": "produced, not recorded"}
             for path in content_files(results) if path not in record]
    return pl.DataFrame(rows, schema=COMPARISON_SCHEMA).sort("study", "path")


def study_verdicts(comparison: pl.DataFrame) -> pl.DataFrame:
    """Per study: ``identical`` when every file is, ``within tolerance`` when the rest are within
    it, else ``differs``; with the count of files in each state.
    """
    counts = comparison.group_by("study").agg(
        pl.len().alias("files"), *[(pl.col("status") == s).sum().alias(s) for s in (IDENTICAL, WITHIN, DIFFERS, MISSING, NEW)])
    verdict = (pl.when(pl.col(IDENTICAL) == pl.col("files")).then(pl.lit(IDENTICAL))
               .when(pl.col(IDENTICAL) + pl.col(WITHIN) == pl.col("files")).then(pl.lit(WITHIN))
               .otherwise(pl.lit(DIFFERS)))
    return counts.with_columns(verdict.alias("verdict")).select("study", "verdict", "files", IDENTICAL, WITHIN,
                                                                DIFFERS, MISSING, NEW).sort("study")


def dvc_cached_copies(lock: str | Path = "dvc.lock", cache: str | Path = ".dvc/cache") -> dict[str, Path]:
    """The recorded version of each results file that the local DVC cache holds, by path: the
    lock file names each study folder's ``.dir`` listing, which names each file's MD5.
    """
    import yaml

    lock, cache = Path(lock), Path(cache)
    if not lock.is_file():
        return {}
    copies: dict[str, Path] = {}
    for stage in (yaml.safe_load(lock.read_text()) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            digest = str(out.get("md5", ""))
            if not out.get("path", "").startswith("results") or not digest.endswith(".dir"):
                continue
            listing = cache / "files" / "md5" / digest[:2] / digest[2:]
            if not listing.is_file():
                continue
            for entry in json.loads(listing.read_text()):
                blob = cache / "files" / "md5" / entry["md5"][:2] / entry["md5"][2:]
                if blob.is_file():
                    copies[str(Path(out["path"]) / entry["relpath"])] = blob
    return copies


def format_verdicts(verdicts: pl.DataFrame, comparison: pl.DataFrame) -> str:
    """The per-study table a reviewer reads at the end of ``make reproduce``, then each file that
    is not identical.
    """
    lines = [f"{'study':<12} {'verdict':<17} {'files':>5} {'identical':>9} {'within':>6} {'differs':>7} "
             f"{'missing':>7} {'new':>4}"]
    for row in verdicts.iter_rows(named=True):
        lines.append(f"{row['study']:<12} {row['verdict']:<17} {row['files']:>5} {row[IDENTICAL]:>9} {row[WITHIN]:>6} "
                     f"{row[DIFFERS]:>7} {row[MISSING]:>7} {row[NEW]:>4}")
    for row in comparison.filter(pl.col("status") != IDENTICAL).iter_rows(named=True):
        gap = "" if row["max_abs_difference"] is None else f", largest difference {row['max_abs_difference']:.3g}"
        lines.append(f"  {row['status']}: {row['path']} ({row['detail']}{gap})")
    return "\n".join(lines)


def record_digests() -> dict[str, str | None]:
    """SHA-256 of the record's two files (``None`` for one that does not exist)."""
    return {name: sha256_file(name) if Path(name).is_file() else None for name in (RECORD, ROUNDED_RECORD)}


def compare_with_record(results: str | Path = "results", *, digits: int = DIGITS, lock: str | Path = "dvc.lock",
                        cache: str | Path = ".dvc/cache") -> pl.DataFrame | None:
    """Compare ``results`` with the record inside it (``None`` when nothing is recorded yet)."""
    results = Path(results)
    record_path, rounded_path = results / Path(RECORD).name, results / Path(ROUNDED_RECORD).name
    if not record_path.is_file():
        return None
    rounded = read_record(rounded_path) if rounded_path.is_file() else {}
    return compare(read_record(record_path), results=results, rounded=rounded,
                   recorded_copies=dvc_cached_copies(lock, cache), digits=digits)


def write_comparison(comparison: pl.DataFrame | None, out: str | Path) -> str:
    """Write the comparison table (an empty one without a record) and return the text a reviewer reads."""
    if comparison is None:
        write_table(pl.DataFrame(schema=COMPARISON_SCHEMA), out, schema=COMPARISON_SCHEMA)
        return f"nothing to compare with: no {Path(RECORD).name} (a lab writes it with `make record`)"
    write_table(comparison, out, schema=COMPARISON_SCHEMA)
    return format_verdicts(study_verdicts(comparison), comparison)


def main(argv: Iterable[str] | None = None) -> int:
    """Command line: ``record``, ``compare`` and ``show`` the reproduction record."""
    parser = argparse.ArgumentParser(prog="python -m replisuite.reproduction", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    record = commands.add_parser("record", help=f"write {RECORD} and {ROUNDED_RECORD} from results/")
    check = commands.add_parser("compare", help=f"compare results/ with {RECORD}; write {COMPARISON}")
    show = commands.add_parser("show", help=f"print the per-study verdicts of {COMPARISON} (the workflow writes it)")
    for sub in (record, check, show):
        sub.add_argument("--results", default="results")
    for sub in (record, check):
        sub.add_argument("--digits", type=int, default=DIGITS, help="significant digits of 'within tolerance'")
    args = parser.parse_args(list(argv) if argv is not None else None)
    results = Path(args.results)
    record_path, rounded_path = results / Path(RECORD).name, results / Path(ROUNDED_RECORD).name
    try:
        if args.command == "record":
            files = write_record(results, record=record_path, rounded_record=rounded_path, digits=args.digits)
            print(f"recorded {len(files)} files in {record_path} and {rounded_path}")
            return 0
        if args.command == "show":
            return _show(results / Path(COMPARISON).name)
        # nothing recorded yet (a lab's first run) is a finding to report, not a failed run
        comparison = compare_with_record(results, digits=args.digits)
    except ReproductionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(write_comparison(comparison, results / Path(COMPARISON).name))
    return 0


def _show(path: Path) -> int:
    if not path.is_file():
        print(f"error: {path} does not exist: run the workflow first (its last job compares with the record)",
              file=sys.stderr)
        return 1
    comparison = pl.read_csv(path, schema=COMPARISON_SCHEMA)
    if comparison.is_empty():
        print(f"nothing to compare with: no {Path(RECORD).name} (a lab writes it with `make record`)")
        return 0
    print(format_verdicts(study_verdicts(comparison), comparison))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
