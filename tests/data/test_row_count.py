"""row_count: the cheap batch size, consistent with read_input's row reading."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlotel.data import read_input, row_count


class Shaped:
    def __init__(self, shape):
        self.shape = shape


class BadLen(list):
    def __len__(self):
        raise RuntimeError("boom")


CASES = [
    np.zeros((5, 3)),
    np.zeros(4),
    np.float64(1.0),
    np.array(2.0),
    [1.0, 2.0, 3.0],
    ["a", "b"],
    [[1, 2], [3, 4], [5, 6]],
    [{"a": 1}, {"a": 2}],
    {"a": [1, 2, 3], "b": [4, 5, 6]},
    {"a": 1, "b": "x"},
    {"a": np.zeros(7)},
    pd.DataFrame({"a": range(6)}),
    pd.Series(range(9), name="s"),
    3.5,
    "x",
    [],
    {},
]


@pytest.mark.parametrize("obj", CASES, ids=lambda o: type(o).__name__)
def test_matches_read_input(obj):
    assert row_count(obj) == read_input(obj).n_rows


@pytest.mark.parametrize("obj", [np.arange(4.0), [1.0, 2.0, 3.0], pd.Series([1.0, 2.0])])
def test_one_feature_makes_1d_data_a_column(obj):
    assert row_count(obj, features=["x"]) == read_input(obj, features=["x"]).n_rows == len(obj)


def test_tensor_like_shape():
    assert row_count(Shaped((8, 3))) == 8
    assert row_count(Shaped((8,))) == 1
    assert row_count(Shaped(())) == 1


def test_unknown_is_none_and_never_raises():
    gen = (i for i in range(3))
    assert row_count(gen) is None
    assert next(gen) == 0
    assert row_count(object()) is None
    assert row_count(Shaped("bogus")) is None
    assert row_count(BadLen([1])) is None
