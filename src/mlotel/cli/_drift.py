"""``mlotel drift``: compare a data file with a reference profile; gate CI on the result.

Exit status: 0 when no result reaches ``--fail-on`` (or without it), 1 when one does, 2 for
usage errors and unreadable inputs. The current file is profiled with the same chunked
reader as ``mlotel profile`` and compared with :func:`mlotel.drift.compare_features`, the
comparison the online monitor uses.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from mlotel.cli._engines import add_engine_options, engine_profile
from mlotel.cli._profile import add_chunk_options, comma_list, profile_file, progress_enabled
from mlotel.cli._readers import ReaderError
from mlotel.data import UnreadableInput
from mlotel.drift.compare import DriftReport
from mlotel.drift.fleet import FleetData, fleet_sketches, is_telemetry, telemetry_files
from mlotel.drift.lineage import feedback_report
from mlotel.drift.multivariate import METHOD as RECONSTRUCTION
from mlotel.drift.multivariate import MultivariateModel
from mlotel.drift.profile import ReferenceProfile, ReferenceProfileError, reference_sizes
from mlotel.drift.thresholds import CHI2, HELLINGER, JS, KS, PSI, WASSERSTEIN, DriftResult, Thresholds

__all__ = ["add_parser", "bonferroni", "format_table"]

EXIT_DRIFT = 1
EXIT_ERROR = 2

# Table columns: (header, method); tests show their p-value.
_COLUMNS = (
    (PSI, PSI),
    (JS, JS),
    (HELLINGER, HELLINGER),
    ("wasserstein", WASSERSTEIN),
    ("ks p", KS),
    ("chi2 p", CHI2),
)
_MARK = {"alert": "!", "warn": "~", "ok": "", "insufficient": "?"}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "drift",
        help="compare a data file with a reference profile; exit 1 on drift with --fail-on",
        description=(
            "Profile CURRENT (CSV/TSV, Parquet, .npy, or a saved profile .json) and compare every "
            "feature with the REFERENCE profile. Exit status: 0 no drift at the --fail-on level, "
            "1 drift, 2 error."
        ),
    )
    parser.add_argument("reference", help="reference profile written by 'mlotel profile' (JSON)")
    parser.add_argument(
        "current",
        help="current data: .csv, .tsv, .parquet, .npy, a Parquet directory or glob, a profile .json, "
        "or exported telemetry (.jsonl files or a directory of them: fleet drift)",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    parser.add_argument(
        "--fail-on",
        choices=("alert", "warn"),
        help="exit with status 1 when any result is at this level or worse (warn includes alert)",
    )
    parser.add_argument(
        "--features",
        type=comma_list,
        help="for a .npy current file: comma-separated names of its columns (default f0, f1, ...)",
    )
    parser.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a threshold for every feature, e.g. psi_alert=0.3 or min_samples=500 (repeatable)",
    )
    parser.add_argument(
        "--p-adjust",
        choices=("bonferroni", "none"),
        default="bonferroni",
        help=(
            "correction of the ks/chi2 p-value levels for testing many features at once: "
            "'bonferroni' (default) divides them by the number of features compared, so that "
            "data without drift fails the run about 5%% of the time whatever the feature count"
        ),
    )
    add_chunk_options(parser)
    add_engine_options(parser)
    fleet = parser.add_argument_group(
        "fleet drift", "when CURRENT is exported telemetry (OTLP JSON files or directories of them)"
    )
    fleet.add_argument(
        "--model",
        help="the model (ml.model.name) to compare; needed when the files hold several. Also the model "
        "checked against the profiles' lineage: a warning when it served their rows itself (feedback loop)",
    )
    fleet.add_argument("--version", help="only this model version (default: every version of the model)")
    fleet.add_argument(
        "--since",
        type=parse_time,
        metavar="TIME",
        help="only telemetry exported after TIME: ISO 8601 (2026-05-01T12:00Z) or an age (90m, 6h, 2d)",
    )
    fleet.add_argument("--until", type=parse_time, metavar="TIME", help="only telemetry exported until TIME")
    parser.set_defaults(handler=run)


def parse_time(text: str) -> int:
    """An ISO 8601 time (UTC when no zone) or an age such as ``90m``/``6h``/``2d`` before now,
    as Unix nanoseconds."""
    text = text.strip()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if text[-1:] in units and text[:-1].replace(".", "", 1).isdigit():
        return time.time_ns() - int(float(text[:-1]) * units[text[-1]] * 1e9)
    try:
        when = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time or an age like 6h: {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return int(when.timestamp() * 1e9)


def _profile_current(args: argparse.Namespace, reference: ReferenceProfile) -> ReferenceProfile:
    """Profile the current file the way the reference was: same categorical columns, same target."""
    categorical = [f.name for f in reference.columns().values() if f.kind == "categorical"]
    target = reference.target.name if reference.target is not None else None
    sizes = reference_sizes(reference)  # each feature at its reference histogram size
    model = reference.multivariate if isinstance(reference.multivariate, MultivariateModel) else None
    try:
        return profile_file(
            args.current,
            features=args.features,
            categorical=categorical,
            target=target,
            chunk_rows=args.chunk_rows,
            progress=progress_enabled(args),
            max_size=sizes,
            reconstruction=model,
        )
    except ValueError as exc:
        if target is None or "is not in the data" not in str(exc):
            raise
    # Serving data usually has no labels: compare the features only.
    return profile_file(
        args.current,
        features=args.features,
        categorical=categorical,
        chunk_rows=args.chunk_rows,
        progress=progress_enabled(args),
        max_size=sizes,
        reconstruction=model,
    )


def _current(args: argparse.Namespace, reference: ReferenceProfile) -> ReferenceProfile | dict[str, Any]:
    """The current side: a saved profile, exported telemetry (fleet drift), or data."""
    if args.current.lower().endswith(".json"):
        return ReferenceProfile.load(args.current)
    if is_telemetry(args.current):
        fleet = fleet_sketches(
            telemetry_files(args.current),
            # Served predictions go with the reference's own predictions when it has them,
            # else with its target.
            target=None
            if reference.target is None or reference.prediction is not None
            else reference.target.name,
            model=args.model,
            version=args.version,
            since_ns=args.since,
            until_ns=args.until,
        )
        if not args.quiet:
            print(_fleet_line(fleet), file=sys.stderr)
        args.fleet_model = fleet.model  # the model compared, for the lineage check
        model = reference.multivariate
        return fleet.current(model.fingerprint if isinstance(model, MultivariateModel) else None)
    if args.engine != "local":
        return engine_profile(
            args.engine,
            args.current,
            features=args.features,
            categorical=(),
            target=None,
            reference=reference,
            scheduler=args.scheduler,
            master=args.master,
            progress=progress_enabled(args),
            quiet=args.quiet,
        )
    return _profile_current(args, reference)


def _fleet_line(fleet: FleetData) -> str:
    def when(ns: int | None) -> str:
        if ns is None:
            return "?"
        return datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    versions = ", ".join(fleet.versions) or "-"
    return (
        f"fleet: model {fleet.model!r} (version {versions}), {fleet.replicas} replica(s), "
        f"{fleet.streams} stream(s), {when(fleet.first_ns)} to {when(fleet.last_ns)}"
    )


def run(args: argparse.Namespace) -> int:
    try:
        thresholds = _thresholds(args.threshold)
        reference = ReferenceProfile.load(args.reference)
        current = _current(args, reference)
    except (ReferenceProfileError, ReaderError, UnreadableInput, ValueError, OSError) as exc:
        print(f"mlotel drift: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # the engine's own errors (a failed task)
        if args.engine == "local":
            raise
        print(f"mlotel drift: error: {args.engine} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    names = current.columns().keys() if isinstance(current, ReferenceProfile) else current.keys()
    n_compared = len(reference.columns().keys() & names)
    if args.p_adjust == "bonferroni" and n_compared > 1:
        thresholds = bonferroni(thresholds or Thresholds(), n_compared)
    else:
        n_compared = 1
    report = reference.compare(current, thresholds)
    # Served predictions on either side (docs/drift.md, Feedback loops): None without lineage.
    feedback = feedback_report(
        reference.lineage,
        current.lineage if isinstance(current, ReferenceProfile) else None,
        args.model or getattr(args, "fleet_model", None),
    )
    try:
        if args.format == "json":
            d = report.to_dict()
            d["p_adjust"] = {"method": "bonferroni" if n_compared > 1 else "none", "divisor": n_compared}
            if feedback is not None:
                d["lineage"] = feedback.to_dict()
            json.dump(d, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            format_table(report, sys.stdout)
            if n_compared > 1:
                sys.stdout.write(
                    f"(ks/chi2 p-value levels divided by {n_compared}, the features compared: Bonferroni)\n"
                )
            if feedback is not None:
                sys.stdout.write("".join(f"{line}\n" for line in feedback.lines))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: the verdict (exit status) still stands
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if args.fail_on is not None and report.exceeds(args.fail_on):
        return EXIT_DRIFT
    return 0


def bonferroni(thresholds: Thresholds, n: int) -> Thresholds:
    """``thresholds`` with the ``ks`` and ``chi2`` p-value levels divided by ``n``."""
    overrides: dict[str, object] = {}
    for method in (KS, CHI2):
        warn, alert = thresholds.levels(method)
        overrides[f"{method}_p_alert"] = alert / n
        if warn is not None:
            overrides[f"{method}_p_warn"] = warn / n
    return thresholds.with_overrides(overrides)


def _thresholds(pairs: list[str]) -> Thresholds | None:
    if not pairs:
        return None
    overrides: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            raise ValueError(f"--threshold {pair!r}: expected NAME=VALUE")
        name = name.strip()
        text = text.strip()
        if text.lower() == "none":
            value: object = None
        elif name.startswith("min_samples"):
            value = int(text)
        else:
            value = float(text)
        overrides[name] = value
    return Thresholds().with_overrides(overrides)


def format_table(report: DriftReport, out: TextIO) -> None:
    """Write one row per feature, most severe first (alert > warn > ok > insufficient).

    A value marked ``!`` is at the alert level, ``~`` at the warn level, ``?`` has no verdict
    (too few samples, or undefined); ``-`` marks a method that does not apply.
    """
    by_feature: dict[str, dict[str, DriftResult]] = {}
    for r in report.results:
        by_feature.setdefault(r.feature, {})[r.method] = r
    verdicts = report.feature_verdicts()
    columns = _COLUMNS
    if any(r.method == RECONSTRUCTION for r in report.results):
        # The multivariate row (current / reference mean reconstruction error).
        columns = (*_COLUMNS, ("reconstruction", RECONSTRUCTION))
    header = ["feature", "verdict", "n_ref", "n_cur", *(h for h, _ in columns)]
    rows = []
    for name, verdict in verdicts.items():
        results = by_feature[name]
        first = next(iter(results.values()))
        cells = [name, verdict, str(first.n_reference), str(first.n_current)]
        cells += [_cell(results.get(method)) for _, method in columns]
        rows.append(cells)
    if rows:
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")
    else:
        out.write("no feature of the reference was found in the current data\n")
    if report.missing_features or report.new_features or report.mismatched_features:
        out.write("\n")
    _write_list(out, "missing (in the reference, not in the current data)", report.missing_features)
    _write_list(out, "new (not in the reference)", report.new_features)
    _write_list(out, "kind mismatch (numeric vs categorical)", report.mismatched_features)
    counts = _count(verdicts)
    summary = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    out.write(f"\n{len(verdicts)} feature(s) compared: {summary or 'none'}; overall: {report.verdict}\n")
    if any(v == "insufficient" for v in verdicts.values()) or any(
        r.verdict == "insufficient" for r in report.results
    ):
        out.write("(? = no verdict: too few values on a side, or undefined; see docs/drift.md)\n")


def _cell(result: DriftResult | None) -> str:
    if result is None:
        return "-"
    value = result.p_value if result.method in (KS, CHI2) else result.value
    return _number(value) + _MARK[result.verdict]


def _number(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value != 0 and abs(value) < 1e-4:
        return f"{value:.1e}"
    return f"{value:.4f}"


def _write_list(out: TextIO, label: str, names: tuple[str, ...]) -> None:
    if names:
        out.write(f"{label}: {', '.join(names)}\n")


def _count(verdicts: Mapping[str, str]) -> dict[str, int]:
    order = ("alert", "warn", "ok", "insufficient")
    return {v: sum(1 for x in verdicts.values() if x == v) for v in order}
