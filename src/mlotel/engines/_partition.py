"""What runs on an engine's workers: profile one partition, merge partial profiles.

Both functions are module-level and take and return plain values (options as a dict,
partial profiles as bytes from :meth:`ReferenceBuilder.to_bytes`), so Spark and Dask
pickle them by reference and ship only the data.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from mlotel.drift.profile import ReferenceBuilder

__all__ = ["arrow_columns", "merge_partials", "profile_arrow_batches", "profile_frame"]


def arrow_columns(batch: Any) -> dict[str, np.ndarray]:
    """A pyarrow ``RecordBatch`` as ``{name: numpy column}``, read as the local Parquet reader
    reads it (dictionary columns decoded), so every engine sees the same values."""
    import pyarrow as pa

    out = {}
    for name, column in zip(batch.schema.names, batch.columns):
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        out[name] = column.to_numpy(zero_copy_only=False)
    return out


def _builder(options: Mapping[str, Any]) -> ReferenceBuilder:
    return ReferenceBuilder(**options)


def profile_frame(frame: Any, options: Mapping[str, Any]) -> bytes:
    """Profile one partition (anything :meth:`ReferenceBuilder.update` reads, e.g. a pandas
    DataFrame) into a partial profile."""
    builder = _builder(options)
    with warnings.catch_warnings():  # the driver reports unprofiled columns by name
        warnings.simplefilter("ignore")
        builder.update(frame)  # even when empty: the columns and their kinds
    return builder.to_bytes()


def profile_arrow_batches(batches: Iterable[Any], options: Mapping[str, Any]) -> Iterator[Any]:
    """Spark ``mapInArrow`` body: every record batch of a partition into one partial profile,
    yielded as a one-row record batch with a binary column ``partial``."""
    import pyarrow as pa

    builder = _builder(options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for batch in batches:
            if batch.num_rows:
                builder.update(arrow_columns(batch))
    yield pa.RecordBatch.from_pydict({"partial": [builder.to_bytes()]}, schema=_partial_schema())


def _partial_schema() -> Any:
    import pyarrow as pa

    return pa.schema([("partial", pa.binary())])


def merge_partials(*partials: bytes) -> bytes:
    """Merge partial profiles into one (the reduction step, on workers or the driver)."""
    first, *rest = partials
    builder = ReferenceBuilder.from_bytes(first)
    for partial in rest:
        builder.merge(ReferenceBuilder.from_bytes(partial))
    return builder.to_bytes()
