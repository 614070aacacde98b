"""The suite's front page: every study's claims in one table, one figure and a README block.

``python -m replisuite.scorecard readme [--check]`` rewrites (or checks) the README block
between the scorecard markers from ``results/scorecard.csv``; the block records the MD5 of
the table it was made from, which is also what ``dvc.lock`` records for that file, so a test
can tell a stale block from a fresh clone without the results.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from replisuite.claims import CLAIMS_SCHEMA, EMBEDDED_MARK, FLOOR_BELOW, LEVELS, VERDICTS, read_claims
from replisuite.tables import write_table

BEGIN = "<!-- scorecard:begin"
END = "<!-- scorecard:end -->"
COLOURS = {
    "reproduced": "#1a9850", "planted recovered": "#66bd63", "null passed": "#a6d96a",
    "direction reproduced": "#fee08b", "not reproduced": "#d73027", "not comparable": "#bdbdbd",
}


class ScorecardError(RuntimeError):
    """The README block and the scorecard disagree, or the block is missing."""


def scorecard(claims_paths: Iterable[str]) -> pl.DataFrame:
    """Every study's claims, in study and claim order."""
    return read_claims(claims_paths).sort("study", "claim_id", maintain_order=True)


def write_scorecard(claims_paths: Iterable[str], path: str, *, models_path: str | None = None) -> pl.DataFrame:
    """The scorecard of every study's claims, written to ``path`` and returned; with
    ``models_path``, its model x claim view (:func:`model_view`) written there too.
    """
    frame = scorecard(claims_paths)
    write_table(frame, path, schema=CLAIMS_SCHEMA)
    if models_path is not None:
        view = model_view(frame)
        write_table(view, models_path, schema=dict(view.schema))
    return frame


BELOW_FLOOR = "below task floor"
EMBEDDED = "embedded 135M model"


def verdict_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """Claims per study and verdict (one column per verdict, in :data:`VERDICTS` order), and how
    many of the study's claims are ``not comparable`` because the model is below the task floor:
    those verdicts are about the model, not the paper.
    """
    counts = frame.group_by("study", "verdict").len().pivot(on="verdict", index="study", values="len")
    for verdict in VERDICTS:
        if verdict not in counts.columns:
            counts = counts.with_columns(pl.lit(0, dtype=pl.UInt32).alias(verdict))
    below = frame.group_by("study").agg((pl.col("task_floor") == FLOOR_BELOW).sum().cast(pl.UInt32).alias(BELOW_FLOOR))
    return counts.join(below, on="study").select("study", *VERDICTS, BELOW_FLOOR).fill_null(0).sort("study")


