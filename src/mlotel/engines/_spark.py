"""Reference profiles of a ``pyspark.sql.DataFrame``: one partial profile per partition,
computed on the executors with ``mapInArrow``, merged by a tree reduce."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Mapping
from typing import Any

from mlotel.engines import _partition
from mlotel.engines._partition import PartialBuilder

__all__ = ["is_spark_frame", "partial_profile", "readable_columns", "session"]

# Spark types whose values are not one scalar per row: not profiled, reported (as read_input
# drops nested values in the local path).
_NESTED = ("ArrayType", "MapType", "StructType", "VariantType")


def is_spark_frame(data: Any) -> bool:
    cls = type(data)
    return cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql")


def readable_columns(df: Any) -> tuple[list[str], list[str]]:
    """``(profiled, skipped)`` column names: nested types are skipped."""
    profiled, skipped = [], []
    for field in df.schema.fields:
        (skipped if type(field.dataType).__name__ in _NESTED else profiled).append(field.name)
    return profiled, skipped


def partial_profile(
    df: Any, builder_type: type[PartialBuilder], options: Mapping[str, Any]
) -> PartialBuilder:
    """Profile every row of ``df`` on the executors; the merged builder on the driver.

    A failed task fails the Spark job, and its exception propagates from here: no profile
    is returned for part of the data.
    """
    body = functools.partial(
        _partition.profile_arrow_batches, builder_type=builder_type, options=dict(options)
    )
    partials = df.mapInArrow(body, "partial binary")
    rdd = _rdd(partials)
    if rdd is None:
        builder = builder_type(**options)  # Spark Connect: no RDDs; merge as rows arrive
        for row in partials.toLocalIterator():
            builder.merge(builder_type.from_bytes(bytes(row[0])))
    elif rdd.getNumPartitions() == 0:
        builder = builder_type(**options)
    else:
        # Executors merge pairs of partials; the driver receives a few, not one per partition.
        merged = rdd.map(lambda row: bytes(row[0])).treeReduce(
            functools.partial(_partition.merge_partials, builder_type), depth=2
        )
        builder = builder_type.from_bytes(merged)
    if builder.n_rows == 0:
        # No partition held a row: the columns and their kinds come from the schema, with
        # zero counts, as the one-process profile of an empty frame has them.
        with warnings.catch_warnings():  # the caller reports unprofiled columns by name
            warnings.simplefilter("ignore")
            builder.update(df.limit(0).toPandas())
    return builder


def _rdd(df: Any) -> Any:
    try:
        return df.rdd
    except Exception:  # Spark Connect DataFrames have no .rdd
        return None


def session(master: str | None = None, *, quiet: bool = False) -> Any:
    """The active SparkSession, else one from ``SPARK_REMOTE`` (Spark Connect) or ``master``
    (default: Spark's own, ``local[*]``), as ``spark-submit``/``pyspark`` would."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    # Local executors run this interpreter, which has mlotel (and pyarrow) installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("mlotel")
    if os.environ.get("SPARK_REMOTE"):
        builder = builder.remote(os.environ["SPARK_REMOTE"])
    elif master:
        builder = builder.master(master)
    if quiet:
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    spark = builder.getOrCreate()
    if quiet and not os.environ.get("SPARK_REMOTE"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark
