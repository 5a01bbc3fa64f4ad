"""Property tests at the decorator: whatever goes in or comes out, the model is never broken.

For generated inputs and outputs (numpy arrays of every dtype and shape, object arrays of
mixed types, ragged lists, nested dicts, None, huge ints, NaN/inf, bytes, generators,
hostile objects, pandas frames with categoricals, nullable dtypes and duplicate column
names) and models that return or raise:

- the decorated call returns the identical object / raises the identical exception;
- mlotel's fault counter says exactly what it skipped: ``mlotel.fault.count`` gains one
  ``input`` fault when the input can not be read as rows of features (as
  :func:`mlotel.data.read_input` decides), one ``output`` fault likewise for the output,
  and no fault of any other kind (which would be a bug inside mlotel);
- a generator passed as input is not consumed by mlotel.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import mlotel
from mlotel.data import UnreadableInput, read_input, read_output

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**200), max_value=2**200),  # huge ints
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.complex_numbers(allow_nan=True, allow_infinity=True),
    st.just(np.datetime64("2024-01-01")),
    st.just(pd.NaT),
    st.just(pd.NA),
)
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),  # ragged when nested
        st.tuples(children, children),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(-2, 2), st.none()), children, max_size=4),
    ),
    max_leaves=16,
)
arrays = hnp.arrays(
    dtype=st.one_of(
        hnp.integer_dtypes(),
        hnp.unsigned_integer_dtypes(),
        hnp.floating_dtypes(),
        hnp.boolean_dtypes(),
        hnp.unicode_string_dtypes(max_len=3),
        hnp.byte_string_dtypes(max_len=3),
        hnp.complex_number_dtypes(),
        hnp.datetime64_dtypes(),
        hnp.timedelta64_dtypes(),
    ),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),  # 0-d, empty, 3-d
)


@st.composite
def object_arrays(draw):
    items = draw(st.lists(scalars, min_size=1, max_size=12))
    out = np.empty(len(items), dtype=object)
    out[:] = items
    shape = draw(st.sampled_from([(len(items),), (len(items), 1), (1, len(items))]))
    return out.reshape(shape)


@st.composite
def frames(draw):
    n = draw(st.integers(0, 5))
    makers = {
        "float": lambda: pd.Series(draw(st.lists(st.floats(), min_size=n, max_size=n)), dtype="float64"),
        "Int64": lambda: pd.Series(
            draw(st.lists(st.one_of(st.none(), st.integers(-9, 9)), min_size=n, max_size=n)), dtype="Int64"
        ),
        "boolean": lambda: pd.Series(
            draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n)), dtype="boolean"
        ),
        "string": lambda: pd.Series(
            draw(st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=n, max_size=n)), dtype="string"
        ),
        "category": lambda: pd.Series(
            draw(st.lists(st.sampled_from(["a", "b", None]), min_size=n, max_size=n)), dtype="category"
        ),
        "object": lambda: pd.Series(draw(st.lists(scalars, min_size=n, max_size=n)), dtype=object),
        "datetime": lambda: pd.Series(
            pd.to_datetime(draw(st.lists(st.integers(0, 10**12), min_size=n, max_size=n)), unit="s")
        ),
    }
    kinds = draw(st.lists(st.sampled_from(sorted(makers)), min_size=0, max_size=4))
    frame = (
        pd.DataFrame({i: makers[k]() for i, k in enumerate(kinds)}) if kinds else pd.DataFrame(index=range(n))
    )
    if kinds:  # duplicate, non-string and missing column names
        frame.columns = draw(
            st.lists(st.sampled_from(["a", "a", "b", 0, None]), min_size=len(kinds), max_size=len(kinds))
        )
    return frame


class Hostile:
    """An object every probe of which raises: len, iteration, array conversion, attributes."""

    def __len__(self):
        raise RuntimeError("no len")

    def __iter__(self):
        raise RuntimeError("no iter")

    def __array__(self, *args, **kwargs):
        raise RuntimeError("no array")

    def __getattr__(self, name):
        raise RuntimeError(f"no {name}")


values = st.one_of(structures, arrays, object_arrays(), frames(), st.builds(Hostile))
GENERATOR = object()  # marker: the input is a generator over the drawn list


class ModelError(Exception):
    pass


class Interrupt(BaseException):
    pass


def _faults(telemetry) -> dict[str, int]:
    metric = telemetry.collect().get("mlotel.fault.count")
    out: dict[str, int] = {}
    for point in metric.data.data_points if metric else []:
        kind = point.attributes["mlotel.fault.kind"]
        out[kind] = out.get(kind, 0) + point.value
    return out


def _unreadable(read, value, **kwargs) -> bool:
    if value is None:
        return False
    try:
        read(value, **kwargs)
    except UnreadableInput:
        return True
    return False


def _run(telemetry, model_input, output, raises):
    def model(X):
        if raises is not None:
            raise raises
        return output

    decorated = mlotel.monitor(model="prop")(model)
    before = _faults(telemetry)
    if raises is not None:
        with pytest.raises(BaseException) as caught:
            decorated(model_input)
        assert caught.value is raises
    else:
        assert decorated(model_input) is output
    after = _faults(telemetry)
    return {
        k: after.get(k, 0) - before.get(k, 0)
        for k in set(after) | set(before)
        if after.get(k, 0) != before.get(k, 0)
    }


@SETTINGS
@given(
    model_input=values,
    output=values,
    raises=st.sampled_from([None, None, None, ModelError("x"), Interrupt()]),
)
def test_identical_results_and_exact_fault_accounting(telemetry, model_input, output, raises):
    # Truth first, on fresh calls of the public readers (they never consume or modify their input).
    input_fault = _unreadable(read_input, model_input, max_features=256)
    output_fault = raises is None and _unreadable(read_output, output)
    delta = _run(telemetry, model_input, output, raises)
    expected = {}
    if raises is None and input_fault:
        expected["input"] = 1
    if output_fault:
        expected["output"] = 1
    assert delta == expected


@SETTINGS
@given(items=st.lists(st.one_of(scalars, st.lists(st.floats(), max_size=3)), max_size=6), output=values)
def test_a_generator_input_is_never_consumed(telemetry, items, output):
    generator = (item for item in items)
    delta = _run(telemetry, generator, output, None)
    assert delta.get("input") == 1  # a generator can not be read without consuming it: skipped, counted
    rest = list(generator)
    assert len(rest) == len(items)
    assert all(
        a is b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))
        for a, b in zip(rest, items, strict=True)
    )


@pytest.mark.parametrize(
    "dtype",
    [
        "timedelta64[Y]",
        "timedelta64[M]",
        "timedelta64[as]",
        "datetime64[as]",
        "datetime64[Y]",
        "datetime64[M]",
    ],
)
def test_time_units_numpy_can_not_divide_by_a_second(telemetry, dtype):
    """Regression (found by the property test): years, months and attoseconds made the column
    reader raise TypeError/OverflowError, a ``features`` fault that skipped the whole call's sketches."""
    X = np.array([[1, 2], [3, 4]]).astype(dtype)
    assert _run(telemetry, X, X, None) == {}
    metrics = telemetry.collect()
    expected = 0 if dtype.startswith("timedelta64[Y") or dtype.startswith("timedelta64[M") else 2
    counts = [p.count for p in metrics["ml.feature.value"].data.data_points] if expected else []
    assert counts == [expected] * len(counts) and len(counts) == (2 if expected else 0)
