"""Moments against numpy, and merge stability."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mlotel.sketches import Moments


@pytest.mark.parametrize("loc,scale", [(0.0, 1.0), (1e9, 1.0), (-3e5, 1e-3), (5.0, 1e6)])
def test_matches_numpy_and_merges_stably(loc: float, scale: float) -> None:
    rng = np.random.default_rng(11)
    values = rng.normal(loc, scale, 100_000)
    whole = Moments()
    whole.update(values)
    parts = [Moments() for _ in range(9)]
    for m, chunk in zip(parts, np.array_split(values, 9)):
        m.update(chunk)
    merged = parts[0].copy()
    for m in parts[1:]:
        merged.merge(m)
    streamed = Moments()
    for chunk in np.array_split(values, 1000):
        streamed.update(chunk)
    # A stable algorithm loses ~eps * kappa (kappa = |mean| / std); the textbook
    # sum-of-squares formula loses eps * kappa**2, i.e. everything for loc=1e9.
    rel = max(1e-9, 1e-15 * (1 + abs(loc) / scale))
    for m in (whole, merged, streamed):
        assert m.count == values.size
        assert m.mean == pytest.approx(values.mean(), rel=1e-13, abs=1e-12 * scale)
        assert m.variance == pytest.approx(values.var(), rel=rel)
        assert m.sample_variance == pytest.approx(values.var(ddof=1), rel=rel)
        assert m.std == pytest.approx(values.std(), rel=rel)
        assert (m.min, m.max) == (values.min(), values.max())


def test_ignores_non_finite_and_handles_empty() -> None:
    m = Moments()
    assert math.isnan(m.variance) and math.isnan(m.std) and m.count == 0
    m.update(np.array([1.0, np.nan, np.inf, 3.0, None], dtype=object))
    assert (m.count, m.mean, m.variance) == (2, 2.0, 1.0)
    empty = Moments()
    m2 = m.copy()
    m2.merge(empty)
    assert m2 == m
    empty.merge(m)
    assert empty == m


def test_round_trip() -> None:
    m = Moments()
    m.update(np.arange(10.0))
    d = json.loads(json.dumps(m.to_dict(), allow_nan=False))
    assert Moments.from_dict(d) == m
    assert json.dumps(Moments().to_dict(), allow_nan=False)