def figure(frame: pl.DataFrame):
    """One labelled row per claim (``study: claim_id``), grouped by study: a bar coloured by verdict
    that names the verdict and the level, hatched where the model was below its task floor, and
    marked "135M" where the claim rests on the embedded model.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    rows = list(frame.iter_rows(named=True))
    fig, ax = plt.subplots(figsize=(9.5, 0.9 + 0.2 * len(rows)))
    previous = None
    for y, claim in enumerate(rows):
        below = claim["task_floor"] == FLOOR_BELOW
        ax.add_patch(Rectangle((0, y + 0.06), 1.0, 0.88, facecolor=COLOURS[claim["verdict"]],
                               hatch="//" if below else None, edgecolor="#636363" if below else "none"))
        label = f"{claim['verdict']} \u00b7 {claim['level']}"
        if EMBEDDED_MARK in (claim["models"] or ""):
            label += " \u00b7 135M"
        ax.text(0.02, y + 0.5, label, ha="left", va="center", fontsize=6.5)
        if previous is not None and claim["study"] != previous:
            ax.axhline(y, color="#252525", linewidth=0.6)
        previous = claim["study"]
    ax.set_xlim(0, 1.0)
    ax.set_ylim(len(rows), 0)
    ax.set_yticks([y + 0.5 for y in range(len(rows))], [f"{c['study']}: {c['claim_id']}" for c in rows], fontsize=6.5)
    ax.set_xticks([])
    ax.grid(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title("Replication scorecard: one row per claim (verdict \u00b7 level; 135M: the embedded model)", fontsize=9)
    _verdict_legend(ax)
    return fig


MODEL_ROW = "{model}"


def model_claims(frame: pl.DataFrame) -> pl.DataFrame:
    """The claims about a subject model's behaviour (``subject`` set), each with ``claim``: its id
    with the subject's name replaced by ``{model}``, so that one claim stated for several models is
    one row of :func:`model_view`.
    """
    about = frame.filter(pl.col("subject").fill_null("") != "")
    rows = [row["claim_id"].replace(row["subject"], MODEL_ROW, 1) for row in about.iter_rows(named=True)]
    return about.with_columns(pl.Series("claim", rows, dtype=pl.String)).select(
        "study", "claim", "subject", "verdict", "task_floor", "level", "models")


def model_view(frame: pl.DataFrame) -> pl.DataFrame:
    """The model x claim view of a scorecard: one row per claim about model behaviour (``study``,
    ``claim``), grouped by study, and one column per subject model (in name order); a cell is the verdict, with "(below task floor)" where the model failed the claim's
    floor, and empty where the claim is not stated for that model.
    """
    claims = model_claims(frame)
    subjects = sorted(set(claims["subject"].to_list()))
    cells = claims.with_columns(
        pl.when(pl.col("task_floor") == FLOOR_BELOW).then(pl.col("verdict") + " (below task floor)")
        .otherwise(pl.col("verdict")).alias("cell"))
    if not subjects:
        return pl.DataFrame(schema={"study": pl.String, "claim": pl.String})
    wide = cells.pivot(on="subject", index=["study", "claim"], values="cell", aggregate_function="first")
    return wide.select("study", "claim", *subjects).sort("study", maintain_order=True)


def model_summary(frame: pl.DataFrame) -> list[str]:
    """One line per subject model: its claims and their verdicts, and how many were below the task floor."""
    claims = model_claims(frame)
    lines = []
    for subject in sorted(set(claims["subject"].to_list())):
        own = claims.filter(pl.col("subject") == subject)
        counts = ", ".join(f"{n} {verdict}" for verdict in VERDICTS if (n := int((own["verdict"] == verdict).sum())))
        below = int((own["task_floor"] == FLOOR_BELOW).sum())
        studies = own["study"].n_unique()
        label = _subject_label(subject, own["models"].fill_null("").to_list())
        lines.append(f"**{label}**: {own.height} claims in {studies} {'study' if studies == 1 else 'studies'}: {counts}"
                     + (f" ({below} below the task floor)" if below else ""))
    return lines


def _verdict_legend(ax) -> None:
    """The verdict colours, and the hatched bar of a model below its task floor, beside the axes."""
    from matplotlib.patches import Patch

    handles = [Patch(color=COLOURS[v], label=v) for v in VERDICTS]
    handles.append(Patch(facecolor=COLOURS["not comparable"], hatch="//", edgecolor="#636363",
                         label="not comparable: model below the task floor"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)


def _subject_label(subject: str, models: list[str]) -> str:
    """The subject's label as the claims' ``models`` give it ("smollm2-135m (embedded 135M model)")."""
    for text in models:
        for part in re.split(r"[;,/]", text):
            if part.strip().startswith(f"{subject} ("):
                return part.strip()
    return subject


def model_figure(view: pl.DataFrame, frame: pl.DataFrame):
    """The model x claim view as a grid: rows are claims (``study: claim``), columns subject models,
    cells coloured by verdict, hatched where the model was below the task floor, blank where the
    claim is not stated for that model.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    subjects = view.columns[2:]
    claims = model_claims(frame)
    floors = {(r["study"], r["claim"], r["subject"]): r for r in claims.iter_rows(named=True)}
    fig, ax = plt.subplots(figsize=(4.5 + 1.3 * len(subjects), 1.2 + 0.22 * view.height))
    previous = None
    for y, row in enumerate(view.iter_rows(named=True)):
        for x, subject in enumerate(subjects):
            claim = floors.get((row["study"], row["claim"], subject))
            if claim is None:
                continue
            below = claim["task_floor"] == FLOOR_BELOW
            ax.add_patch(Rectangle((x + 0.04, y + 0.06), 0.92, 0.88, facecolor=COLOURS[claim["verdict"]],
                                   hatch="//" if below else None, edgecolor="#636363" if below else "none"))
        if previous is not None and row["study"] != previous:
            ax.axhline(y, color="#252525", linewidth=0.6)
        previous = row["study"]
    ax.set_xlim(0, max(len(subjects), 1))
    ax.set_ylim(view.height, 0)
    ax.set_yticks([y + 0.5 for y in range(view.height)], [f"{r['study']}: {r['claim']}" for r in view.iter_rows(named=True)],
                  fontsize=6.5)
    ax.set_xticks([x + 0.5 for x in range(len(subjects))], subjects, rotation=30, ha="right", fontsize=7)
    ax.xaxis.tick_top()
    ax.grid(False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_title("Claims about model behaviour, per subject model (blank: not stated for that model)", fontsize=9)
    _verdict_legend(ax)
    return fig


def md5(path: str | Path) -> str:
    """The MD5 of a file (DVC's hash, to compare with ``dvc.lock``)."""
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def readme_block(frame: pl.DataFrame, *, digest: str) -> str:
    """The README's summary: claims per study and verdict, how many rest on the embedded 135M model
    (the pipeline ran on it: not a finding about capable models), and how many at each level.
    """
    counts = verdict_counts(frame)
    header = "| study | claims | " + " | ".join(VERDICTS) + f" | {BELOW_FLOOR} | {EMBEDDED} | levels |"
    lines = [f"{BEGIN} md5={digest} (generated by `make scorecard` from results/scorecard.csv; do not edit) -->",
             header, "|" + "---|" * (len(VERDICTS) + 5)]
    for row in counts.iter_rows(named=True):
        claims = frame.filter(pl.col("study") == row["study"])
        levels = ", ".join(f"{level} {n}" for level in LEVELS if (n := int((claims["level"] == level).sum())))
        embedded = int(claims["models"].fill_null("").str.contains(EMBEDDED_MARK, literal=True).sum())
        lines.append(f"| {row['study']} | {claims.height} | " + " | ".join(str(row[v]) for v in VERDICTS)
                     + f" | {row[BELOW_FLOOR]} | {embedded} | {levels} |")
    per_model = model_summary(frame)
    if per_model:
        lines += ["", "Per subject model (`results/scorecard_models.csv`):", "", *(f"- {line}" for line in per_model)]
    lines.append(END)
    return "\n".join(lines)


_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), re.S)
_DIGEST = re.compile(re.escape(BEGIN) + r" md5=([0-9a-f]{32})")


