"""FrequentItems: exact totals, bounded state, error bound, heavy hitters, merging."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlotel.sketches import FrequentItems


def _check_bound(f: FrequentItems, truth: Counter) -> None:
    """est <= true <= est + other / (k + 1) for every value; totals exact."""
    assert f.total == sum(truth.values())
    assert sum(c for _, c in f.items()) + f.other == f.total
    slack = f.other / (f.k + 1)
    kept = dict(f.items())
    assert len(kept) <= f.k
    for key, true in truth.items():
        est = kept.get(key, 0)
        assert est <= true <= est + slack, (key, est, true, slack)


def test_exact_when_few_distinct_values() -> None:
    f = FrequentItems(k=8)
    f.update(np.array(["a", "b", "a", "c", "a", "b"]))
    f.update(np.array([1, 1, 2]))
    f.update(np.array([True, False, True]))
    assert f.items() == [("a", 3), ("1", 2), ("True", 2), ("b", 2), ("2", 1), ("False", 1), ("c", 1)]
    assert f.other == 0 and f.total == 12 and f.missing == 0


def test_missing_values_and_keys() -> None:
    f = FrequentItems(k=5, max_key_length=4)
    f.update(np.array(["abcdefgh", None, float("nan"), "abcdXYZ", b"bytes", 2.0, -0.0, 0.0], dtype=object))
    f.update(np.array([1.5, np.nan, 1.5, -0.0]))
    assert f.missing == 3
    assert dict(f.items()) == {"abcd": 2, "byte": 1, "2.0": 1, "0.0": 3, "1.5": 2}
    assert f.total == 9


def test_unhashable_objects_are_keyed_by_str() -> None:
    f = FrequentItems()
    f.update(_obj([[1], [1], None]))
    assert dict(f.items()) == {"[1]": 2} and f.missing == 1


def _obj(values: list) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def test_million_distinct_values_stay_bounded() -> None:
    f = FrequentItems(k=32)
    rng = np.random.default_rng(1)
    heavy = np.repeat(np.array([-1, -2, -3]), [200_000, 120_000, 90_000])
    data = np.concatenate([np.arange(1_000_000), heavy])
    rng.shuffle(data)
    for chunk in np.array_split(data, 7):
        f.update(chunk)
    assert f.total == data.size
    assert len(f.items()) <= 32 and len(f.counts_with_other()) <= 33
    assert [k for k, _ in f.items()[:3]] == ["-1", "-2", "-3"]  # heavy hitters found, in order
    truth = Counter({"-1": 200_000, "-2": 120_000, "-3": 90_000})
    kept = dict(f.items())
    for key, true in truth.items():
        assert kept[key] <= true <= kept[key] + f.other / 33


def test_heavy_hitters_are_kept() -> None:
    rng = np.random.default_rng(5)
    values = rng.zipf(1.3, 200_000) % 5000
    f = FrequentItems(k=10)
    for chunk in np.array_split(values, 13):
        f.update(chunk)
    truth = Counter(str(v) for v in values.tolist())
    _check_bound(f, truth)
    for key, c in truth.items():
        if c > f.total / (f.k + 1):
            assert key in dict(f.items())


words = st.lists(st.sampled_from([f"w{i}" for i in range(30)]), max_size=80)


@settings(max_examples=80, deadline=None)
@given(words, words, st.integers(1, 12))
def test_merge_bounds_and_commutes(a, b, k) -> None:
    fa, fb = FrequentItems(k=k), FrequentItems(k=k)
    fa.update(np.array(a, dtype=object))
    fb.update(np.array(b, dtype=object))
    ab, ba = fa.copy(), fb.copy()
    ab.merge(fb)
    ba.merge(fa)
    assert ab == ba
    _check_bound(ab, Counter(a + b))
    single = FrequentItems(k=k)
    single.update(np.array(a + b, dtype=object))
    _check_bound(single, Counter(a + b))
    if len(set(a + b)) <= k:
        assert single == ab and dict(ab.items()) == dict(Counter(a + b))


def test_round_trip_and_version() -> None:
    f = FrequentItems(k=3)
    f.update(np.array(["x", "y", "x", "z", "w", None], dtype=object))
    d = json.loads(json.dumps(f.to_dict()))
    assert FrequentItems.from_dict(d) == f
    d["version"] = 2
    with pytest.raises(ValueError):
        FrequentItems.from_dict(d)


def test_datetime_values() -> None:
    f = FrequentItems()
    f.update(np.array(["2024-01-01", "NaT", "2024-01-01"], dtype="datetime64[D]"))
    assert f.items() == [("2024-01-01", 2)] and f.missing == 1
