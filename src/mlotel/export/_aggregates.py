"""mlotel's own metric aggregation: cheap on the hot path, exported through the SDK's readers.

Why not the SDK's instruments? One ``Histogram.record()`` costs several microseconds
and a per-value record can not carry a whole numpy batch; an OTel Python SDK has no
MetricProducer to plug pre-aggregated data into. So mlotel aggregates itself:

- an :class:`Instrument` is one metric stream (name, unit, kind) with a bounded set of
  :class:`Series`, one per attribute set; past ``max_series`` new attribute sets
  share one overflow series marked ``otel.metric.overflow=true``, as the SDK does;
- a :class:`Series` holds the *interval* state (what arrived since the last collection)
  under its own lock: the hot path touches one series and nothing else;
- at collection, :class:`Registry` swaps every series' interval state out and hands it
  to every subscriber: each metric reader (through :mod:`mlotel.export._bridge`) keeps
  its own cumulative or delta accumulation, and the drift monitor keeps its windows.

Memory is bounded by (instruments x max_series x subscribers) states of bounded size.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Buckets,
    ExponentialHistogram,
    ExponentialHistogramDataPoint,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)

from mlotel import _faults
from mlotel import _semconv as sc

AttrKey = tuple[tuple[str, Any], ...]
DEFAULT_MAX_SERIES = 2000


class HistogramState:
    """Explicit-bucket histogram: bucket i counts values in (bounds[i-1], bounds[i]], as in OTLP."""

    __slots__ = ("bounds", "counts", "count", "sum", "min", "max")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = float("inf")
        self.max = float("-inf")

    def record(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value

    def merge(self, other: HistogramState) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.count += other.count
        self.sum += other.sum
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def copy(self) -> HistogramState:
        new = HistogramState(self.bounds)
        new.merge(self)
        return new

    def is_empty(self) -> bool:
        return self.count == 0


class SumState:
    """A monotonic sum."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def merge(self, other: SumState) -> None:
        self.value += other.value

    def copy(self) -> SumState:
        new = SumState()
        new.value = self.value
        return new

    def is_empty(self) -> bool:
        return self.value == 0


