"""``mlotel profile``: build a reference profile from a training data file."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Sequence

import numpy as np

from mlotel.cli._readers import DEFAULT_CHUNK_ROWS, Progress, ReaderError, open_table
from mlotel.data import UnreadableInput
from mlotel.drift.profile import ReferenceBuilder, ReferenceProfile

__all__ = ["add_chunk_options", "add_parser", "comma_list", "profile_file", "progress_enabled"]


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
    parser.add_argument("input", help="training data: .csv, .tsv (optionally compressed), .parquet or .npy")
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
    add_chunk_options(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        profile = profile_file(
            args.input,
            features=args.features,
            categorical=args.categorical,
            target=args.target,
            chunk_rows=args.chunk_rows,
            progress=progress_enabled(args),
        )
        profile.save(args.output)
    except (ReaderError, UnreadableInput, ValueError, OSError) as exc:
        print(f"mlotel profile: error: {exc}", file=sys.stderr)
        return 2
    kinds = [f.kind for f in profile.features.values()]
    target = "" if profile.target is None else f", target {profile.target.name!r}"
    print(
        f"wrote {args.output}: {profile.n_rows:,} rows, {kinds.count('numeric')} numeric and "
        f"{kinds.count('categorical')} categorical feature(s){target}",
        file=sys.stderr,
    )
    return 0


def profile_file(
    path: str,
    *,
    features: Sequence[str] | None = None,
    categorical: Collection[str] = (),
    target: str | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = False,
) -> ReferenceProfile:
    """Profile a data file chunk by chunk (the one code path of ``profile`` and ``drift``).

    For named files (CSV, Parquet, structured ``.npy``) ``features`` selects columns and
    ``target`` is read alongside; for a plain 2-D ``.npy`` array ``features`` names all its
    columns (default ``f0, f1, ...``) and ``target`` must be one of those names.
    Raises :class:`ReaderError`, :class:`mlotel.data.UnreadableInput` or :class:`ValueError`.
    """
    columns = None
    if features is not None:
        columns = [*features, target] if target is not None and target not in features else list(features)
    table = open_table(path, columns=columns, categorical=categorical, chunk_rows=chunk_rows)
    builder: ReferenceBuilder | _PositionalBuilder
    if table.positional:
        # --features names every column of the array; the target is one of them.
        inner = ReferenceBuilder(categorical=categorical, target=target)
        builder = _PositionalBuilder(inner, features)
    else:
        named = None if features is None else [f for f in features if f != target]
        builder = ReferenceBuilder(features=named, categorical=categorical, target=target)
    bar = Progress(table.total, table.unit, f"profiling {path}", enabled=progress)
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
