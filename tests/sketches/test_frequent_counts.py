"""Counted updates (CodedValues, update_counts) give the very sketch the per-value path does."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlotel.sketches import FrequentItems
from mlotel.sketches.frequent import CodedValues


def _random_objects(rng: np.random.Generator, n: int, distinct: int, null_rate: float) -> np.ndarray:
    vocab = np.array([f"v{i}" for i in range(distinct)], dtype=object)
    out = vocab[rng.zipf(1.3, n) % distinct]
    out[rng.random(n) < null_rate] = None
    return out


def _coded(values: np.ndarray) -> CodedValues:
    categories = list(dict.fromkeys(v for v in values.tolist() if v is not None))
    index = {v: i for i, v in enumerate(categories)}
    codes = np.array([-1 if v is None else index[v] for v in values.tolist()], dtype=np.int32)
    return CodedValues(codes, np.array(categories + ["never"], dtype=object)[: len(categories) + 1])


@pytest.mark.parametrize("k", [1, 4, 32, 1024])
@pytest.mark.parametrize("distinct", [3, 50, 3000])
def test_coded_equals_object_array(k: int, distinct: int) -> None:
    rng = np.random.default_rng(k * 7919 + distinct)
    per_value, counted = FrequentItems(k=k, max_key_length=3), FrequentItems(k=k, max_key_length=3)
    for _ in range(4):
        values = _random_objects(rng, 5000, distinct, 0.1)
        per_value.update(values)
        coded = _coded(values)  # with an unused category, which must not become a key
        assert np.array_equal(np.asarray(coded), values)
        counted.update(coded)
    assert counted == per_value
    assert counted.to_dict() == per_value.to_dict()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.just(float("nan")),
            st.integers(-3, 3),
            st.booleans(),
            st.floats(allow_nan=False, width=16),
            st.text(max_size=3),
            st.binary(max_size=2),
        ),
        max_size=60,
    ),
    st.integers(1, 6),
)
def test_update_counts_equals_update(values: list, k: int) -> None:
    arr = np.array(values + [None], dtype=object)[:-1]
    per_value = FrequentItems(k=k, max_key_length=2)
    per_value.update(arr)
    tally = Counter(arr.tolist())  # distinct under ==, first occurrence kept, as update does
    counted = FrequentItems(k=k, max_key_length=2)
    counted.update_counts(list(tally), list(tally.values()))
    assert counted == per_value


def test_update_counts_checks_its_input() -> None:
    f = FrequentItems(k=2)
    with pytest.raises(ValueError, match="counts"):
        f.update_counts(["a"], [1, 2])
    with pytest.raises(ValueError, match=">= 0"):
        f.update_counts(["a"], [-1])
    f.update_counts(np.array(["a", "b"], dtype=object), np.array([0, 2]))
    assert f.items() == [("b", 2)] and f.total == 2