class GaugeState:
    """The last value set."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: float | None = None

    def merge(self, other: GaugeState) -> None:
        if other.value is not None:
            self.value = other.value

    def copy(self) -> GaugeState:
        new = GaugeState()
        new.value = self.value
        return new

    def is_empty(self) -> bool:
        return self.value is None


class Series:
    """One attribute set of one instrument. Hot-path writers hold ``lock`` while mutating ``state``."""

    __slots__ = ("instrument", "attributes", "lock", "state", "new_state")

    def __init__(
        self,
        instrument: Instrument,
        attributes: dict[str, Any],
        new_state: Callable[[], Any] | None = None,
        lock: Any = None,
    ) -> None:
        self.instrument = instrument
        self.attributes = attributes
        self.lock = lock or threading.Lock()
        self.new_state = new_state or instrument.new_state
        self.state = self.new_state()

    # Hot-path helpers, one per kind; each is a few hundred nanoseconds.
    def record(self, value: float) -> None:
        with self.lock:
            self.state.record(value)

    def add(self, amount: int | float) -> None:
        with self.lock:
            self.state.value += amount

    def set(self, value: float) -> None:
        with self.lock:
            self.state.value = value

    def update(self, values: Any) -> None:
        """Feed a whole numpy batch to a sketch state (ExponentialHistogram, FrequentItems)."""
        with self.lock:
            self.state.update(values)

    def flush(self) -> None:
        """Push buffered values into the sketch (states with a pending buffer only)."""
        flush = getattr(self.state, "flush", None)
        if flush is not None:
            with self.lock:
                self.state.flush()

    def take(self):
        """Swap the interval state out; return it, or None when nothing arrived."""
        fresh = self.new_state()
        with self.lock:
            state, self.state = self.state, fresh
        inner = getattr(state, "sketch", None)  # a buffered sketch: hand on the sketch itself
        if inner is not None:
            state.flush()
            state = inner
        return None if _is_empty(state) else state


def _is_empty(state: Any) -> bool:
    is_empty = getattr(state, "is_empty", None)
    if is_empty is not None:
        return is_empty()
    # Sketches: nothing counted at all (a batch of only NaN still has news: its missing count).
    return not (
        getattr(state, "total", 0) or getattr(state, "count", 0) or getattr(state, "missing", 0)
    ) and not (getattr(state, "pos_inf", 0) or getattr(state, "neg_inf", 0))


class Instrument:
    """One metric stream with bounded cardinality.

    ``kind`` is one of ``histogram``, ``exponential_histogram``, ``counter``,
    ``category_counter`` (a FrequentItems state exported as one counter point per
    top value plus ``__other__`` under ``category_attribute``), or ``gauge``.
    """

    KINDS = ("histogram", "exponential_histogram", "counter", "category_counter", "gauge")

    def __init__(
        self,
        name: str,
        kind: str,
        unit: str,
        description: str,
        *,
        new_state: Callable[[], Any] | None = None,
        category_attribute: str | None = None,
        max_series: int = DEFAULT_MAX_SERIES,
    ) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown instrument kind {kind!r}")
        self.name = name
        self.kind = kind
        self.unit = unit
        self.description = description
        self.category_attribute = category_attribute
        self.max_series = max_series
        if new_state is None:
            new_state = {"counter": SumState, "gauge": GaugeState}.get(kind)
            if new_state is None:
                raise ValueError(f"{kind} instruments need a new_state factory")
        self.new_state = new_state
        self._series: dict[AttrKey, Series] = {}
        self._lock = threading.Lock()

    def series(
        self, attributes: dict[str, Any], new_state: Callable[[], Any] | None = None, lock: Any = None
    ) -> Series:
        """The series for ``attributes``; callers cache it (lookups are not for the hot path).

        ``new_state`` overrides the instrument's state factory for this series; ``lock``
        lets series always written together share one lock (one acquire per call).
        """
        key = tuple(sorted(attributes.items()))
        found = self._series.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._series.get(key)
            if found is None:
                if len(self._series) >= self.max_series:
                    return self._overflow_locked()
                found = self._series[key] = Series(self, dict(attributes), new_state, lock)
            return found

    def _overflow_locked(self) -> Series:
        key: AttrKey = ((sc.OVERFLOW, True),)
        found = self._series.get(key)
        if found is None:
            found = self._series[key] = Series(self, {sc.OVERFLOW: True})
        return found

    def all_series(self) -> list[Series]:
        with self._lock:
            return list(self._series.values())

    # -- export ---------------------------------------------------------------------------
    def points(self, attributes: dict[str, Any], state: Any, start: int, end: int) -> list[Any]:
        kind = self.kind
        if kind == "histogram":
            return [
                HistogramDataPoint(
                    attributes=attributes,
                    start_time_unix_nano=start,
                    time_unix_nano=end,
                    count=state.count,
                    sum=state.sum,
                    bucket_counts=list(state.counts),
                    explicit_bounds=list(state.bounds),
                    min=state.min,
                    max=state.max,
                )
            ]
        if kind == "exponential_histogram":
            return [exponential_point(attributes, state, start, end)]
        if kind == "counter":
            return [NumberDataPoint(attributes, start, end, state.value)]
        if kind == "gauge":
            return [NumberDataPoint(attributes, start, end, state.value)]
        # category_counter: top values then the rest, each its own point.
        points = [
            NumberDataPoint({**attributes, self.category_attribute: value}, start, end, count)
            for value, count in state.items()
        ]
        if state.other:
            points.append(
                NumberDataPoint({**attributes, self.category_attribute: state.OTHER}, start, end, state.other)
            )
        return points

    def metric(self, points: list[Any], temporality: AggregationTemporality) -> Metric:
        kind = self.kind
        if kind == "histogram":
            data: Any = Histogram(points, temporality)
        elif kind == "exponential_histogram":
            data = ExponentialHistogram(points, temporality)
        elif kind == "gauge":
            data = Gauge(points)
        else:
            data = Sum(points, temporality, True)
        return Metric(name=self.name, description=self.description, unit=self.unit, data=data)


def exponential_point(
    attributes: dict[str, Any], sketch: Any, start: int, end: int
) -> ExponentialHistogramDataPoint:
    """One OTLP ExponentialHistogramDataPoint from an :class:`mlotel.sketches.ExponentialHistogram`."""
    pos, neg = sketch.positive, sketch.negative
    empty = sketch.count == 0
    return ExponentialHistogramDataPoint(
        attributes=attributes,
        start_time_unix_nano=start,
        time_unix_nano=end,
        count=int(sketch.count),
        sum=float(sketch.sum),
        scale=int(sketch.scale),
        zero_count=int(sketch.zero_count),
        positive=Buckets(offset=int(pos.offset), bucket_counts=[int(c) for c in pos.counts]),
        negative=Buckets(offset=int(neg.offset), bucket_counts=[int(c) for c in neg.counts]),
        flags=0,
        min=0.0 if empty else float(sketch.min),
        max=0.0 if empty else float(sketch.max),
    )


Interval = list[tuple[Instrument, dict[str, Any], Any]]


class _Accumulator:
    """One subscriber's view: cumulative or delta state per (instrument, series)."""

    def __init__(self, created_ns: int) -> None:
        self.states: dict[tuple[str, AttrKey], tuple[Instrument, dict[str, Any], Any, int]] = {}
        # Cumulative streams start when the reader subscribed (before any call), as in the SDK.
        self.created_ns = created_ns
        self.last_collect_ns = created_ns

    def absorb(self, interval: Interval, now_ns: int) -> None:
        for instrument, attributes, state in interval:
            key = (instrument.name, tuple(sorted(attributes.items())))
            held = self.states.get(key)
            if held is None:
                self.states[key] = (instrument, attributes, state.copy(), self.created_ns)
            else:
                held[2].merge(state)

    def emit(
        self, temporalities: Callable[[Instrument], AggregationTemporality], now_ns: int
    ) -> list[Metric]:
        by_instrument: dict[str, tuple[Instrument, list[Any]]] = {}
        delta_keys = []
        for key, (instrument, attributes, state, first_ns) in self.states.items():
            temporality = temporalities(instrument)
            if temporality == AggregationTemporality.DELTA and instrument.kind != "gauge":
                start = self.last_collect_ns
                delta_keys.append(key)
            else:
                start = first_ns
            entry = by_instrument.setdefault(instrument.name, (instrument, []))
            entry[1].extend(instrument.points(attributes, state, start, now_ns))
        for key in delta_keys:
            del self.states[key]
        self.last_collect_ns = now_ns
        return [
            instrument.metric(points, temporalities(instrument))
            for instrument, points in by_instrument.values()
        ]


