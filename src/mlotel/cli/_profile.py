"""``mlotel profile``: build a reference profile from a training data file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Mapping, Sequence

import numpy as np

from mlotel._buckets import MAX_BUCKETS, MIN_BUCKETS, OTHER_FEATURES, parse_buckets
from mlotel.cli._engines import add_engine_options, dataset_files, engine_profile, is_dataset
from mlotel.cli._readers import DEFAULT_CHUNK_ROWS, Progress, ReaderError, open_table
from mlotel.data import UnreadableInput
from mlotel.drift.multivariate import MultivariateModel
from mlotel.drift.profile import DEFAULT_MAX_SIZE, ReferenceBuilder, ReferenceProfile

__all__ = ["add_chunk_options", "add_parser", "bucket_spec", "comma_list", "profile_file", "progress_enabled"]


def comma_list(text: str) -> list[str]:
    """``"a,b, c"`` -> ``["a", "b", "c"]`` (empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def add_chunk_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--progress",
        action="store_true",
        help="show progress on stderr even when it is not a terminal",
    )
    # Hidden: rows per chunk (tests force small chunks to exercise chunking).
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, help=argparse.SUPPRESS)


def progress_enabled(args: argparse.Namespace) -> bool:
    if getattr(args, "quiet", False):
        return False
    return bool(args.progress) or sys.stderr.isatty()


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="build a reference profile (for drift detection) from a training data file",
        description=(
            "Profile a CSV/TSV, Parquet or .npy file, chunk by chunk in constant memory, into a "
            "reference profile JSON file for drift detection (see docs/drift.md)."
        ),
    )
    parser.add_argument(
        "input",
        help="training data: .csv, .tsv (optionally compressed), .parquet or .npy; or a directory "
        "or glob of Parquet files (a dataset)",
    )
    parser.add_argument("-o", "--output", required=True, help="where to write the profile (JSON)")
    parser.add_argument(
        "--features",
        type=comma_list,
        help="comma-separated feature columns to profile (default: all); for .npy, the column names",
    )
    parser.add_argument(
        "--categorical", type=comma_list, default=[], help="comma-separated columns to treat as categorical"
    )
    parser.add_argument("--target", help="the target (label) column, profiled as the target")
    parser.add_argument(
        "--max-buckets",
        type=bucket_spec,
        action="append",
        default=[],
        metavar="N|COLUMN=N",
        help=(
            f"histogram buckets per sign: N for every numeric column (default {DEFAULT_MAX_SIZE}), "
            "COLUMN=N for one; repeat or comma-separate, e.g. --max-buckets 1024,income=8192 "
            f"(each in [{MIN_BUCKETS}, {MAX_BUCKETS}]; see docs/accuracy.md)"
        ),
    )
    parser.add_argument(
        "--multivariate",
        action="store_true",
        help="also fit the multivariate (PCA reconstruction) drift model of the numeric features",
    )
    parser.add_argument(
        "--variance",
        type=float,
        default=0.95,
        help="with --multivariate: share of the variance the kept components explain (default 0.95)",
    )
    lineage = parser.add_argument_group(
        "lineage",
        "where the rows came from: served predictions feed a feedback loop (docs/drift.md, Feedback loops)",
    )
    lineage.add_argument(
        "--source",
        choices=("training", "served", "mixed"),
        help="declare the rows' source; 'served' (predictions a model served) needs --model",
    )
    lineage.add_argument("--model", help="the model (ml.model.name) that served the rows")
    lineage.add_argument("--version", help="its version (ml.model.version)")
    lineage.add_argument(
        "--prediction-id",
        metavar="COLUMN",
        help="column holding each row's prediction id (empty: not served); not profiled",
    )
    lineage.add_argument(
        "--served-by",
        action="append",
        metavar="PATH",
        help="payload logs (mlotel data directory or OTLP JSON files) naming the model and version "
        "that served each prediction id (repeatable; with --prediction-id)",
    )
    add_chunk_options(parser)
    add_engine_options(parser)
    parser.set_defaults(handler=run)


def lineage_options(args: argparse.Namespace) -> dict[str, object] | None:
    """The builder's ``lineage`` option from ``--source/--model/--version/--prediction-id/
    --served-by`` (checked now: a bad combination is an error before any data is read)."""
    from mlotel.drift.lineage import LineageCounter

    counter = LineageCounter.from_options(
        source=args.source,
        model=args.model,
        version=args.version,
        prediction_id=args.prediction_id,
        served_by=args.served_by,
    )
    return None if counter is None else counter.options()


def bucket_spec(text: str) -> dict[str, int]:
    """``"1024,income=8192"`` -> ``{"*": 1024, "income": 8192}`` (checked by :func:`parse_buckets`)."""
    out: dict[str, int] = {}
    for item in comma_list(text):
        name, sep, count = item.rpartition("=")
        name = name.strip() if sep else OTHER_FEATURES
        try:
            out[name] = int(count)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{item!r}: expected N or COLUMN=N with N an integer") from None
        if not name:
            raise argparse.ArgumentTypeError(f"{item!r}: empty column name")
    try:
        parse_buckets(out, "--max-buckets", DEFAULT_MAX_SIZE)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return out


def _buckets_option(specs: Sequence[dict[str, int]]) -> int | dict[str, int]:
    """The ``max_size`` of repeated ``--max-buckets`` options (later ones win)."""
    merged = {k: v for spec in specs for k, v in spec.items()}
    if set(merged) <= {OTHER_FEATURES}:
        return merged.get(OTHER_FEATURES, DEFAULT_MAX_SIZE)
    return merged


