"""Soak: one million monitored calls in one process; memory flat, export size bounded.

The full pipeline runs: spans through a BatchSpanProcessor, metrics through a
PeriodicExportingMetricReader (every second, delta temporality), each into an exporter
that serializes the OTLP request (the bytes a collector would receive) and discards it.
Traffic: one-row numpy calls (matrix fast path), 10% batches of 64 rows, and a model
with a dict input holding a categorical feature of 1,000 values (top-K overflow).

Printed: RSS every 100,000 calls (after draining the span queue) with the fill of the
sketches' bounded lookup-table caches, the RSS growth after a warm-up of 200,000 calls
(target < 5 MB), the
serialized size of each metrics export (bounded, independent of traffic), spans
exported and dropped.

    python benchmarks/soak.py [--calls N]
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import psutil
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import Counter, Histogram
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import mlotel
from mlotel.sketches import _kernel, mapping

DELTA = {Counter: AggregationTemporality.DELTA, Histogram: AggregationTemporality.DELTA}
# Bounded (LRU) lookup tables of the vectorized bucketing: they fill while new value ranges
# appear, then stay. Their sizes are printed with each RSS reading.
CACHES = (_kernel._window, _kernel._pair, mapping._threshold_chunk, mapping.sub_octave_table)


class CountingSpanExporter(SpanExporter):
    """Counts spans; serializes one batch in 50 (the full cost would dominate the run)."""

    def __init__(self) -> None:
        self.spans = 0
        self.batches = 0
        self.sampled_bytes_per_span = 0.0

    def export(self, spans):
        if self.batches % 50 == 0:
            self.sampled_bytes_per_span = len(encode_spans(spans).SerializeToString()) / max(len(spans), 1)
        self.batches += 1
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


class SizingMetricExporter(MetricExporter):
    def __init__(self) -> None:
        super().__init__(preferred_temporality=DELTA)
        self.sizes: list[int] = []

    def export(self, metrics_data, timeout_millis: float = 10_000, **kwargs):
        self.sizes.append(len(encode_metrics(metrics_data).SerializeToString()))
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--step", type=int, default=100_000, help="calls between RSS readings")
    parser.add_argument("--warmup", type=int, default=2, help="readings before the RSS baseline")
    args = parser.parse_args()

    spans = CountingSpanExporter()
    metrics = SizingMetricExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(
        BatchSpanProcessor(spans, max_queue_size=8192, max_export_batch_size=2048)
    )
    reader = PeriodicExportingMetricReader(metrics, export_interval_millis=1000)
    mlotel.configure(
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(metric_readers=[reader]),
        logger_provider=LoggerProvider(),
    )

    rng = np.random.default_rng(0)
    rows = rng.lognormal(size=(8192, 1, 8))
    batches = rng.normal(size=(64, 64, 8))
    countries = np.array([f"country-{i}" for i in range(1000)], dtype=object)

    @mlotel.monitor(model="soak")
    def predict(X):
        return X[:, 0]

    @mlotel.monitor(model="soak-dict")
    def predict_dict(X):
        return len(X["amount"])

    process = psutil.Process()
    readings = []
    started = time.perf_counter()
    for i in range(args.calls):
        if i % 10 == 0:
            predict(batches[i % 64])
        elif i % 10 == 5:
            predict_dict({"country": countries[i % 997 : i % 997 + 2], "amount": rows[i % 8192, 0, :2]})
        else:
            predict(rows[i % 8192])
        if (i + 1) % args.step == 0:
            tracer_provider.force_flush()  # RSS of mlotel, not of spans waiting in the (bounded) queue
            gc.collect()
            readings.append(process.memory_info().rss)
            caches = " ".join(f"{c.cache_info().currsize}/{c.cache_info().maxsize}" for c in CACHES)
            print(
                f"{i + 1:>9} calls  rss {readings[-1] / 2**20:7.1f} MiB  {time.perf_counter() - started:6.1f} s"
                f"  sketch table caches {caches}"
            )
    elapsed = time.perf_counter() - started
    mlotel.shutdown()
    tracer_provider.shutdown()

    base = min(args.warmup, len(readings)) - 1
    growth = (max(readings[base:]) - readings[base]) / 2**20
    sizes = metrics.sizes[1:-1] or metrics.sizes  # whole intervals only
    print(f"{args.calls} calls in {elapsed:.1f} s ({elapsed / args.calls * 1e6:.1f} us/call)")
    print(f"RSS growth after the first {(base + 1) * args.step} calls: {growth:.2f} MiB (target < 5)")
    print(
        f"metrics export per interval: {len(metrics.sizes)} exports, "
        f"min {min(sizes)} B, median {int(np.median(sizes))} B, max {max(sizes)} B"
    )
    print(
        f"spans exported: {spans.spans} (~{spans.sampled_bytes_per_span:.0f} B each serialized), "
        f"dropped: {args.calls - spans.spans}"
    )


if __name__ == "__main__":
    main()
