"""Per-feature profiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mlotel.sketches import CategoricalProfile, NumericProfile


def test_numeric_profile_counts_and_buffering_are_transparent() -> None:
    rng = np.random.default_rng(2)
    values = rng.normal(3, 2, 5000)
    values[::50] = np.nan
    values[7] = np.inf
    rows = NumericProfile(buffer_size=64)
    for v in values:  # one-row updates, as from a per-request predict()
        rows.update(np.array([v]))
    rows.update(values[:10].tolist())
    whole = NumericProfile()
    whole.update(values)
    whole.update(values[:10])
    assert rows.count == whole.count == 5010
    assert rows.missing == whole.missing == 101
    h1, h2 = rows.histogram, whole.histogram
    assert (h1.scale, h1.positive, h1.negative, h1.zero_count, h1.pos_inf) == (
        h2.scale,
        h2.positive,
        h2.negative,
        h2.zero_count,
        h2.pos_inf,
    )
    assert rows.moments.mean == pytest.approx(whole.moments.mean, rel=1e-12)
    assert rows.moments.variance == pytest.approx(
        np.nanvar(np.r_[values, values[:10]][np.isfinite(np.r_[values, values[:10]])]), rel=1e-9
    )
    assert len(rows._pending) == 0  # reading state flushed the buffer


def test_numeric_profile_merge_copy_round_trip() -> None:
    a, b = NumericProfile(), NumericProfile()
    a.update(np.array([1, 2, 3]))
    b.update(np.array([-1.5, None, 4.0], dtype=object))
    c = a.copy()
    c.merge(b)
    assert c.count == 6 and c.missing == 1 and a.count == 3
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert NumericProfile.from_dict(d) == c
    with pytest.raises(ValueError):
        NumericProfile.from_dict({**d, "type": "categorical"})


def test_pending_buffer_is_bounded() -> None:
    p = NumericProfile(buffer_size=32)
    for i in range(1000):
        p.update(np.array([float(i)]))
        assert len(p._pending) < 32
    assert p.count == 1000


def test_categorical_profile() -> None:
    p = CategoricalProfile(k=2)
    p.update(np.array(["a", "b", "a", None, "c", "a"], dtype=object))
    q = p.copy()
    q.merge(p)
    assert (p.count, p.missing) == (6, 1)
    assert (q.count, q.missing) == (12, 2)
    key, est = q.frequent.items()[0]
    assert key == "a" and est <= 6 <= est + q.frequent.other / 3  # Misra-Gries bound, k=2
    d = json.loads(json.dumps(q.to_dict()))
    assert CategoricalProfile.from_dict(d) == q
