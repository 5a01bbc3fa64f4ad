"""pyarrow arrays as column values, without a Python object per string.

Only reached with a pyarrow array in hand (Parquet files, Spark's Arrow batches, pandas'
Arrow-backed strings), so pyarrow is imported lazily.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlotel.sketches.frequent import CodedValues

__all__ = ["arrow_column", "arrow_text_codes"]

# to_column() types an object column from its first values: when these are all missing it
# may read text as numbers ("1.5"), so such columns keep the object-array path.
_PROBE = 16


def arrow_column(column: Any) -> np.ndarray | CodedValues:
    """A pyarrow ``Array`` or ``ChunkedArray`` as a :func:`~mlotel.data.read_input` column:
    what ``to_numpy(zero_copy_only=False)`` gives (dictionaries decoded; zero-copy for
    numbers without nulls), except text, which becomes :class:`CodedValues` (dictionary
    encoded in C) whenever the object array would have been read as categorical."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if _is_text(column.type) and column.null_count < len(column):
        head = min(len(column), _PROBE)
        if column.slice(0, head).null_count < head:
            return arrow_text_codes(column)
    return column.to_numpy(zero_copy_only=False)


def arrow_text_codes(column: Any) -> CodedValues:
    """A pyarrow string or binary array (or ``ChunkedArray``) as :class:`CodedValues`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_string_view(column.type) or pa.types.is_binary_view(column.type):
        column = column.cast(pa.large_string() if pa.types.is_string_view(column.type) else pa.large_binary())
    encoded = pc.dictionary_encode(column)  # nulls: null codes, not a dictionary entry
    codes = encoded.indices
    if codes.null_count:
        codes = codes.fill_null(-1)
    return CodedValues(
        codes.to_numpy(zero_copy_only=False), encoded.dictionary.to_numpy(zero_copy_only=False)
    )


def _is_text(t: Any) -> bool:
    import pyarrow as pa

    return (
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary_view(t)
    )
