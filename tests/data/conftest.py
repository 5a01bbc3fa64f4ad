"""Shared checks for the mlotel.data tests."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.data import Frame


def assert_valid_frame(frame: Frame) -> None:
    """The Frame contract every reader must meet, whatever the input."""
    assert isinstance(frame, Frame)
    assert isinstance(frame.n_rows, int) and frame.n_rows >= 0
    assert isinstance(frame.dropped_columns, int) and frame.dropped_columns >= 0
    names = [column.name for column in frame.columns]
    assert len(names) == len(set(names)), names
    for column in frame.columns:
        assert isinstance(column.name, str) and len(column.name) <= 128
        values = column.values
        assert isinstance(values, np.ndarray)
        assert values.ndim == 1 and values.shape[0] == frame.n_rows, (column.name, values.shape)
        assert not values.flags.writeable, column.name
        if column.categorical:
            assert values.dtype.kind in "OUSbiu", (column.name, values.dtype)
            if values.dtype.kind == "O":
                for value in values.tolist():
                    assert value is None or value == value, (column.name, value)  # no NaN-like left
                    hash(value)
        else:
            assert values.dtype == np.float64, (column.name, values.dtype)


def columns(frame: Frame) -> dict[str, tuple[bool, list]]:
    """``{name: (categorical, values as a list)}`` after validating the frame.

    Numeric NaN is shown as None so that expected values compare with ``==``.
    """
    assert_valid_frame(frame)
    out = {}
    for column in frame.columns:
        values = column.values.tolist()
        if not column.categorical:
            values = [None if value != value else value for value in values]
        out[column.name] = (column.categorical, values)
    return out


@pytest.fixture
def check():
    return columns
