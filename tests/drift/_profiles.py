"""Profile equality as merging promises it (one process, partitions, engines): sketches exact,
float sums up to rounding."""

from __future__ import annotations

import numpy as np

from mlotel.drift import ReferenceProfile

_EPS = np.finfo(np.float64).eps


def assert_same_profile(a: ReferenceProfile, b: ReferenceProfile) -> None:
    """Every bucket, count, min/max, quantile edge and top-K entry equal; sums, means and
    second moments within the rounding error of summing the values in another order
    (``count * eps * max|value|``, so cancellation of large values is allowed for)."""
    assert (a.n_rows, a.quantile_bins) == (b.n_rows, b.quantile_bins)
    assert list(a.columns()) == list(b.columns())
    assert (a.target is None) == (b.target is None)
    for name, fa in a.columns().items():
        fb = b.columns()[name]
        assert (fa.kind, fa.count, fa.missing) == (fb.kind, fb.count, fb.missing), name
        if fa.kind == "categorical":
            assert fa.frequent == fb.frequent, name
            continue
        ha, hb = fa.histogram, fb.histogram
        for attr in ("scale", "zero_count", "positive", "negative", "count", "min", "max", "missing"):
            assert getattr(ha, attr) == getattr(hb, attr), (name, attr)
        assert (ha.pos_inf, ha.neg_inf) == (hb.pos_inf, hb.neg_inf), name
        np.testing.assert_array_equal(fa.quantile_edges, fb.quantile_edges)
        if not ha.count:
            continue
        scale = max(abs(ha.min), abs(ha.max))
        tol = 4 * _EPS * ha.count * scale
        assert abs(ha.sum - hb.sum) <= tol, (name, ha.sum, hb.sum)
        ma, mb = fa.moments, fb.moments
        assert (ma.count, ma.min, ma.max) == (mb.count, mb.min, mb.max), name
        assert abs(ma.mean - mb.mean) <= tol / ma.count, (name, ma.mean, mb.mean)
        assert abs(ma.m2 - mb.m2) <= 1e-9 * max(ma.m2, mb.m2) + 8 * tol * scale, (name, ma.m2, mb.m2)
