"""The prediction cache: bounded in rows and remembered ids whatever arrives, with exact reasons for misses."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.outcomes._cache import DUPLICATE, LATE, UNKNOWN, Entry, PredictionCache


def test_join_then_duplicate():
    cache = PredictionCache(max_rows=10, ttl=60)
    cache.put("a", 1, 1, now=0.0)
    entry = cache.take("a", now=5.0)
    assert isinstance(entry, Entry) and entry.predicted == 1 and entry.time == 0.0
    assert cache.take("a", now=6.0) == DUPLICATE
    assert cache.take("never", now=6.0) == UNKNOWN
    assert len(cache) == 0 and cache.rows == 0


def test_expired_entries_are_late_when_met_and_when_swept():
    cache = PredictionCache(max_rows=10, ttl=60)
    cache.put("old", 1, 1, now=0.0)
    cache.put("young", 2, 1, now=50.0)
    assert cache.take("old", now=61.0) == LATE  # met past its ttl
    cache.put("other", 3, 1, now=100.0)  # "young" is 50 s old: kept
    assert len(cache) == 2
    cache.put("later", 4, 1, now=111.0)  # now "young" is 61 s old: swept
    assert len(cache) == 2 and cache.rows == 2
    assert cache.take("young", now=111.0) == LATE


def test_capacity_evicts_oldest_first_and_counts_rows():
    cache = PredictionCache(max_rows=5, ttl=1e9)
    cache.put("batch", np.arange(3), 3, now=0.0)
    cache.put("x", 1, 1, now=1.0)
    cache.put("y", 1, 1, now=2.0)
    assert cache.rows == 5
    cache.put("z", 1, 1, now=3.0)  # needs one row: the whole 3-row batch goes
    assert cache.rows == 3 and len(cache) == 3
    assert cache.take("batch", now=4.0) == LATE
    assert cache.put("huge", np.arange(6), 6, now=5.0) is False  # larger than the cache: not held
    assert cache.take("huge", now=5.0) == LATE
    assert cache.rows == 3


def test_same_id_again_replaces_the_prediction():
    cache = PredictionCache(max_rows=5, ttl=60)
    cache.put("a", 1, 1, now=0.0)
    cache.put("a", 2, 1, now=1.0)
    assert cache.rows == 1
    assert cache.take("a", now=2.0).predicted == 2


def test_put_back_restores_a_taken_entry():
    cache = PredictionCache(max_rows=5, ttl=60)
    cache.put("a", np.arange(2), 2, now=0.0)
    entry = cache.take("a", now=1.0)
    cache.put_back("a", entry)
    assert cache.rows == 2
    assert cache.take("a", now=1.0) is not None and cache.take("a", now=1.0) == DUPLICATE


def test_unknown_ids_and_many_predictions_stay_within_the_cap():
    cap = 1000
    cache = PredictionCache(max_rows=cap, ttl=1e9)
    for i in range(100_000):
        assert cache.take(f"unknown-{i}", now=float(i)) == UNKNOWN
    assert len(cache) == 0 and cache.remembered == 0
    for i in range(300_000):
        cache.put(str(i), i, 1, now=float(i))
        if i % 3 == 0:
            cache.take(str(i), now=float(i))
    assert len(cache) <= cap and cache.rows <= cap
    assert cache.remembered <= cap
    # The newest predictions are the ones kept.
    assert cache.take("299998", now=1e6).predicted == 299998


@pytest.mark.parametrize(("max_rows", "ttl"), [(0, 1.0), (1, 0.0)])
def test_rejects_empty_bounds(max_rows, ttl):
    with pytest.raises(ValueError):
        PredictionCache(max_rows, ttl)
