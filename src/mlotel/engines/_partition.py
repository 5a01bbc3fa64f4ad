"""What runs on an engine's workers: profile one partition, merge partial profiles.

The functions are module-level and take and return plain values (the builder class, its
options as a dict, partial profiles as bytes from its ``to_bytes``), so Spark and Dask
pickle them by reference and ship only the data. The builder is any
:class:`PartialBuilder`, in practice :class:`mlotel.drift.ReferenceBuilder`: this package
sits below drift and never imports it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol

import numpy as np

from mlotel.data._arrow import arrow_column
from mlotel.sketches.frequent import CodedValues

#: Rows sketched per update on Spark executors.
COALESCE_ROWS = 65_536

__all__ = [
    "COALESCE_ROWS",
    "PartialBuilder",
    "arrow_columns",
    "merge_partials",
    "profile_arrow_batches",
    "profile_frame",
]


class PartialBuilder(Protocol):
    """A mergeable profile under construction: what an engine runs on each partition."""

    n_rows: int

    def __init__(self, **options: Any) -> None: ...
    def update(self, data: Any) -> Any: ...
    def merge(self, other: Any) -> Any: ...
    def to_bytes(self) -> bytes: ...
    @classmethod
    def from_bytes(cls, data: bytes) -> Any: ...
    def build(self) -> Any: ...


def arrow_columns(batch: Any) -> dict[str, np.ndarray | CodedValues]:
    """A pyarrow ``RecordBatch`` as ``{name: column}``, read as the local Parquet reader reads
    it (:func:`~mlotel.data._arrow.arrow_column`: numbers as numpy, text dictionary-encoded),
    so every engine sees the same values."""
    return {name: arrow_column(column) for name, column in zip(batch.schema.names, batch.columns)}


def profile_frame(frame: Any, builder_type: type[PartialBuilder], options: Mapping[str, Any]) -> bytes:
    """Profile one partition (anything ``builder_type.update`` reads, e.g. a pandas
    DataFrame) into a partial profile."""
    builder = builder_type(**options)
    with warnings.catch_warnings():  # the driver reports unprofiled columns by name
        warnings.simplefilter("ignore")
        builder.update(frame)  # even when empty: the columns and their kinds
    return builder.to_bytes()


def profile_arrow_batches(
    batches: Iterable[Any], builder_type: type[PartialBuilder], options: Mapping[str, Any]
) -> Iterator[Any]:
    """Spark ``mapInArrow`` body: every record batch of a partition into one partial profile,
    yielded as a one-row record batch with a binary column ``partial``.

    Spark hands over batches of 10,000 rows (``spark.sql.execution.arrow.maxRecordsPerBatch``);
    they are sketched :data:`COALESCE_ROWS` rows at a time, since each update has a fixed cost.
    """
    import pyarrow as pa

    builder = builder_type(**options)
    pending: list[Any] = []
    rows = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for batch in batches:
            pending.append(batch)
            rows += batch.num_rows
            if rows >= COALESCE_ROWS:
                builder.update(_combined(pending))
                pending, rows = [], 0
        if rows:
            builder.update(_combined(pending))
    yield pa.RecordBatch.from_pydict({"partial": [builder.to_bytes()]}, schema=_partial_schema())


def _combined(batches: list[Any]) -> dict[str, np.ndarray | CodedValues]:
    import pyarrow as pa

    if len(batches) == 1:
        return arrow_columns(batches[0])
    return arrow_columns(pa.Table.from_batches(batches).combine_chunks().to_batches()[0])


def _partial_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("partial", pa.binary())])


def merge_partials(builder_type: type[PartialBuilder], *partials: bytes) -> bytes:
    """Merge partial profiles into one (the reduction step, on workers or the driver)."""
    first, *rest = partials
    builder = builder_type.from_bytes(first)
    for partial in rest:
        builder.merge(builder_type.from_bytes(partial))
    return builder.to_bytes()
