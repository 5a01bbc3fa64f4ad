"""read_input on dicts, lists, tensor-like objects and things it must refuse."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mlotel.data import UnreadableInput, read_input

N, C = False, True  # numeric, categorical


class FakeTensor:
    """Just enough of a CPU torch.Tensor: ``__array__``, ``shape``, iteration."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape = self._data.shape
        self.ndim = self._data.ndim
        self.iterated = 0
        self.array_calls = 0

    def __array__(self, dtype=None, copy=None):
        self.array_calls += 1
        return self._data if dtype is None else self._data.astype(dtype)

    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        self.iterated += 1
        return iter(self._data)


class GpuTensor(FakeTensor):
    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy")


def test_dict_of_columns_lists_and_arrays(check):
    data = {"age": [31, 40, None], "city": np.array(["a", "b", "c"]), "score": (0.5, 1.5, 2.5)}
    frame = read_input(data)
    assert frame.n_rows == 3
    assert check(frame) == {
        "age": (N, [31.0, 40.0, None]),
        "city": (C, ["a", "b", "c"]),
        "score": (N, [0.5, 1.5, 2.5]),
    }


def test_dict_of_columns_with_series_and_tensor_values(check):
    pd = pytest.importorskip("pandas")
    data = {"s": pd.Series(pd.array([1, None], dtype="Int64")), "t": FakeTensor([0.5, 1.0])}
    assert check(read_input(data)) == {"s": (N, [1.0, None]), "t": (N, [0.5, 1.0])}


def test_dict_columns_of_different_lengths_are_unreadable():
    with pytest.raises(UnreadableInput, match="rows"):
        read_input({"a": [1, 2, 3], "b": [1, 2]})


def test_dict_mixing_scalars_and_sequences_is_unreadable_unless_selected(check):
    data = {"age": 30, "tags": ["a", "b"]}
    with pytest.raises(UnreadableInput, match="mixing scalars and sequences"):
        read_input(data)
    assert check(read_input(data, features=["age"])) == {"age": (N, [30.0])}


def test_dict_drops_nested_and_2d_values(check):
    frame = read_input({"a": [1.0, 2.0], "emb": np.zeros((2, 4)), "meta": {"k": 1}})
    assert check(frame) == {"a": (N, [1.0, 2.0])}
    assert frame.dropped_columns == 2
    frame = read_input({"a": 1.0, "meta": {"k": 1}, "ids": {1, 2}})
    assert check(frame) == {"a": (N, [1.0])}
    assert frame.dropped_columns == 2


def test_scalar_row_dict(check):
    row = {"age": 31, "income": 5e4, "city": "Paris", "vip": True, "note": None, "n": np.int8(3)}
    frame = read_input(row)
    assert frame.n_rows == 1
    assert check(frame) == {
        "age": (N, [31.0]),
        "income": (N, [5e4]),
        "city": (C, ["Paris"]),
        "vip": (N, [1.0]),
        "note": (N, [None]),
        "n": (N, [3.0]),
    }


def test_scalar_row_dict_unusual_scalars(check):
    import datetime
    import decimal
    import fractions

    row = {
        "big": 10**400,
        "frac": fractions.Fraction(1, 4),
        "dec": decimal.Decimal("1.5"),
        "when": np.datetime64("1970-01-01T00:01"),
        "day": datetime.date(2020, 1, 1),
        "npstr": np.str_("x"),
    }
    assert check(read_input(row)) == {
        "big": (C, [10**400]),  # beyond float range: kept as a label rather than lost
        "frac": (N, [0.25]),
        "dec": (C, [decimal.Decimal("1.5")]),
        "when": (N, [60.0]),
        "day": (C, [datetime.date(2020, 1, 1)]),
        "npstr": (C, ["x"]),
    }


def test_scalar_row_dict_selection_and_forcing(check):
    row = {"zip": 2139, "age": 30}
    frame = read_input(row, features=["age", "zip", "lost"], categorical=["zip"])
    assert check(frame) == {"age": (N, [30.0]), "zip": (C, [2139]), "lost": (N, [None])}


def test_defaultdict_is_read_without_being_changed(check):
    import collections

    data = collections.defaultdict(list, {"a": [1.0, 2.0]})
    assert check(read_input(data, features=["a", "b"])) == {"a": (N, [1.0, 2.0]), "b": (N, [None, None])}
    assert list(data) == ["a"]


def test_non_string_dict_keys_become_strings(check):
    assert check(read_input({1: 2.0, (1, 2): 3.0})) == {"1": (N, [2.0]), "(1, 2)": (N, [3.0])}


def test_list_of_row_dicts_with_missing_keys(check):
    rows = [{"a": 1, "b": "x"}, {"a": 2.5, "c": True}, {"b": float("nan"), "d": [1, 2]}]
    frame = read_input(rows)
    assert frame.n_rows == 3
    assert check(frame) == {
        "a": (N, [1.0, 2.5, None]),
        "b": (C, ["x", None, None]),
        "c": (N, [None, 1.0, None]),
    }
    assert frame.dropped_columns == 1  # "d" holds lists


