"""``mlotel report``: one self-contained HTML report from OTLP/JSON telemetry files."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write an offline HTML report (latency, errors, distributions, drift) from telemetry files",
        description=(
            "Read OTLP/JSON telemetry (an mlotel data directory, or .jsonl files such as a Collector "
            "file exporter's) and write one self-contained HTML report. Needs plotly: "
            "pip install 'mlotel[report]'."
        ),
    )
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="data directory or OTLP/JSON lines file(s) (none: a report of --sensitivity alone)",
    )
    parser.add_argument(
        "-o", "--output", default="report.html", help="HTML file to write (default: report.html)"
    )
    parser.add_argument(
        "--reference", help="reference profile JSON (from `mlotel profile` or ReferenceProfile.save)"
    )
    parser.add_argument(
        "--sensitivity",
        help="sensitivity report JSON (from `mlotel sensitivity -o`): adds a Sensitivity section",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the report's path (stdout) and its headline numbers (stderr); 1 on a usage error."""
    if not args.paths and args.sensitivity is None:
        print("mlotel report: give a telemetry PATH, or --sensitivity FILE", file=sys.stderr)
        return 1
    try:
        from mlotel.report import build_report

        summary = build_report(
            args.paths, args.output, reference=args.reference, sensitivity=args.sensitivity
        )
    except ImportError as exc:
        print(f"mlotel report: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"mlotel report: {exc}", file=sys.stderr)
        return 1
    print(summary.path)
    print(summary.format(), file=sys.stderr)
    return 0
