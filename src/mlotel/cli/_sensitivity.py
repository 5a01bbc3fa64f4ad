"""``mlotel sensitivity``: how much a pickled model's predictions move per feature, offline."""

from __future__ import annotations

import argparse
import os
import pickle
import sys
from collections.abc import Iterator
from typing import Any

from mlotel.cli._profile import comma_list
from mlotel.cli._readers import DEFAULT_CHUNK_ROWS, ReaderError, open_table
from mlotel.data import UnreadableInput
from mlotel.sensitivity import analyze
from mlotel.sensitivity._model import RESPONSE_METHODS

__all__ = ["add_parser", "load_model", "run"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sensitivity",
        help="rank a model's features by how much its predictions move when each one varies",
        description=(
            "Perturb each feature of a model within its reference distribution (a seeded sample of "
            "DATA) and report how much the predictions move: mean and p95 |change|, the share of "
            "changed labels, partial dependence and how much each feature's effect depends on the "
            "others (see docs/sensitivity.md). Prints a table; -o writes the JSON report that "
            "`mlotel report --sensitivity` draws. MODEL is a pickle or joblib file: loading it runs "
            "code, so only load files you trust."
        ),
    )
    parser.add_argument(
        "model",
        metavar="MODEL",
        help="the model, pickled (pickle or joblib file; it must be TRUSTED: unpickling runs code); "
        "an object with predict_proba or predict, or a callable",
    )
    parser.add_argument(
        "data",
        metavar="DATA",
        help="reference data: .csv, .tsv (optionally compressed), .parquet or .npy (columns f0, f1, ... "
        "or the model's feature names)",
    )
    parser.add_argument("-o", "--output", help="also write the report as JSON to this file")
    parser.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="what to print on stdout (default: table)",
    )
    parser.add_argument(
        "--features", type=comma_list, help="comma-separated features to analyse (default: all)"
    )
    parser.add_argument(
        "--categorical", type=comma_list, default=[], help="comma-separated columns to treat as categorical"
    )
    parser.add_argument("--target", help="the target (label) column: dropped from the model's inputs")
    parser.add_argument(
        "--sample", type=int, default=1000, help="rows analysed, a seeded sample (default 1000)"
    )
    parser.add_argument("--grid", type=int, default=10, help="grid points per feature (default 10)")
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed of the sample and permutations (default 0)"
    )
    parser.add_argument(
        "--method",
        choices=RESPONSE_METHODS,
        default="auto",
        help="the model's response method (default auto: predict_proba, else predict, else the callable)",
    )
    parser.add_argument(
        "--prediction",
        metavar="NAME|INDEX",
        help="analyse one output only: a class label, or an output's column index "
        "(default: the positive class of a binary classifier, all outputs otherwise)",
    )
    parser.add_argument("--limit", type=int, help="print only the first N features of the table")
    # Hidden: rows per chunk (tests force small chunks to exercise chunked sampling).
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def load_model(path: str | os.PathLike[str]) -> Any:
    """Unpickle the model at ``path`` (joblib when installed, which also reads plain pickles).

    Loading a pickle runs code from the file: only load files you trust.
    Raises :class:`OSError` when the file cannot be read and :class:`ValueError` when it
    cannot be unpickled.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        import joblib
    except ImportError:
        joblib = None
    try:
        if joblib is not None:
            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except OSError:
        raise
    except Exception as exc:  # unpickling can fail in any way the file's content chooses
        raise ValueError(f"{path}: cannot load the model ({type(exc).__name__}: {exc})") from None


def _chunks(path: str, categorical: list[str], chunk_rows: int) -> Iterator[Any]:
    table = open_table(path, categorical=categorical, chunk_rows=chunk_rows)
    for chunk in table:
        yield chunk.data


def _prediction(text: str | None) -> str | int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    try:
        model = load_model(args.model)
        report = analyze(
            model,
            _chunks(args.data, args.categorical, args.chunk_rows),
            features=args.features,
            categorical=args.categorical,
            target=args.target,
            sample=args.sample,
            grid=args.grid,
            seed=args.seed,
            response_method=args.method,
            output=_prediction(args.prediction),
        )
        if args.output:
            report.save(args.output)
    except (ReaderError, UnreadableInput, ValueError, TypeError, OSError, ImportError) as exc:
        print(f"mlotel sensitivity: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        sys.stdout.write(report.to_json())
    else:
        print(report.table(limit=args.limit))
    if args.output:
        print(
            f"wrote {args.output}: {len(report.features)} feature(s), {report.n_sample:,} rows",
            file=sys.stderr,
        )
    return 0