class Registry:
    """All of mlotel's instruments, and the subscribers that receive their intervals."""

    def __init__(self) -> None:
        self._instruments: dict[str, Instrument] = {}
        self._accumulators: dict[int, _Accumulator] = {}
        self._listeners: list[Callable[[Interval, int], None]] = []
        self._flushers: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._collect_lock = threading.Lock()

    def instrument(self, name: str, kind: str, unit: str, description: str, **kwargs: Any) -> Instrument:
        """Get or create the instrument ``name`` (idempotent)."""
        with self._lock:
            found = self._instruments.get(name)
            if found is None:
                found = self._instruments[name] = Instrument(name, kind, unit, description, **kwargs)
            return found

    def instruments(self) -> Iterable[Instrument]:
        return list(self._instruments.values())

    def add_listener(self, listener: Callable[[Interval, int], Interval | None]) -> None:
        """Call ``listener(interval, now_ns)`` with every swapped-out interval (the drift monitor uses this).

        A listener may return more entries (e.g. drift gauges computed from the interval);
        they join the interval before any reader sees it, so they export in the same collection.
        """
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Interval, int], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def add_flusher(self, flush: Callable[[], None]) -> None:
        """Call ``flush()`` before every collection (buffers that feed series in blocks)."""
        with self._lock:
            self._flushers.append(flush)

    def subscribe(self, key: int) -> None:
        """Start keeping an accumulation for the metric reader identified by ``key``."""
        with self._collect_lock:
            self._accumulators.setdefault(key, _Accumulator(time.time_ns()))

    def collect(
        self, key: int, temporalities: Callable[[Instrument], AggregationTemporality]
    ) -> list[Metric]:
        """Swap every series' interval out, feed all subscribers, and return reader ``key``'s metrics."""
        with self._collect_lock:
            now = time.time_ns()
            interval: Interval = []
            instruments = self.instruments()
            # Flush buffers first: a flush may add to other series (missing-value counters).
            for flush in list(self._flushers):
                flush()
            for instrument in instruments:
                for series in instrument.all_series():
                    series.flush()
            for instrument in instruments:
                for series in instrument.all_series():
                    state = series.take()
                    if state is not None:
                        interval.append((instrument, series.attributes, state))
            for listener in list(self._listeners):
                try:
                    extra = listener(interval, now)
                except Exception as exc:  # a listener must not stop the collection
                    _faults.record_fault("listener", exc)
                    extra = None
                if extra:
                    interval.extend(extra)
            for accumulator in self._accumulators.values():
                accumulator.absorb(interval, now)
            accumulator = self._accumulators.setdefault(key, _Accumulator(now))
            return accumulator.emit(temporalities, now)

    def reset(self) -> None:
        """Drop all state (after fork: a child must not report its parent's data again)."""
        with self._collect_lock, self._lock:
            self._instruments.clear()
            self._accumulators.clear()