def block_digest(readme: str) -> str:
    """The MD5 the README's block was generated from."""
    found = _DIGEST.search(readme)
    if not found:
        raise ScorecardError(f"README has no scorecard block (a line starting {BEGIN!r} with md5=...)")
    return found.group(1)


def update_readme(readme_path: str | Path, scorecard_path: str | Path, *, check: bool = False) -> bool:
    """Rewrite the README block from the scorecard; with ``check``, only report whether it is current."""
    readme = Path(readme_path).read_text()
    if not _BLOCK.search(readme):
        raise ScorecardError(f"{readme_path}: no block between {BEGIN!r} and {END!r}")
    block = readme_block(read_claims([str(scorecard_path)]), digest=md5(scorecard_path))
    updated = _BLOCK.sub(lambda _: block, readme)
    if check:
        return updated == readme
    Path(readme_path).write_text(updated)
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line: rewrite or check the README's scorecard block, or print the scorecard."""
    parser = argparse.ArgumentParser(prog="python -m replisuite.scorecard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    readme = sub.add_parser("readme", help="rewrite (or --check) the README's scorecard block")
    readme.add_argument("--readme", default="README.md")
    readme.add_argument("--scorecard", default="results/scorecard.csv")
    readme.add_argument("--check", action="store_true", help="exit 1 if the block is not current")
    args = parser.parse_args(argv)
    try:
        current = update_readme(args.readme, args.scorecard, check=args.check)
    except (ScorecardError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.check and not current:
        print(f"{args.readme}: the scorecard block is not current; run `make scorecard`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
