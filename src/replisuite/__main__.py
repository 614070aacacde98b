"""The project's commands: ``python -m replisuite <command> [its arguments]``.

Each command is also a module of its own (``python -m replisuite.llm stats data/llm/stigma`` is
``python -m replisuite store stats data/llm/stigma``); ``python -m replisuite <command> --help``
shows its arguments.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command -> (module whose main(argv) runs it, what it is for)
COMMANDS: dict[str, tuple[str, str]] = {
    "store": ("replisuite.llm.__main__", "inspect and move response stores: stats, export, import, compact"),
    "scorecard": ("replisuite.scorecard", "rewrite or check the README's scorecard block"),
    "reproduction": ("replisuite.reproduction", "record results/ as the reference, compare a run with it, show verdicts"),
    "configdoc": ("replisuite.configdoc", "write (or --check) docs/configuration.md from the config schema"),
    "docblocks": ("replisuite.docblocks", "write (or --check) the docs' tables of measured results from the recorded run"),
    "scaling": ("replisuite.scaling", "the paper-scale plan: a run's requests, tokens and job time extrapolated (docs/scaling.md)"),
    "warmup": ("replisuite.warmup", "convert the embedded model and compile numba's kernels once (make install runs it)"),
    "smoke": ("replisuite.smoke", "every study end to end on tiny inputs in a scratch copy (make smoke)"),
    "fake-server": ("replisuite.llm.fake_server",
                    "a local OpenAI-compatible server that echoes: try the served path without a GPU or a key"),
}


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m replisuite``, listing every command in its epilog."""
    listing = "\n".join(f"  {name:<13} {about}" for name, (_, about) in COMMANDS.items())
    built = argparse.ArgumentParser(prog="python -m replisuite", description=__doc__.split("\n\n")[0],
                                    epilog=f"commands:\n{listing}", formatter_class=argparse.RawDescriptionHelpFormatter)
    built.add_argument("command", choices=sorted(COMMANDS), metavar="command", help="one of the commands below")
    built.add_argument("arguments", nargs=argparse.REMAINDER, help="the command's own arguments")
    return built


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command with its own arguments; its exit status is ours."""
    args = parser().parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    return module.main(args.arguments) or 0


if __name__ == "__main__":
    sys.exit(main())
