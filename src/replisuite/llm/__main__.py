"""Inspect and move response stores: ``python -m replisuite.llm {stats,export,import} ...``."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from replisuite.llm.store import ResponseStore, StoreError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m replisuite.llm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    stats = commands.add_parser("stats", help="answers per backend and model, and failures")
    stats.add_argument("store")
    export = commands.add_parser("export", help="write answers as JSON lines (for publication)")
    export.add_argument("store")
    export.add_argument("jsonl")
    export.add_argument("--backend")
    export.add_argument("--model")
    load = commands.add_parser("import", help="add the answers of an exported JSONL file")
    load.add_argument("store")
    load.add_argument("jsonl")
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
    with ResponseStore(args.store) as store:
        if args.command == "stats":
            counts = Counter((r.request.backend, r.request.model) for r in store.iter_responses())
            for (backend, model), count in sorted(counts.items()):
                print(f"{backend}\t{model}\t{count}")
            print(f"failures\t{len(store.failures())}")
        elif args.command == "export":
            print(store.export_jsonl(args.jsonl, backend=args.backend, model=args.model), "answers written")
        else:
            print(store.import_jsonl(args.jsonl), "new answers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
