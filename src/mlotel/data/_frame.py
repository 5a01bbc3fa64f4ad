"""The column-oriented result of reading one model call's input or output."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Column", "Frame", "UnreadableInput"]


class UnreadableInput(Exception):
    """The object's shape cannot be read as rows and named columns.

    Raised by :func:`~mlotel.data.read_input` and :func:`~mlotel.data.read_output`
    before anything is recorded. The object itself is left untouched: it has not
    been iterated, consumed or modified, so the caller can still use it.
    """


@dataclass(frozen=True, slots=True)
class Column:
    """One named feature (or output) of a :class:`Frame`.

    ``values`` is a read-only 1-D array of length ``Frame.n_rows``; it may be a
    (possibly strided) view of the caller's data, so it must not be kept past the
    call or written to.

    * Numeric (``categorical=False``): dtype ``float64``; ``NaN`` marks a missing
      value.
    * Categorical (``categorical=True``): either dtype ``object`` holding hashable
      scalars (usually ``str``), where ``None`` marks a missing value, or a
      string, bytes, bool or integer dtype, which has no missing values; or, from readers
      that dictionary-encode text in C (Arrow, pandas strings), a
      :class:`~mlotel.sketches.frequent.CodedValues` (``np.asarray`` gives the object array).
    """

    name: str
    values: np.ndarray
    categorical: bool


@dataclass(frozen=True, slots=True)
class Frame:
    """The columns read from one input or output, all of length ``n_rows``.

    ``dropped_columns`` counts the columns the data held but that were not read:
    those beyond the column bound, those repeating an earlier column's name, and
    those of a type no sketch can summarise (complex numbers, nested containers).
    """

    n_rows: int
    columns: tuple[Column, ...]
    dropped_columns: int = 0
