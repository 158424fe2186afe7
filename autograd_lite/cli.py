"""The ``autograd-lite`` command line (also ``python -m autograd_lite``).

Each subcommand lives in ``autograd_lite/commands/<name>.py`` and exposes
``add_parser(subparsers)``, which registers its options and sets ``func`` to a
function taking the parsed arguments and returning an exit status. A subcommand may
also set ``unrecognized``: ``(args, extras) -> extras`` claims arguments argparse could
not place (``graph``'s expression ``-x.sum()`` looks like an unknown option).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = ("train", "eval", "graph")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every available subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="autograd-lite",
        description="Train and inspect models built on the autograd_lite engine.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"autograd_lite.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"autograd_lite.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit status."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    claim = getattr(args, "unrecognized", None)
    if claim is not None:
        extras = claim(args, extras)
    if extras:
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
