"""``--engine``: profile a Parquet dataset (a file, a directory or a glob) in this process, on
Dask or on Spark.

``local`` reads the files one after another with the chunked reader (constant memory);
``dask`` and ``spark`` read them with the engine's own Parquet reader and profile each
partition where it lives (see :mod:`mlotel.engines`). All three give the same profile.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import sys
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

from mlotel.cli._readers import ReaderError
from mlotel.drift.profile import DEFAULT_MAX_SIZE, ReferenceBuilder, ReferenceProfile, profile_current

__all__ = ["ENGINES", "add_engine_options", "dataset_files", "engine_profile", "is_dataset"]

ENGINES = ("local", "dask", "spark")
_PARQUET = (".parquet", ".pq")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="where to profile: this process (default), Dask or Spark (Parquet input)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="--engine dask: a running scheduler (e.g. tcp://10.0.0.5:8786); default: a LocalCluster here",
    )
    parser.add_argument(
        "--master",
        help="--engine spark: the master URL (e.g. local[4], spark://host:7077, yarn); "
        "SPARK_REMOTE (Spark Connect) wins when set; default: Spark's own",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def is_dataset(path: str) -> bool:
    """A directory or a glob pattern (rather than one data file)."""
    return os.path.isdir(path) or glob.has_magic(path)


def dataset_files(path: str) -> list[str]:
    """The Parquet files of a file, directory (recursively; Spark's ``_SUCCESS`` and hidden
    files skipped) or glob, sorted. Raises :class:`ReaderError` when there are none."""
    if os.path.isdir(path):
        found = [
            os.path.join(root, name)
            for root, dirs, names in os.walk(path)
            for name in names
            if name.lower().endswith(_PARQUET) and not name.startswith(("_", "."))
        ]
    elif glob.has_magic(path):
        found = [p for p in glob.glob(path, recursive=True) if os.path.isfile(p)]
    else:
        found = [path] if os.path.isfile(path) else []
    if not found:
        raise ReaderError(f"{path}: no Parquet files found")
    return sorted(found)


def engine_profile(
    engine: str,
    path: str,
    *,
    features: Sequence[str] | None,
    categorical: Collection[str],
    target: str | None,
    reference: ReferenceProfile | None = None,
    scheduler: str | None = None,
    master: str | None = None,
    progress: bool = False,
    quiet: bool = False,
    max_size: int | Mapping[str, int] = DEFAULT_MAX_SIZE,
    multivariate: bool = False,
    variance: float = 0.95,
    lineage: Mapping[str, object] | None = None,
) -> ReferenceProfile:
    """Profile the Parquet dataset at ``path`` on ``engine`` (``"dask"`` or ``"spark"``): as a
    reference, or, given ``reference``, as current data the way it was profiled."""
    from mlotel.engines import require

    require(engine)
    files = dataset_files(path)
    opener = _dask_frame if engine == "dask" else _spark_frame
    with opener(files, scheduler=scheduler, master=master, quiet=quiet) as frame:
        # The files' own columns, as the local reader sees them: not hive partition columns
        # (year=2026/) that an engine adds from directory names.
        frame = frame[_file_columns(files[0], frame.columns)]
        if reference is not None:
            return profile_current(frame, reference, features=features)
        from mlotel.engines import profile_frame

        named = None if features is None else [f for f in features if f != target]
        extra: dict[str, object] = {"multivariate": True, "variance": variance} if multivariate else {}
        if lineage:
            extra["lineage"] = lineage
        options = ReferenceBuilder(
            features=named, categorical=categorical, target=target, max_size=max_size, **extra
        ).options()
        return profile_frame(frame, ReferenceBuilder, options, progress=progress and not quiet)


def _file_columns(file: str, available: Any) -> list[str]:
    import pyarrow.parquet as pq

    names = set(pq.read_schema(file).names)
    return [str(c) for c in available if str(c) in names]


@contextlib.contextmanager
def _dask_frame(files: list[str], *, scheduler: str | None, quiet: bool, **_: Any) -> Iterator[Any]:
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler)
        cluster = None
    else:
        cluster = LocalCluster(processes=True, threads_per_worker=1, dashboard_address=None)
        client = Client(cluster)
    try:
        yield dd.read_parquet(files)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextlib.contextmanager
def _spark_frame(files: list[str], *, master: str | None, quiet: bool, **_: Any) -> Iterator[Any]:
    from mlotel.engines import _spark

    spark = _spark.session(master, quiet=quiet)
    if not quiet:
        print(f"spark: {spark.version}, master {_master(spark)}", file=sys.stderr)
    yield spark.read.parquet(*files)


def _master(spark: Any) -> str:
    try:
        return spark.sparkContext.master
    except Exception:  # Spark Connect
        return os.environ.get("SPARK_REMOTE", "remote")
