"""read_input on numpy arrays, scalars and array-protocol objects."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.data import UnreadableInput, read_input

N, C = False, True  # numeric, categorical


def test_2d_float_columns_are_contiguous_and_named_positionally(check):
    x = np.arange(12, dtype=np.float64).reshape(4, 3)
    frame = read_input(x)
    assert frame.n_rows == 4 and frame.dropped_columns == 0
    assert check(frame) == {f"f{j}": (N, x[:, j].tolist()) for j in range(3)}
    for column in frame.columns:
        # Row-major data is transposed once, so no sketch makes a strided copy.
        assert column.values.flags.c_contiguous and not np.shares_memory(column.values, x)
    assert x.flags.writeable  # the caller's array is not frozen
    fortran = np.asfortranarray(x)
    for column in read_input(fortran).columns:
        assert np.shares_memory(column.values, fortran)  # already contiguous: no copy


def test_2d_int_and_bool_become_float64(check):
    ints = np.array([[1, -2], [3, 4]], dtype=np.int32)
    assert check(read_input(ints)) == {"f0": (N, [1.0, 3.0]), "f1": (N, [-2.0, 4.0])}
    bools = np.array([[True, False], [False, False]])
    assert check(read_input(bools)) == {"f0": (N, [1.0, 0.0]), "f1": (N, [0.0, 0.0])}
    uints = np.array([[2**63]], dtype=np.uint64)
    assert check(read_input(uints)) == {"f0": (N, [float(2**63)])}


def test_float32_and_nonnative_byte_order_convert(check):
    x = np.array([[1.5, np.nan]], dtype=">f4")
    assert check(read_input(x)) == {"f0": (N, [1.5]), "f1": (N, [None])}


def test_string_array_is_categorical_as_is(check):
    x = np.array([["a", "b"], ["c", "d"]])
    frame = read_input(x)
    assert check(frame) == {"f0": (C, ["a", "c"]), "f1": (C, ["b", "d"])}
    assert frame.columns[0].values.dtype.kind == "U"


def test_object_2d_infers_each_column(check):
    x = np.array([[1, "a", None, 1.5], [2.5, None, None, "x"], [None, "b", None, 2]], dtype=object)
    assert check(read_input(x)) == {
        "f0": (N, [1.0, 2.5, None]),  # numbers and None
        "f1": (C, ["a", None, "b"]),  # strings
        "f2": (N, [None, None, None]),  # all missing: numeric
        "f3": (C, [1.5, "x", 2]),  # numbers mixed with text
    }


def test_object_nan_in_a_categorical_column_becomes_none(check):
    x = np.array([["a"], [float("nan")], [np.datetime64("NaT")], [None]], dtype=object)
    assert check(read_input(x)) == {"f0": (C, ["a", None, None, None])}


def test_numeric_looking_strings_stay_categorical(check):
    x = np.array([["02139"], ["1.5"]], dtype=object)
    assert check(read_input(x)) == {"f0": (C, ["02139", "1.5"])}


def test_1d_array_is_one_row_by_default(check):
    x = np.array([0.5, 1.5, 2.5])
    frame = read_input(x)
    assert frame.n_rows == 1
    assert check(frame) == {"f0": (N, [0.5]), "f1": (N, [1.5]), "f2": (N, [2.5])}


def test_1d_array_with_one_feature_name_is_one_column(check):
    x = np.array([0.5, 1.5, 2.5])
    frame = read_input(x, features=["amount"])
    assert frame.n_rows == 3
    assert check(frame) == {"amount": (N, [0.5, 1.5, 2.5])}
    assert np.shares_memory(frame.columns[0].values, x)


def test_1d_array_with_one_name_per_value_is_named_row(check):
    assert check(read_input(np.array([1, 2]), features=["a", "b"])) == {"a": (N, [1.0]), "b": (N, [2.0])}


def test_feature_count_mismatch_is_unreadable():
    with pytest.raises(UnreadableInput, match="3 feature names"):
        read_input(np.zeros((2, 2)), features=["a", "b", "c"])
    with pytest.raises(UnreadableInput):
        read_input(np.zeros(5), features=["a", "b"])


def test_scalars_and_0d_arrays_are_one_row(check):
    assert check(read_input(3)) == {"f0": (N, [3.0])}
    assert check(read_input(2.5, features=["x"])) == {"x": (N, [2.5])}
    assert check(read_input(np.float32(1.5))) == {"f0": (N, [1.5])}
    assert check(read_input(np.array(7))) == {"f0": (N, [7.0])}
    assert check(read_input("red")) == {"f0": (C, ["red"])}
    assert check(read_input(True)) == {"f0": (N, [1.0])}


@pytest.mark.parametrize("shape", [(2, 3, 4), (1, 1, 1, 1)])
def test_3d_and_higher_are_unreadable(shape):
    with pytest.raises(UnreadableInput, match="-D array"):
        read_input(np.zeros(shape))


def test_structured_array_columns_are_named_by_field(check):
    x = np.array([(1, 2.5, "a"), (3, np.nan, "b")], dtype=[("n", "i4"), ("v", "f8"), ("s", "U2")])
    assert check(read_input(x)) == {"n": (N, [1.0, 3.0]), "v": (N, [2.5, None]), "s": (C, ["a", "b"])}
    assert check(read_input(x, features=["s", "zz"])) == {"s": (C, ["a", "b"]), "zz": (N, [None, None])}


def test_datetimes_are_seconds_since_epoch(check):
    x = np.array([["1970-01-02"], ["NaT"]], dtype="datetime64[D]")
    assert check(read_input(x)) == {"f0": (N, [86400.0, None])}
    td = np.array([[1500]], dtype="timedelta64[ms]")
    assert check(read_input(td)) == {"f0": (N, [1.5])}


def test_complex_columns_are_dropped_not_fatal():
    frame = read_input(np.ones((2, 3), dtype=complex))
    assert frame.n_rows == 2 and frame.columns == () and frame.dropped_columns == 3


def test_forced_categorical_by_name(check):
    x = np.array([[1, 0.5, 1.0], [2, np.nan, 2.0]])
    frame = read_input(x, features=["zip", "f", "g"], categorical=["zip", "f"])
    assert check(frame) == {"zip": (C, [1.0, 2.0]), "f": (C, [0.5, None]), "g": (N, [1.0, 2.0])}
    ints = np.array([[1, True], [2, False]], dtype=object)
    assert check(read_input(np.array([[1, 2]]), categorical=["f1"])) == {"f0": (N, [1.0]), "f1": (C, [2])}
    assert check(read_input(ints, categorical="f1")) == {"f0": (N, [1.0, 2.0]), "f1": (C, [True, False])}


def test_forced_categorical_bool_keeps_bool_dtype():
    frame = read_input(np.array([[True], [False]]), categorical=["f0"])
    column = frame.columns[0]
    assert column.categorical and column.values.dtype == bool and column.values.tolist() == [True, False]


def test_max_features_drops_and_counts(check):
    x = np.arange(20.0).reshape(2, 10)
    frame = read_input(x, max_features=4)
    assert [c.name for c in frame.columns] == ["f0", "f1", "f2", "f3"]
    assert frame.dropped_columns == 6
    assert check(read_input(np.arange(1000.0), max_features=3)) == {
        "f0": (N, [0.0]),
        "f1": (N, [1.0]),
        "f2": (N, [2.0]),
    }
    assert read_input(x, max_features=0).columns == ()


def test_duplicate_feature_names_keep_the_first(check):
    frame = read_input(np.array([[1.0, 2.0, 3.0]]), features=["a", "b", "a"])
    assert check(frame) == {"a": (N, [1.0]), "b": (N, [2.0])}
    assert frame.dropped_columns == 1


def test_long_names_are_truncated():
    frame = read_input(np.zeros((1, 1)), features=["x" * 300])
    assert frame.columns[0].name == "x" * 128


def test_input_array_is_not_modified():
    x = np.array([["a", None], [float("nan"), "b"]], dtype=object)
    before = x.copy()
    read_input(x)
    assert [repr(v) for v in x.ravel()] == [repr(v) for v in before.ravel()]


class _Tagged(np.ndarray):
    pass


def test_ndarray_subclass_reads_as_plain_array(check):
    x = np.array([[1.0, 2.0]]).view(_Tagged)
    assert check(read_input(x)) == {"f0": (N, [1.0]), "f1": (N, [2.0])}


def test_empty_batches(check):
    assert check(read_input(np.zeros((0, 3)))) == {"f0": (N, []), "f1": (N, []), "f2": (N, [])}
    frame = read_input(np.zeros((4, 0)))
    assert frame.n_rows == 4 and frame.columns == ()
