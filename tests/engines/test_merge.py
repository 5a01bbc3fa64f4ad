"""Partial profiles merge into exactly the one-process profile, whatever the partitioning.

This is what the Spark and Dask engines rely on: each partition is profiled by
``ReferenceBuilder`` (``engines._partition.profile_frame``), serialized, and merged in any
tree. Histograms, counts, min/max and top-K are equal bit for bit; sums up to float rounding.
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlotel.drift import ReferenceBuilder, build_reference
from mlotel.engines import _partition
from tests.drift._profiles import assert_same_profile

# Magnitudes up to 1e100: sums of values near the float maximum overflow in some orders only.
FLOATS = st.one_of(
    st.floats(-1e100, 1e100, width=64),
    st.sampled_from([0.0, -0.0, 1.0, -2.5, 5e-324, 1e-300, np.inf, -np.inf, np.nan]),
)


@st.composite
def tables(draw):
    n = draw(st.integers(0, 120))
    cats = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "ü", ""]), min_size=n, max_size=n))
    none_at = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    frame = pd.DataFrame(
        {
            "x": np.array(draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64),
            "i": np.array(
                draw(st.lists(st.integers(-(2**40), 2**40), min_size=n, max_size=n)), dtype=np.int64
            ),
            "c": pd.Series([None if m else c for c, m in zip(cats, none_at)], dtype=object),
            "y": np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int64),
        }
    )
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    return frame, [0, *cuts, n]


def _merge_in_random_tree(partials: list[bytes], rng: random.Random) -> bytes:
    level = list(partials)
    while len(level) > 1:
        rng.shuffle(level)
        fan_in = rng.randint(2, 4)
        level = [
            _partition.merge_partials(ReferenceBuilder, *level[i : i + fan_in])
            for i in range(0, len(level), fan_in)
        ]
    return level[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(0, 2**32))
def test_random_partitions_merge_to_the_one_process_profile(table, seed):
    frame, cuts = table
    options = ReferenceBuilder(categorical=["c"], target="y", top_k=16).options()
    partials = [
        _partition.profile_frame(frame.iloc[a:b], ReferenceBuilder, options) for a, b in zip(cuts, cuts[1:])
    ]
    merged = ReferenceBuilder.from_bytes(_merge_in_random_tree(partials, random.Random(seed))).build()
    whole = build_reference(frame, categorical=["c"], target="y", top_k=16)
    assert_same_profile(merged, whole)


def test_a_column_missing_in_some_partitions_takes_its_kind_from_the_others():
    a = ReferenceBuilder()
    a.update({"c": np.array([None, None], dtype=object), "x": np.array([np.nan, np.nan])})
    b = ReferenceBuilder()
    b.update({"c": np.array(["u", "v"], dtype=object), "x": np.array([1.0, 2.0])})
    for first, second in ((a, b), (b, a)):
        merged = ReferenceBuilder.from_bytes(first.to_bytes())
        merged.merge(second)
        profile = merged.build()
        assert profile.features["c"].kind == "categorical" and profile.features["c"].missing == 2
        assert profile.features["x"].kind == "numeric" and profile.features["x"].missing == 2
        assert profile.n_rows == 4


def test_kind_conflict_raises_and_changes_nothing():
    a = ReferenceBuilder()
    a.update({"c": np.array(["u", "v"], dtype=object), "x": np.array([1.0, 2.0])})
    b = ReferenceBuilder()
    b.update({"c": np.array([1.0, 2.0]), "x": np.array([1.0, 2.0])})
    before = a.build()
    with pytest.raises(ValueError, match="'c' is categorical in some rows and numeric"):
        a.merge(b)
    assert a.build() == before


def test_frequent_items_exact_only_while_distinct_values_fit_top_k():
    """The guarantee stated in docs/distributed.md: top-K merges exactly when the column has at
    most ``top_k`` distinct values; beyond, both sides are valid Misra-Gries summaries (same
    error bound) but their kept counts may differ."""
    rng = np.random.default_rng(3)
    values = rng.choice([f"k{i}" for i in range(40)], 2000).astype(object)
    for top_k, exact in ((40, True), (8, False)):
        options = ReferenceBuilder(top_k=top_k).options()
        parts = [
            _partition.profile_frame(pd.DataFrame({"c": values[a : a + 500]}), ReferenceBuilder, options)
            for a in range(0, 2000, 500)
        ]
        merged = (
            ReferenceBuilder.from_bytes(_partition.merge_partials(ReferenceBuilder, *parts))
            .build()
            .features["c"]
            .frequent
        )
        whole = build_reference({"c": values}, top_k=top_k).features["c"].frequent
        assert merged.total == whole.total
        if exact:
            assert merged == whole
        else:  # the bound still holds on the merged sketch
            true = {k: int(c) for k, c in zip(*np.unique(values, return_counts=True))}
            for key, count in merged.items():
                assert count <= true[key] <= count + merged.other / (top_k + 1)


def test_partial_bytes_reject_other_data():
    with pytest.raises(ValueError, match="not a partial reference profile"):
        ReferenceBuilder.from_bytes(b"not zlib")


def test_builders_with_other_options_do_not_merge():
    with pytest.raises(ValueError, match="different options"):
        ReferenceBuilder(top_k=4).merge(ReferenceBuilder(top_k=5))