def run(args: argparse.Namespace) -> int:
    try:
        lineage = lineage_options(args)
        if args.engine == "local":
            profile = profile_file(
                args.input,
                features=args.features,
                categorical=args.categorical,
                target=args.target,
                chunk_rows=args.chunk_rows,
                progress=progress_enabled(args),
                max_size=_buckets_option(args.max_buckets),
                lineage=lineage,
                **_multivariate_options(args),
            )
        else:
            profile = engine_profile(
                args.engine,
                args.input,
                features=args.features,
                categorical=args.categorical,
                target=args.target,
                scheduler=args.scheduler,
                master=args.master,
                progress=progress_enabled(args),
                quiet=args.quiet,
                max_size=_buckets_option(args.max_buckets),
                lineage=lineage,
                **_multivariate_options(args),
            )
        profile.save(args.output)
    except (ReaderError, UnreadableInput, ValueError, OSError) as exc:
        print(f"mlotel profile: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the engine's own errors (a failed task): nothing is written
        if args.engine == "local":
            raise
        print(f"mlotel profile: error: {args.engine} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    kinds = [f.kind for f in profile.features.values()]
    target = "" if profile.target is None else f", target {profile.target.name!r}"
    print(
        f"wrote {args.output}: {profile.n_rows:,} rows, {kinds.count('numeric')} numeric and "
        f"{kinds.count('categorical')} categorical feature(s){target}",
        file=sys.stderr,
    )
    if profile.lineage is not None:
        print(f"lineage: {profile.lineage.describe()}", file=sys.stderr)
    return 0


def _multivariate_options(args: argparse.Namespace) -> dict[str, object]:
    return {"multivariate": True, "variance": args.variance} if args.multivariate else {}


def profile_file(
    path: str,
    *,
    features: Sequence[str] | None = None,
    categorical: Collection[str] = (),
    target: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = False,
    max_size: int | Mapping[str, int] = DEFAULT_MAX_SIZE,
    multivariate: bool = False,
    variance: float = 0.95,
    reconstruction: MultivariateModel | None = None,
    lineage: Mapping[str, object] | None = None,
) -> ReferenceProfile:
    """Profile a data file chunk by chunk (the one code path of ``profile`` and ``drift``).

    For named files (CSV, Parquet, structured ``.npy``) ``features`` selects columns and
    ``target`` is read alongside; for a plain 2-D ``.npy`` array ``features`` names all its
    columns (default ``f0, f1, ...``) and ``target`` must be one of those names.
    ``max_size``: histogram buckets per sign, an int or ``{column: buckets}`` (``"*"``: the rest).
    ``multivariate``/``variance``/``reconstruction``/``lineage``: as for :class:`ReferenceBuilder`
    (a lineage ``prediction_id`` column is read as text, besides ``features``).
    Raises :class:`ReaderError`, :class:`mlotel.data.UnreadableInput` or :class:`ValueError`.
    """
    columns = None
    if features is not None:
        columns = [*features, target] if target is not None and target not in features else list(features)
    id_column = None if not lineage else lineage.get("prediction_id")
    if columns is not None and id_column is not None and id_column not in columns:
        columns.append(id_column)
    # A directory or glob is a Parquet dataset: its files feed one builder, in name order.
    paths = dataset_files(path) if is_dataset(path) else [path]
    extra: dict[str, object] = {"reconstruction": reconstruction, "lineage": lineage}
    if multivariate:
        extra.update(multivariate=True, variance=variance)
    builder: ReferenceBuilder | _PositionalBuilder | None = None
    for file in paths:
        # The id column is read as text: "007" stays "007".
        as_text = [*categorical, id_column] if id_column is not None else categorical
        table = open_table(file, columns=columns, categorical=as_text, chunk_rows=chunk_rows)
        if builder is None and table.positional:
            # --features names every column of the array; the target is one of them.
            inner = ReferenceBuilder(categorical=categorical, target=target, max_size=max_size, **extra)
            builder = _PositionalBuilder(inner, features)
        elif builder is None:
            named = None if features is None else [f for f in features if f != target]
            builder = ReferenceBuilder(
                features=named, categorical=categorical, target=target, max_size=max_size, **extra
            )
        bar = Progress(table.total, table.unit, f"profiling {file}", enabled=progress)
        try:
            for chunk in table:
                builder.update(chunk.data)
                bar.update(chunk.position)
        finally:
            bar.close()
    return builder.build()


class _PositionalBuilder:
    """Feeds unnamed array chunks to a builder as ``{name: column}`` dicts, so that column
    names (from ``--features``, else ``f0, f1, ...``) and the target column work as for
    named files."""

    def __init__(self, builder: ReferenceBuilder, names: Sequence[str] | None) -> None:
        self._builder = builder
        self._names = None if names is None else list(names)

    def update(self, data: object) -> None:
        array = np.asarray(data)
        width = array.shape[1]
        names = self._names if self._names is not None else [f"f{i}" for i in range(width)]
        if len(names) != width:
            raise ValueError(f"{len(names)} names given for an array with {width} columns")
        self._builder.update({name: array[:, i] for i, name in enumerate(names)})

    def build(self) -> ReferenceProfile:
        return self._builder.build()