def test_list_of_row_dicts_with_features(check):
    rows = [{"a": 1, "b": "x"}, {"a": 2}]
    assert check(read_input(rows, features=["b", "z"])) == {"b": (C, ["x", None]), "z": (N, [None, None])}


def test_list_starting_with_dict_but_holding_other_rows_is_unreadable():
    gen = (k for k in "xyz")
    with pytest.raises(UnreadableInput):
        read_input([{"a": 1}, gen])
    assert next(gen) == "x"  # not consumed while looking for keys
    with pytest.raises(UnreadableInput):
        read_input([{"a": 1}, [1, 2]])
    with pytest.raises(UnreadableInput):
        read_input([{"a": 1}, 5], features=["a"])


def test_list_of_rows(check):
    frame = read_input([[1, "a", None], (2.5, "b", 3)])
    assert frame.n_rows == 2
    assert check(frame) == {"f0": (N, [1.0, 2.5]), "f1": (C, ["a", "b"]), "f2": (N, [None, 3.0])}
    assert check(read_input([[1, 2], [3, 4]], features=["x", "y"])) == {
        "x": (N, [1.0, 3.0]),
        "y": (N, [2.0, 4.0]),
    }
    assert check(read_input([np.array([1.0, 2.0]), np.array([3.0, 4.0])])) == {
        "f0": (N, [1.0, 3.0]),
        "f1": (N, [2.0, 4.0]),
    }


def test_ragged_rows_are_unreadable():
    with pytest.raises(UnreadableInput, match="ragged"):
        read_input([[1, 2], [3]])
    with pytest.raises(UnreadableInput):
        read_input([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])  # 3-D


def test_flat_list_is_one_row(check):
    frame = read_input([5.1, 3.5, "setosa", None])
    assert frame.n_rows == 1
    assert check(frame) == {"f0": (N, [5.1]), "f1": (N, [3.5]), "f2": (C, ["setosa"]), "f3": (N, [None])}
    assert check(read_input([1, 2], features=["a", "b"])) == {"a": (N, [1.0]), "b": (N, [2.0])}
    with pytest.raises(UnreadableInput):
        read_input([1, 2, 3], features=["a", "b"])


def test_flat_list_with_one_feature_is_a_column(check):
    assert check(read_input([1, 2, None], features=["x"])) == {"x": (N, [1.0, 2.0, None])}
    assert check(read_input(["a", "b"], features=["x"])) == {"x": (C, ["a", "b"])}


def test_empty_containers_have_no_rows():
    for empty in ([], (), {}):
        frame = read_input(empty)
        assert frame.n_rows == 0 and frame.columns == ()


def test_array_protocol_object_is_converted_once(check):
    tensor = FakeTensor([[1.0, 2.0], [3.0, 4.0]])
    assert check(read_input(tensor)) == {"f0": (N, [1.0, 3.0]), "f1": (N, [2.0, 4.0])}
    assert tensor.array_calls == 1 and tensor.iterated == 0


def test_list_of_tensor_rows(check):
    rows = [FakeTensor([1.0, 2.0]), FakeTensor([3.0, 4.0])]
    assert check(read_input(rows)) == {"f0": (N, [1.0, 3.0]), "f1": (N, [2.0, 4.0])}


def test_failing_array_protocol_is_unreadable():
    with pytest.raises(UnreadableInput, match="GpuTensor"):
        read_input(GpuTensor([[1.0]]))


def test_generators_and_iterators_are_refused_without_being_consumed():
    gen = (i for i in range(3))
    it = iter([1, 2, 3])
    mapped = map(float, [1, 2])
    counter = itertools.count()
    for obj in (gen, it, mapped, counter):
        with pytest.raises(UnreadableInput):
            read_input(obj)
    assert next(gen) == 0 and next(it) == 1 and next(mapped) == 1.0 and next(counter) == 0


def test_generator_inside_a_row_is_dropped_not_consumed(check):
    gen = (i for i in range(3))
    frame = read_input({"a": 1.0, "g": gen})
    assert check(frame) == {"a": (N, [1.0])} and frame.dropped_columns == 1
    frame = read_input([1.0, gen])
    assert check(frame) == {"f0": (N, [1.0])} and frame.dropped_columns == 1
    assert next(gen) == 0


@pytest.mark.parametrize("obj", [None, {1, 2}, object(), b"".join, range(3)])
def test_other_objects_are_unreadable(obj):
    with pytest.raises(UnreadableInput):
        read_input(obj)


def test_unprintable_key_is_unreadable():
    class Bad:
        def __str__(self):
            raise RuntimeError("no")

        def __hash__(self):
            return 1

    with pytest.raises(UnreadableInput):
        read_input({Bad(): 1.0})


def test_user_float_failure_falls_back_to_categorical(check):
    class Weird:
        def __float__(self):
            raise RuntimeError("nope")

        def __repr__(self):
            return "Weird()"

    w = Weird()
    frame = read_input(np.array([[1.0], [w]], dtype=object))
    assert check(frame) == {"f0": (C, [1.0, w])}


def test_wide_dict_is_bounded(check):
    data = {f"k{i}": float(i) for i in range(100_000)}
    frame = read_input(data, max_features=8)
    assert list(check(frame)) == [f"k{i}" for i in range(8)]
    assert frame.dropped_columns == 100_000 - 8
