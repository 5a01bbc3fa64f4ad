"""The ``mlotel`` command line. Subcommands live in their own modules and register here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlotel.cli import _demo, _drift, _profile, _report, _sensitivity
from mlotel.version import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlotel",
        description="OpenTelemetry for machine-learning models: tools around the mlotel library.",
    )
    parser.add_argument("--version", action="version", version=f"mlotel {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    _profile.add_parser(subparsers)
    _drift.add_parser(subparsers)
    _report.add_parser(subparsers)
    _sensitivity.add_parser(subparsers)
    _demo.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mlotel`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 0
    return int(args.handler(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
