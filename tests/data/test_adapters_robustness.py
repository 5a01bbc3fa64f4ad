"""Property tests: whatever the structure, the adapters return a valid Frame or
raise UnreadableInput -- never anything else -- and never mutate the input."""

from __future__ import annotations

import copy
import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlotel.data import Frame, UnreadableInput, read_input, read_output, row_count

from .conftest import assert_valid_frame

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.binary(max_size=3),
    st.complex_numbers(max_magnitude=10),
)
keys = st.one_of(st.text(max_size=4), st.integers(-3, 3))
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=4),
    ),
    max_leaves=20,
)
arrays = hnp.arrays(
    dtype=st.one_of(
        hnp.integer_dtypes(),
        hnp.unsigned_integer_dtypes(),
        hnp.floating_dtypes(),
        hnp.boolean_dtypes(),
        hnp.unicode_string_dtypes(max_len=3),
        hnp.complex_number_dtypes(),
        hnp.datetime64_dtypes(),
    ),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
)
options = st.fixed_dictionaries(
    {},
    optional={
        "features": st.lists(st.text(max_size=3), max_size=4),
        "categorical": st.lists(st.sampled_from(["", "a", "f0", "f1", "0"]), max_size=2),
        "max_features": st.integers(0, 5),
    },
)


def _same(a, b) -> bool:
    """Structural equality where NaN equals NaN (to detect mutation)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and (a == b or a is b)


def _read_or_refuse(fn, obj, **kwargs) -> Frame | None:
    try:
        frame = fn(obj, **kwargs)
    except UnreadableInput:
        return None
    assert_valid_frame(frame)
    return frame


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(structures, options)
def test_python_structures(obj, kwargs):
    before = copy.deepcopy(obj)
    frame = _read_or_refuse(read_input, obj, **kwargs)
    if frame is not None and "max_features" in kwargs:
        assert len(frame.columns) <= kwargs["max_features"]
    _read_or_refuse(read_output, obj, max_classes=kwargs.get("max_features", 32))
    count = row_count(obj)
    assert count is None or count >= 0
    assert _same(obj, before)


@settings(max_examples=200, deadline=None)
@given(arrays, options)
def test_numpy_arrays(array, kwargs):
    before = array.copy()
    frame = _read_or_refuse(read_input, array, **kwargs)
    if frame is not None and "features" not in kwargs:
        expected_rows = 1 if array.ndim <= 1 else array.shape[0]
        assert frame.n_rows == expected_rows
        assert row_count(array) == expected_rows
    _read_or_refuse(read_output, array)
    np.testing.assert_array_equal(array, before)


@settings(max_examples=100, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6)))
def test_2d_float_columns_round_trip(array):
    frame = read_input(array)
    assert frame.n_rows == array.shape[0]
    rebuilt = np.column_stack([c.values for c in frame.columns]) if frame.columns else np.empty(array.shape)
    np.testing.assert_array_equal(rebuilt.reshape(array.shape), array)
