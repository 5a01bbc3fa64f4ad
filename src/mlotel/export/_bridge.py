"""Hand mlotel's pre-aggregated metrics to the SDK's metric readers.

The OpenTelemetry Python SDK has no MetricProducer. Every SDK ``MetricReader`` collects
through a callback that the ``MeterProvider`` installs on it (``reader._collect``); we wrap
that callback so each collection also returns mlotel's metrics, inside the SAME
``ResourceMetrics`` (the OTLP encoder groups by resource, and a second ResourceMetrics
with an equal resource would replace the first one's scopes). This works for any reader
(periodic OTLP, in-memory, Prometheus) on any SDK ``MeterProvider``, whether mlotel
created it or the application / ``opentelemetry-instrument`` did, and honours each
reader's preferred temporality (e.g. delta for Datadog).

It relies on two SDK internals, ``MetricReader._collect`` and
``MetricReader._instrument_class_temporality``, stable since SDK 1.12 and covered by
tests against the pinned SDK range.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import _Counter, _Histogram
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricReader,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from mlotel import _faults
from mlotel import _semconv as sc
from mlotel.export._aggregates import Instrument, Registry
from mlotel.export._setup import CountingExporter, GuardedExporter
from mlotel.version import __version__

_logger = logging.getLogger("mlotel")
_MARK = "_mlotel_wrapped"
SCOPE = InstrumentationScope(sc.SCOPE_NAME, __version__, sc.SCHEMA_URL)


def readers_of(provider: MeterProvider) -> list[MetricReader]:
    """The metric readers registered on an SDK provider (including ones added later)."""
    consumer = getattr(provider, "_measurement_consumer", None)
    storages = getattr(consumer, "_reader_storages", None)
    if storages is not None:
        return list(storages)
    return list(provider._sdk_config.metric_readers)


def _temporality_of(reader: MetricReader):
    table = getattr(reader, "_instrument_class_temporality", {})
    by_kind = {
        "histogram": table.get(_Histogram, table.get(Histogram, AggregationTemporality.CUMULATIVE)),
        "counter": table.get(_Counter, table.get(Counter, AggregationTemporality.CUMULATIVE)),
    }

    def temporality(instrument: Instrument) -> AggregationTemporality:
        if instrument.kind in ("histogram", "exponential_histogram"):
            return by_kind["histogram"]
        return by_kind["counter"]

    return temporality


def attach(provider: Any, registry: Registry) -> int:
    """Make every reader of ``provider`` also collect ``registry``. Returns how many readers were attached.

    Idempotent. A provider that is not the SDK's (a no-op or a vendor's) gets nothing
    and one log line saying why.
    """
    if not isinstance(provider, MeterProvider):
        _logger.info(
            "mlotel: the global MeterProvider is %s, not the OpenTelemetry SDK's; "
            "mlotel's metrics (latency, feature distributions) can not be attached to it.",
            type(provider).__name__,
        )
        return 0
    resource = provider._sdk_config.resource
    attached = 0
    for reader in readers_of(provider):
        marked = getattr(reader, _MARK, None)
        if marked is registry:
            attached += 1
            continue
        original = reader._collect
        if marked is not None:  # re-configured or forked: replace the old registry, don't stack wrappers
            original = getattr(original, "original", original)
        if original is None:
            continue
        registry.subscribe(id(reader))
        reader._collect = _wrap(original, registry, resource)
        setattr(reader, _MARK, registry)
        _count_failed_exports(reader)
        attached += 1
    return attached


def _count_failed_exports(reader: MetricReader) -> None:
    # A push reader's exporter (SDK internal ``_exporter``): the application's gets our
    # accounting of failed exports; the ones mlotel built count already.
    exporter = getattr(reader, "_exporter", None)
    if exporter is not None and not isinstance(exporter, CountingExporter | GuardedExporter):
        reader._exporter = CountingExporter("metrics", exporter)


def _wrap(original, registry: Registry, resource):
    def collect(reader: MetricReader, timeout_millis: float = 10_000, **kwargs: Any) -> MetricsData | None:
        data = original(reader, timeout_millis=timeout_millis, **kwargs)
        try:
            ours = registry.collect(id(reader), _temporality_of(reader))
        except Exception as exc:  # never break the SDK's own collection
            _faults.record_fault("export", exc)
            return data
        if not ours:
            return data
        return merge(data, ours, resource)

    collect.original = original  # type: ignore[attr-defined]
    return collect


def merge(data: MetricsData | None, metrics: list, resource) -> MetricsData:
    """Add mlotel's metrics to ``data`` under the same resource and the mlotel scope."""
    ours = ScopeMetrics(scope=SCOPE, metrics=metrics, schema_url=sc.SCHEMA_URL)
    if data is None or not data.resource_metrics:
        return MetricsData([ResourceMetrics(resource=resource, scope_metrics=[ours], schema_url="")])
    first, *rest = data.resource_metrics
    scopes = list(first.scope_metrics)
    for i, scope_metrics in enumerate(scopes):
        if scope_metrics.scope.name == SCOPE.name:  # the SDK meter "mlotel" (observable instruments)
            scopes[i] = ScopeMetrics(
                scope=scope_metrics.scope,
                metrics=[*scope_metrics.metrics, *metrics],
                schema_url=scope_metrics.schema_url,
            )
            break
    else:
        scopes.append(ours)
    merged = ResourceMetrics(resource=first.resource, scope_metrics=scopes, schema_url=first.schema_url)
    return MetricsData([merged, *rest])


def detach(provider: Any) -> None:
    """Undo :func:`attach` (used at shutdown by tests and after re-configuration)."""
    if not isinstance(provider, MeterProvider):
        return
    for reader in readers_of(provider):
        if getattr(reader, _MARK, None) is not None:
            original = getattr(reader._collect, "original", None)
            if original is not None:
                reader._collect = original
            exporter = getattr(reader, "_exporter", None)
            if isinstance(exporter, CountingExporter):
                reader._exporter = exporter.inner
            setattr(reader, _MARK, None)
