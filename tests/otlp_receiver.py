"""An in-process OTLP/gRPC receiver that records every export request, for tests.

:class:`OTLPReceiver` implements the three OTLP collector services (traces, metrics,
logs) from ``opentelemetry-proto`` on a grpcio server bound to ``127.0.0.1``. It
stores each ``Export*ServiceRequest`` unmodified and offers flattened, read-only
views (:class:`SpanRecord`, :class:`MetricRecord`, :class:`LogRecord`) plus
:meth:`OTLPReceiver.wait_for` to block until the data a test expects has arrived.

Tests normally get one through the ``otlp_receiver`` or ``collector`` fixtures in
``tests/conftest.py``; this module holds no pytest code so it can be imported
anywhere as ``from tests.otlp_receiver import ...`` (pytest's ``pythonpath`` is the
repository root).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord as PbLogRecord
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

__all__ = [
    "LogRecord",
    "MetricRecord",
    "OTLPReceiver",
    "Scope",
    "SpanRecord",
    "any_value_to_python",
    "attrs_to_dict",
    "free_port",
    "free_ports",
]

T = TypeVar("T")

LOOPBACK = "127.0.0.1"


def free_ports(count: int) -> list[int]:
    """Return ``count`` distinct TCP ports on 127.0.0.1 that were free a moment ago.

    All sockets are held open until every port is chosen, so the ports are
    distinct; another process may still grab one before the caller binds it.
    """
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(sock.getsockname()[1])
        return ports


def free_port() -> int:
    """Return one TCP port on 127.0.0.1 that was free a moment ago (see :func:`free_ports`)."""
    return free_ports(1)[0]


def any_value_to_python(value: AnyValue) -> Any:
    """Convert an OTLP ``AnyValue`` to the equivalent Python value.

    Strings, bools, ints, doubles and bytes map to ``str``/``bool``/``int``/``float``/``bytes``;
    arrays to ``list``; kvlists to ``dict``; an unset value to ``None``.
    """
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value_to_python(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attrs_to_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attrs_to_dict(kvs: Iterable[KeyValue]) -> dict[str, Any]:
    """Convert a sequence of OTLP ``KeyValue`` to ``{key: python value}`` (see :func:`any_value_to_python`).

    A repeated key keeps its last value, as the OTLP spec leaves duplicates undefined.
    """
    return {kv.key: any_value_to_python(kv.value) for kv in kvs}


@dataclass(frozen=True)
class Scope:
    """The instrumentation scope that produced a record."""

    name: str
    version: str
    attributes: dict[str, Any]

    @classmethod
    def from_pb(cls, scope: InstrumentationScope) -> Scope:
        return cls(scope.name, scope.version, attrs_to_dict(scope.attributes))


@dataclass(frozen=True)
class SpanRecord:
    """One received span with its resource and scope flattened in."""

    resource: dict[str, Any]
    scope: Scope
    span: Span
    attributes: dict[str, Any]

    @property
    def name(self) -> str:
        return self.span.name


@dataclass(frozen=True)
class MetricRecord:
    """One received metric (one ``Metric`` message, i.e. one export of it) with its resource and scope.

    ``kind`` is the name of the set data field: ``"gauge"``, ``"sum"``, ``"histogram"``,
    ``"exponential_histogram"`` or ``"summary"``; ``data`` is that field's message and
    ``data_points`` its repeated ``data_points``.
    """

    resource: dict[str, Any]
    scope: Scope
    metric: Metric

    @property
    def name(self) -> str:
        return self.metric.name

    @property
    def unit(self) -> str:
        return self.metric.unit

    @property
    def description(self) -> str:
        return self.metric.description

    @property
    def kind(self) -> str | None:
        return self.metric.WhichOneof("data")

    @property
    def data(self) -> Any:
        return getattr(self.metric, self.kind) if self.kind else None

    @property
    def data_points(self) -> Sequence[Any]:
        return self.data.data_points if self.kind else []


@dataclass(frozen=True)
class LogRecord:
    """One received log record with its resource and scope flattened in."""

    resource: dict[str, Any]
    scope: Scope
    log: PbLogRecord
    attributes: dict[str, Any]

    @property
    def body(self) -> Any:
        return any_value_to_python(self.log.body)


class _TraceServicer(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(self, request, context):  # noqa: N802 - gRPC method name
        self._receiver._record("traces", request)
        return trace_service_pb2.ExportTraceServiceResponse()


class _MetricsServicer(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(self, request, context):  # noqa: N802 - gRPC method name
        self._receiver._record("metrics", request)
        return metrics_service_pb2.ExportMetricsServiceResponse()


class _LogsServicer(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, receiver: OTLPReceiver) -> None:
        self._receiver = receiver

    def Export(self, request, context):  # noqa: N802 - gRPC method name
        self._receiver._record("logs", request)
        return logs_service_pb2.ExportLogsServiceResponse()


class OTLPReceiver:
    """OTLP/gRPC traces, metrics and logs receiver on 127.0.0.1 that stores every request.

    Accepts plain and gzip-compressed requests and always answers with an empty
    (fully successful) response. All public methods are thread-safe; the
    accessors return snapshots, so later arrivals never mutate a returned list.

    Use as a context manager or call :meth:`start` / :meth:`stop`.
    """

    _SIGNALS = ("traces", "metrics", "logs")

    def __init__(self, port: int = 0, max_workers: int = 4) -> None:
        """Create a stopped receiver; ``port=0`` picks a free port at :meth:`start`."""
        self._requested_port = port
        self._max_workers = max_workers
        self._server: grpc.Server | None = None
        self._port: int | None = None
        self._cond = threading.Condition()
        self._generation = 0  # bumped on every arrival, so waiters never miss one
        self._requests: dict[str, list[Any]] = {s: [] for s in self._SIGNALS}

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> OTLPReceiver:
        """Bind and start serving; returns ``self``. Raises ``RuntimeError`` if already started."""
        if self._server is not None:
            raise RuntimeError("receiver already started")
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._max_workers, thread_name_prefix="otlp-receiver"),
            # Metric exports of large histograms can exceed gRPC's 4 MiB default.
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)
        port = server.add_insecure_port(f"{LOOPBACK}:{self._requested_port}")
        if port == 0:
            raise RuntimeError(f"could not bind {LOOPBACK}:{self._requested_port}")
        server.start()
        self._server, self._port = server, port
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving (idempotent); stored data is kept."""
        if self._server is not None:
            self._server.stop(grace).wait()
            self._server = None

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port; raises ``RuntimeError`` before the first :meth:`start`."""
        if self._port is None:
            raise RuntimeError("receiver not started")
        return self._port

    @property
    def address(self) -> str:
        """``"127.0.0.1:PORT"``."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def endpoint(self) -> str:
        """``"http://127.0.0.1:PORT"``, the form OTLP gRPC exporters take."""
        return f"http://{self.address}"

    # -- storage -------------------------------------------------------------------

    def _record(self, signal: str, request: Any) -> None:
        with self._cond:
            self._requests[signal].append(request)
            self._generation += 1
            self._cond.notify_all()

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._cond:
            for requests in self._requests.values():
                requests.clear()
            self._generation += 1

    def trace_requests(self) -> list[trace_service_pb2.ExportTraceServiceRequest]:
        """Snapshot of the raw trace export requests, in arrival order."""
        with self._cond:
            return list(self._requests["traces"])

    def metrics_requests(self) -> list[metrics_service_pb2.ExportMetricsServiceRequest]:
        """Snapshot of the raw metrics export requests, in arrival order."""
        with self._cond:
            return list(self._requests["metrics"])

    def logs_requests(self) -> list[logs_service_pb2.ExportLogsServiceRequest]:
        """Snapshot of the raw logs export requests, in arrival order."""
        with self._cond:
            return list(self._requests["logs"])

    # -- flattened views -----------------------------------------------------------

    def spans(self, name: str | None = None) -> list[SpanRecord]:
        """Every received span (optionally only those called ``name``), in arrival order."""
        out = []
        for request in self.trace_requests():
            for rs in request.resource_spans:
                resource = attrs_to_dict(rs.resource.attributes)
                for ss in rs.scope_spans:
                    scope = Scope.from_pb(ss.scope)
                    for span in ss.spans:
                        if name is None or span.name == name:
                            out.append(SpanRecord(resource, scope, span, attrs_to_dict(span.attributes)))
        return out

    def metrics(self, name: str | None = None) -> list[MetricRecord]:
        """Every received metric message (optionally only ``name``), in arrival order.

        A periodic reader re-exports each metric every interval, so one instrument
        usually appears several times; use :meth:`latest_metric` for the newest.
        """
        out = []
        for request in self.metrics_requests():
            for rm in request.resource_metrics:
                resource = attrs_to_dict(rm.resource.attributes)
                for sm in rm.scope_metrics:
                    scope = Scope.from_pb(sm.scope)
                    for metric in sm.metrics:
                        if name is None or metric.name == name:
                            out.append(MetricRecord(resource, scope, metric))
        return out

    def latest_metric(self, name: str) -> MetricRecord | None:
        """The most recently received metric called ``name``, or ``None``."""
        found = self.metrics(name)
        return found[-1] if found else None

    def logs(self) -> list[LogRecord]:
        """Every received log record, in arrival order."""
        out = []
        for request in self.logs_requests():
            for rl in request.resource_logs:
                resource = attrs_to_dict(rl.resource.attributes)
                for sl in rl.scope_logs:
                    scope = Scope.from_pb(sl.scope)
                    for log in sl.log_records:
                        out.append(LogRecord(resource, scope, log, attrs_to_dict(log.attributes)))
        return out

    # -- waiting -------------------------------------------------------------------

    def wait_for(self, predicate: Callable[[OTLPReceiver], T], timeout: float = 15.0) -> T:
        """Block until ``predicate(self)`` returns a truthy value and return that value.

        The predicate is re-evaluated on every arrival (and at least every 0.1 s).
        Typical use returns the matching items, e.g.
        ``r.wait_for(lambda r: r.spans("predict"))``. Raises ``AssertionError`` with
        a :meth:`summary` of everything received if ``timeout`` seconds pass first.
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._cond:
                generation = self._generation
            result = predicate(self)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"OTLP receiver at {self.address}: condition not met within {timeout:g}s; received:\n"
                    + self.summary()
                )
            with self._cond:
                if self._generation == generation:
                    self._cond.wait(min(remaining, 0.1))

    def wait_for_spans(
        self,
        name: str | None = None,
        count: int = 1,
        where: Callable[[SpanRecord], bool] | None = None,
        timeout: float = 15.0,
    ) -> list[SpanRecord]:
        """Wait until at least ``count`` spans match ``name`` and ``where``; return all that match."""
        return self.wait_for(lambda r: _at_least(r.spans(name), count, where), timeout)

    def wait_for_metrics(
        self,
        name: str | None = None,
        count: int = 1,
        where: Callable[[MetricRecord], bool] | None = None,
        timeout: float = 15.0,
    ) -> list[MetricRecord]:
        """Wait until at least ``count`` metric messages match ``name`` and ``where``; return all that match."""
        return self.wait_for(lambda r: _at_least(r.metrics(name), count, where), timeout)

    def wait_for_logs(
        self,
        count: int = 1,
        where: Callable[[LogRecord], bool] | None = None,
        timeout: float = 15.0,
    ) -> list[LogRecord]:
        """Wait until at least ``count`` log records match ``where``; return all that match."""
        return self.wait_for(lambda r: _at_least(r.logs(), count, where), timeout)

    def summary(self, limit: int = 20) -> str:
        """Human-readable digest of what was received (at most ``limit`` lines per signal)."""
        spans, metrics, logs = self.spans(), self.metrics(), self.logs()
        lines = [f"  {len(spans)} span(s):"]
        lines += [f"    {s.name!r} scope={s.scope.name!r} attrs={s.attributes}" for s in spans[:limit]]
        lines.append(f"  {len(metrics)} metric message(s):")
        lines += [
            f"    {m.name!r} {m.kind} unit={m.unit!r} points={len(m.data_points)} scope={m.scope.name!r}"
            for m in metrics[:limit]
        ]
        lines.append(f"  {len(logs)} log record(s):")
        lines += [
            f"    {lg.log.severity_text or '-'} {lg.body!r} attrs={lg.attributes}" for lg in logs[:limit]
        ]
        for n, shown in ((len(spans), "spans"), (len(metrics), "metrics"), (len(logs), "logs")):
            if n > limit:
                lines.append(f"  ... {n - limit} more {shown} not shown")
        return "\n".join(lines)


def _at_least(items: list[T], count: int, where: Callable[[T], bool] | None) -> list[T]:
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    if where is not None:
        items = [item for item in items if where(item)]
    return items if len(items) >= count else []
