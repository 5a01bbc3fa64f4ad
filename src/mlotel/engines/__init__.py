"""Reference profiles on distributed engines: Spark and Dask DataFrames.

:func:`mlotel.build_reference` and :func:`mlotel.profile_current` hand a Spark or Dask
DataFrame here. Each partition is profiled where it lives (Spark executors, Dask workers)
by the same numpy code as the single-process path; the partial profiles
(:meth:`~mlotel.drift.ReferenceBuilder.to_bytes`) are merged in a tree on the workers and
once more on the driver. Merging is exact (see docs/distributed.md), so the result equals
the one-process profile of the same rows, whatever the partitioning.

pyspark and dask are imported only when such a frame (or ``--engine``) is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from mlotel.engines._partition import PartialBuilder

__all__ = ["ENGINES", "EngineNotInstalled", "PartialBuilder", "engine_of", "profile_frame", "require"]

#: Engine name -> (import needed, extra to install).
ENGINES: dict[str, tuple[tuple[str, ...], str]] = {
    "spark": (("pyspark", "pyarrow"), "spark"),
    "dask": (("dask.dataframe", "distributed"), "dask"),
}


class EngineNotInstalled(ImportError):
    """The engine asked for is not installed; the message names the extra to install."""


def require(engine: str) -> None:
    """Import ``engine``'s packages or raise :class:`EngineNotInstalled` naming the extra."""
    modules, extra = ENGINES[engine]
    for module in modules:
        try:
            __import__(module)
        except ImportError as exc:
            raise EngineNotInstalled(
                f"--engine {engine} needs {module.split('.')[0]}, which is not importable ({exc}); "
                f"install it with: pip install 'mlotel[{extra}]'"
            ) from None


def engine_of(data: Any) -> str | None:
    """``"spark"`` or ``"dask"`` for a DataFrame of that engine, else None (checked by type
    name, without importing either)."""
    from mlotel.engines import _dask, _spark

    if _spark.is_spark_frame(data):
        return "spark"
    if _dask.is_dask_frame(data):
        return "dask"
    return None


def profile_frame(
    data: Any, builder_type: type[PartialBuilder], options: Mapping[str, Any], *, progress: bool = False
) -> Any:
    """The profile of a Spark or Dask DataFrame: ``builder_type(**options)`` on every
    partition, merged, then built (for drift: :class:`mlotel.drift.ReferenceBuilder` and its
    :meth:`~mlotel.drift.ReferenceBuilder.options`). Columns not profiled are reported in
    one warning.

    Raises :class:`ValueError` for a target column the frame lacks, and whatever the engine
    raises for a failed task.
    """
    engine = engine_of(data)
    if engine is None:
        raise TypeError(f"not a Spark or Dask DataFrame: {type(data).__name__}")
    require(engine)
    columns = [str(c) for c in data.columns]
    target = options.get("target")
    if target is not None and target not in columns:
        raise ValueError(f"target column {target!r} is not in the data (columns: {columns[:20]})")
    ids = (options.get("lineage") or {}).get("prediction_id")
    if ids is not None and ids not in columns:
        raise ValueError(f"prediction id column {ids!r} is not in the data (columns: {columns[:20]})")
    wanted = options.get("features")
    if wanted is not None:
        absent = [f for f in wanted if f not in columns]
        if absent:
            raise ValueError(f"no column(s) {absent} in the data (columns: {columns[:20]})")
        # The target, and a reference's prediction id column (lineage), are read besides the features.
        keep = [*wanted, *(c for c in dict.fromkeys((target, ids)) if c is not None and c not in wanted)]
        data = data[keep]
        columns = keep
    if engine == "spark":
        from mlotel.engines import _spark

        readable, skipped = _spark.readable_columns(data)
        if skipped:
            data = data.select(*readable)
        builder = _spark.partial_profile(data, builder_type, options)
    else:
        from mlotel.engines import _dask

        builder = _dask.partial_profile(data, builder_type, options, progress=progress)
    profile = builder.build()
    unprofiled = [c for c in columns if c not in profile.columns() and c != ids]
    if unprofiled and profile.n_rows:
        warnings.warn(
            f"reference profile: {len(unprofiled)} column(s) not profiled (unsupported types, "
            f"e.g. arrays, maps, structs): {unprofiled[:20]}",
            stacklevel=3,
        )
    return profile
