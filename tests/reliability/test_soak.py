"""Long-running process, in small: state and export size do not grow with traffic.

(``benchmarks/soak.py`` runs one million calls and measures RSS.) Here, with a delta
reader as a backend such as Datadog uses: the serialized OTLP size of one interval's
metrics is the same order for 1,000 and for 100,000 calls, and the number of series
and the size of every held state stop growing after warm-up.
"""

from __future__ import annotations

import numpy as np
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import Counter, Histogram
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import mlotel
from mlotel import _runtime

DELTA = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}


def _state_size() -> tuple[int, int]:
    """(series, held bucket/key slots) across the registry and its readers' accumulations."""
    registry = _runtime.active().registry
    series = sum(len(i.all_series()) for i in registry.instruments())
    states = [getattr(s.state, "sketch", s.state) for i in registry.instruments() for s in i.all_series()]
    states += [state for acc in registry._accumulators.values() for _, _, state, _ in acc.states.values()]
    slots = 0
    for state in states:
        if hasattr(state, "positive"):
            slots += len(state.positive.counts) + len(state.negative.counts)
        elif hasattr(state, "items"):
            slots += len(state.items())
        else:
            slots += 1
    return series, slots


def test_interval_export_size_and_state_do_not_grow_with_traffic():
    reader = InMemoryMetricReader(preferred_temporality=DELTA)
    mlotel.configure(
        tracer_provider=TracerProvider(sampler=ALWAYS_OFF),
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    rng = np.random.default_rng(0)
    rows = rng.lognormal(size=(4096, 1, 8))
    countries = np.array([f"c{i}" for i in range(100)], dtype=object)

    @mlotel.monitor(model="soak")
    def predict(X):
        return X[:, 0]

    @mlotel.monitor(model="soak-dict")
    def predict_dict(X):
        return None

    def serve(calls: int) -> tuple[int, tuple[int, int]]:
        """Serve ``calls`` calls in one interval; return its export size and the state held before it."""
        for i in range(calls):
            predict(rows[i % len(rows)])
            if i % 10 == 0:
                predict_dict(
                    {"country": countries[i % 100 : i % 100 + 3], "amount": rows[i % len(rows), 0, :3]}
                )
        for flush in _runtime.active().registry._flushers:  # buffered rows into their sketches
            flush()
        held = _state_size()
        return len(encode_metrics(reader.get_metrics_data()).SerializeToString()), held

    serve(200)  # warm-up interval: every series exists
    small, small_state = serve(1_000)
    large, large_state = serve(100_000)
    print(
        f"interval export: {small} B after 1k calls, {large} B after 100k; state {small_state} -> {large_state}"
    )
    assert large <= 2 * small  # same order: bounded by buckets and series, not by calls
    assert large_state[0] == small_state[0]  # no new series
    assert large_state[1] <= 2 * small_state[1] and large_state[1] <= large_state[0] * 160
