"""Reused (widened) bucket windows give the counts that exact windows give."""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.sketches import ExponentialHistogram, NumericProfile, _kernel


def _batches(rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for i in range(40):
        n = int(rng.integers(1, 5000))
        kind = i % 5
        if kind == 0:
            x = rng.normal(0, 10.0 ** rng.integers(-3, 4), n)  # the smallest |x| moves by octaves
        elif kind == 1:
            x = rng.lognormal(rng.normal(0, 3), 2.0, n)
        elif kind == 2:
            x = -rng.exponential(10.0 ** rng.integers(-5, 5), n)
        elif kind == 3:
            x = rng.normal(0, 1, n)
            x[rng.integers(0, n, max(1, n // 10))] = rng.choice([0.0, -0.0])
        else:
            x = rng.integers(-100, 100, n).astype(float) * 10.0 ** rng.integers(-300, 300)
        out.append(x)
    return out


def _sketch(batches: list[np.ndarray], fresh: bool, max_size: int, max_scale: int) -> list[dict]:
    columns = [ExponentialHistogram(max_size=max_size, max_scale=max_scale) for _ in range(3)]
    profile = NumericProfile(max_size=max_size, max_scale=max_scale)
    for i, x in enumerate(batches):
        if fresh:
            _kernel._RECENT.clear()
        columns[i % 3].update(x)
        profile.update(x)
    return [h.to_dict() for h in columns] + [profile.to_dict()]


@pytest.mark.parametrize("reuse_width", [2, 64])
@pytest.mark.parametrize("max_size,max_scale", [(160, 20), (2048, 20), (16384, 20), (2048, 3)])
def test_reused_windows_count_as_fresh_ones(
    max_size: int, max_scale: int, reuse_width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = _batches(np.random.default_rng(max_size + max_scale))
    monkeypatch.setattr(_kernel, "_RECENT", {})
    fresh = _sketch(batches, True, max_size, max_scale)
    monkeypatch.setattr(_kernel, "_REUSE_WIDTH", reuse_width)  # 64: windows far wider than needed
    requested = []
    bounds = _kernel.window_bounds
    monkeypatch.setattr(_kernel, "window_bounds", lambda *a: requested.append(bounds(*a)) or requested[-1])
    reused = _sketch(batches, False, max_size, max_scale)
    assert reused == fresh
    assert len(set(requested)) < len(requested)  # windows were reused


def test_windows_are_reused_across_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    monkeypatch.setattr(_kernel, "_RECENT", {})
    _kernel._window.cache_clear()
    h = ExponentialHistogram(max_size=2048, max_scale=20)
    h.update(rng.normal(size=100_000))  # settles the scale
    built = _kernel._window.cache_info().misses
    for _ in range(30):
        h.update(rng.normal(size=65_536))
    assert _kernel._window.cache_info().misses - built <= 6  # not one or two per batch
