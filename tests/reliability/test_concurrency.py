"""Threads and asyncio: exact row counts in the sketches, correct parent/child spans.

8 threads each serve 50,000 rows (large batches through the matrix fast path and one-row
calls through the buffers, interleaved), and 1,000 concurrent asyncio tasks each serve 50
rows with an ``await`` between outer and inner call. The exported sketches must equal,
bucket for bucket, the sketch of all rows computed in one thread; every inner span must
be the child of its own outer span.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import numpy as np

import mlotel
from mlotel.sketches import ExponentialHistogram
from tests.mlotel_fixtures import points

THREADS, ROWS_PER_THREAD, FEATURES = 8, 50_000, 3
BIG = 249  # rows per large call; 200 large + 200 one-row calls = 50,000 rows


def _check_sketches(metric, data: np.ndarray, model: str) -> None:
    for j in range(data.shape[1]):
        (point,) = points(metric, **{"ml.model.name": model, "ml.feature.name": f"f{j}"})
        truth = ExponentialHistogram(max_size=160)
        truth.update(data[:, j])
        assert point.count == truth.count == data.shape[0]
        assert point.scale == truth.scale
        assert point.zero_count == truth.zero_count
        for side, store in (("positive", truth.positive), ("negative", truth.negative)):
            buckets = getattr(point, side)
            assert list(buckets.bucket_counts) == [int(c) for c in store.counts]
            if len(store.counts):
                assert buckets.offset == store.offset
        assert point.min == data[:, j].min() and point.max == data[:, j].max()
        assert np.isclose(point.sum, data[:, j].sum())


def _check_parents(spans, outer: str, inner: str, expected: int) -> None:
    outers = {s.context.span_id: s for s in spans if s.name == f"predict {outer}"}
    inners = [s for s in spans if s.name == f"predict {inner}"]
    assert len(outers) == len(inners) == expected
    children = Counter(s.parent.span_id for s in inners)
    assert set(children) == set(outers) and set(children.values()) == {1}  # one child each, its own
    for s in inners:
        assert s.context.trace_id == outers[s.parent.span_id].context.trace_id
    assert all(s.parent is None for s in outers.values())


def test_threads_exact_sketches_and_span_parents(telemetry):
    @mlotel.monitor(model="inner")
    def inner(X):
        return X[:, 0]

    @mlotel.monitor(model="outer")
    def outer(X):
        return inner(X)

    data = [
        np.random.default_rng(seed).normal(seed, 1 + seed, size=(ROWS_PER_THREAD, FEATURES))
        for seed in range(8)
    ]
    start = threading.Barrier(THREADS)

    def serve(X: np.ndarray) -> None:
        start.wait()
        big, small = X[: 200 * BIG], X[200 * BIG :]
        for i in range(200):
            outer(big[i * BIG : (i + 1) * BIG])
            outer(small[i : i + 1])

    threads = [threading.Thread(target=serve, args=(X,)) for X in data]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    metrics = telemetry.collect()
    everything = np.concatenate(data)
    _check_sketches(metrics["ml.feature.value"], everything, "outer")
    _check_sketches(metrics["ml.feature.value"], everything, "inner")
    (value,) = points(metrics["ml.prediction.value"], **{"ml.model.name": "inner"})
    assert value.count == THREADS * ROWS_PER_THREAD
    (batch,) = points(metrics["ml.prediction.batch.size"], **{"ml.model.name": "outer"})
    assert batch.count == THREADS * 400 and batch.sum == THREADS * ROWS_PER_THREAD
    _check_parents(telemetry.spans(), "outer", "inner", THREADS * 400)


def test_a_thousand_concurrent_tasks(telemetry):
    @mlotel.monitor(model="inner")
    async def inner(X):
        await asyncio.sleep(0)
        return X.sum(axis=1)

    @mlotel.monitor(model="outer")
    async def outer(X):
        await asyncio.sleep(0)  # every task is suspended here at once: contexts must not leak
        return await inner(X)

    data = np.random.default_rng(1).lognormal(size=(1000, 50, 2))

    async def main():
        return await asyncio.gather(*(outer(X) for X in data))

    results = asyncio.run(main())
    assert all(np.array_equal(r, X.sum(axis=1)) for r, X in zip(results, data, strict=True))
    metrics = telemetry.collect()
    _check_sketches(metrics["ml.feature.value"], data.reshape(-1, 2), "outer")
    _check_parents(telemetry.spans(), "outer", "inner", 1000)
