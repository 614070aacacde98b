"""Inspect and move response stores: ``python -m replisuite.llm {stats,export,import,compact} ...``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from replisuite.llm.store import ResponseStore, StoreError


def main(argv: list[str] | None = None) -> int:
    """Command line of the response-store tools: ``stats``, ``export`` and ``import``."""
    parser = argparse.ArgumentParser(prog="python -m replisuite.llm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    stats = commands.add_parser("stats", help="answers per backend and model, and failures")
    stats.add_argument("store", help="an existing response store (e.g. data/llm/stigma)")
    export = commands.add_parser("export", help="write answers as JSON lines (for publication)")
    export.add_argument("store", help="an existing response store to read")
    export.add_argument("jsonl", help="the JSON Lines file to write (one answer with its request a line)")
    export.add_argument("--backend", help="only answers of this backend (e.g. openai, local, replay)")
    export.add_argument("--model", help="only answers of this model id")
    load = commands.add_parser("import", help="add the answers of an exported JSONL file")
    load.add_argument("store", help="the response store to add to (created if it does not exist)")
    load.add_argument("jsonl", help="a JSON Lines file written by `export` (or an earlier version's .sqlite store)")
    compact = commands.add_parser("compact", help="merge a store's shards into one (when no job is writing to it)")
    compact.add_argument("store", help="an existing response store")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (StoreError, OSError) as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command != "import" and not Path(args.store).exists():
        # opening a store creates it: reading one that does not exist must not leave an empty one behind
        raise StoreError(f"{args.store}: no response store there (a study's store is the folder <llm.store_dir>/<study>)")
    with ResponseStore(args.store) as store:
        if args.command == "stats":
            counts = Counter((r.request.backend, r.request.model) for r in store.iter_responses())
            for (backend, model), count in sorted(counts.items()):
                print(f"{backend}\t{model}\t{count}")
            print(f"failures\t{len(store.failures())}")
        elif args.command == "export":
            print(store.export_jsonl(args.jsonl, backend=args.backend, model=args.model), "answers written")
        elif args.command == "compact":
            print(store.compact(), "shards merged into one")
        else:
            print(store.import_jsonl(args.jsonl), "new answers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
