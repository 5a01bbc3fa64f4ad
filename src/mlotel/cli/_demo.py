"""``mlotel demo``: a monitored model under simulated traffic with drift, then a report (docs/demo.md)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser", "run"]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _threads(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be between 1 and 64, got {value}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="serve a scikit-learn model under simulated traffic with drift, then report",
        description=(
            "Train a classifier on scikit-learn's breast cancer data, profile it as the drift reference, "
            "serve it through @mlotel.monitor from a few threads with realistic latency, a few malformed "
            "requests and drift injected halfway, then write an HTML report and print a summary. "
            "Telemetry goes to local OTLP JSON files unless OTEL_EXPORTER_OTLP_ENDPOINT (or another "
            "OTEL_* exporter setting) is set. Needs scikit-learn; the report needs plotly."
        ),
    )
    parser.add_argument(
        "--duration", type=_positive, default=30.0, help="seconds of simulated traffic (default: 30)"
    )
    parser.add_argument(
        "--data-dir",
        help="folder for the telemetry files, reference and report (default: $MLOTEL_DATA_DIR or ./mlotel-data)",
    )
    parser.add_argument("--threads", type=_threads, default=4, help="client threads (default: 4)")
    parser.add_argument(
        "--rate", type=_positive, default=150.0, help="requests per second over all threads (default: 150)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; 1 when scikit-learn is missing, the configuration is invalid or a file cannot be written."""
    try:
        from mlotel.demo import run_demo

        run_demo(
            duration=args.duration,
            data_dir=args.data_dir,
            threads=args.threads,
            rate=args.rate,
            seed=args.seed,
        )
    except ImportError as exc:
        print(f"mlotel demo: {exc} (the demo needs scikit-learn: pip install scikit-learn)", file=sys.stderr)
        return 1
    except (OSError, TypeError, ValueError) as exc:
        print(f"mlotel demo: {exc}", file=sys.stderr)
        return 1
    return 0
