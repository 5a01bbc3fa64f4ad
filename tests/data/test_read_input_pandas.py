"""read_input on pandas DataFrames and Series (and pandas staying optional)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlotel.data import UnreadableInput, read_input, row_count

N, C = False, True  # numeric, categorical
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def mixed() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [1.5, np.nan, 3.0],
            "count": np.array([1, 2, 3], dtype=np.int16),
            "n_items": pd.array([4, None, 6], dtype="Int64"),
            "ratio": pd.array([0.5, None, 1.0], dtype="Float64"),
            "member": [True, False, True],
            "opted_in": pd.array([True, None, False], dtype="boolean"),
            "city": pd.Categorical(["paris", None, "lima"]),
            "plan": pd.array(["free", None, "pro"], dtype="string"),
            "tier": pd.Series(["gold", None, "tin"]),  # pandas' default string dtype
            "note": np.array(["x", None, float("nan")], dtype=object),
            "seen": pd.to_datetime(["1970-01-01T00:00:10", None, "1970-01-02T00:00:00"], utc=True),
        }
    )


def test_mixed_dtypes(check, mixed):
    frame = read_input(mixed)
    assert frame.n_rows == 3 and frame.dropped_columns == 0
    assert check(frame) == {
        "amount": (N, [1.5, None, 3.0]),
        "count": (N, [1.0, 2.0, 3.0]),
        "n_items": (N, [4.0, None, 6.0]),
        "ratio": (N, [0.5, None, 1.0]),
        "member": (N, [1.0, 0.0, 1.0]),
        "opted_in": (N, [1.0, None, 0.0]),
        "city": (C, ["paris", None, "lima"]),
        "plan": (C, ["free", None, "pro"]),
        "tier": (C, ["gold", None, "tin"]),
        "note": (C, ["x", None, None]),
        "seen": (N, [10.0, None, 86400.0]),
    }


def test_float_columns_are_views_of_the_frame(mixed):
    frame = read_input(mixed[["amount"]])
    assert np.shares_memory(frame.columns[0].values, mixed["amount"].to_numpy())


def test_features_select_order_and_fill_missing(check, mixed):
    frame = read_input(mixed, features=["plan", "gone", "amount"])
    assert check(frame) == {
        "plan": (C, ["free", None, "pro"]),
        "gone": (N, [None, None, None]),
        "amount": (N, [1.5, None, 3.0]),
    }
    frame = read_input(mixed, features=["gone"], categorical=["gone"])
    assert check(frame) == {"gone": (C, [None, None, None])}


def test_forced_categorical_on_pandas_dtypes(check, mixed):
    frame = read_input(mixed, features=["count", "n_items", "ratio", "opted_in"], categorical=mixed.columns)
    assert check(frame) == {
        "count": (C, [1, 2, 3]),
        "n_items": (C, [4, None, 6]),
        "ratio": (C, [0.5, None, 1.0]),
        "opted_in": (C, [True, None, False]),
    }


def test_default_range_columns_read_like_an_array(check):
    df = pd.DataFrame(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert check(read_input(df)) == {"f0": (N, [1.0, 3.0]), "f1": (N, [2.0, 4.0])}
    assert check(read_input(df, features=["a", "b"])) == {"a": (N, [1.0, 3.0]), "b": (N, [2.0, 4.0])}
    with pytest.raises(UnreadableInput):
        read_input(df, features=["a"])


def test_non_string_and_duplicate_labels(check):
    df = pd.DataFrame([[1.0, 2.0, 3.0]], columns=[10, "b", "b"])
    frame = read_input(df)
    assert check(frame) == {"10": (N, [1.0]), "b": (N, [2.0])}
    assert frame.dropped_columns == 1
    assert check(read_input(df, features=["10"])) == {"10": (N, [1.0])}


def test_max_features_on_wide_frame():
    df = pd.DataFrame(np.zeros((2, 300)), columns=[f"c{i}" for i in range(300)])
    frame = read_input(df, max_features=256)
    assert len(frame.columns) == 256 and frame.dropped_columns == 44
    assert frame.columns[-1].name == "c255"


def test_series_is_one_column(check):
    s = pd.Series([1, 2, None], name="age")
    assert check(read_input(s)) == {"age": (N, [1.0, 2.0, None])}
    assert check(read_input(pd.Series(["a", "b"]))) == {"f0": (C, ["a", "b"])}
    assert check(read_input(s, features=["years"])) == {"years": (N, [1.0, 2.0, None])}


def test_series_with_several_features_is_a_row(check, mixed):
    row = mixed.iloc[0]
    frame = read_input(row, features=["amount", "city", "missing"])
    assert frame.n_rows == 1
    assert check(frame) == {"amount": (N, [1.5]), "city": (C, ["paris"]), "missing": (N, [None])}


def test_empty_frame(check):
    df = pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype="string")})
    assert check(read_input(df)) == {"a": (N, []), "b": (C, [])}


def test_interval_and_period_columns_are_categorical(check):
    df = pd.DataFrame({"p": pd.period_range("2020-01", periods=2, freq="M")})
    got = check(read_input(df))
    assert got == {"p": (C, [pd.Period("2020-01", "M"), pd.Period("2020-02", "M")])}


def test_pandas_index_reads_through_array_protocol(check):
    assert check(read_input(pd.Index([1.0, 2.0]), features=["x"])) == {"x": (N, [1.0, 2.0])}


def test_large_frame_matches_independent_conversion(mixed):
    rng = np.random.default_rng(1)
    n = 50_000
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "k": rng.integers(0, 5, n),
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "s": rng.choice(["u", "v"], n).astype(object),
        }
    )
    df.loc[::7, "x"] = np.nan
    frame = {c.name: c for c in read_input(df).columns}
    np.testing.assert_array_equal(frame["x"].values, df["x"].to_numpy())
    np.testing.assert_array_equal(frame["k"].values, df["k"].to_numpy().astype(float))
    assert frame["c"].values.tolist() == df["c"].astype(object).tolist()
    assert frame["s"].values.tolist() == df["s"].tolist()
    assert row_count(df) == n


def _run_isolated(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_numpy_input_does_not_import_pandas():
    out = _run_isolated(
        """
        import sys, importlib.util, types
        # Load mlotel.data on its own: this test is about the adapters' imports.
        if "mlotel" not in sys.modules:
            spec = importlib.util.find_spec("mlotel")
            pkg = types.ModuleType("mlotel"); pkg.__path__ = list(spec.submodule_search_locations)
            sys.modules["mlotel"] = pkg
        import numpy as np
        from mlotel.data import read_input, read_output, row_count
        read_input(np.ones((3, 2))); read_input(np.array([["a"]], dtype=object))
        read_input([{"a": 1}, {"b": "x"}]); read_input({"a": [1, 2]}); read_input([1.0, "x"])
        read_output(np.ones((3, 4))); read_output({"y": 1.0}); row_count(np.ones(2))
        print("pandas" in sys.modules)
        """
    )
    assert out == "False"
