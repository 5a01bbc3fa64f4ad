"""File exporters: the default sink when no OTLP endpoint or ``OTEL_*_EXPORTER`` is configured.

Spans, metrics and logs go to ``traces.jsonl``, ``metrics.jsonl`` and ``logs.jsonl`` under
``$MLOTEL_DATA_DIR`` (default ``./mlotel-data``), one OTLP/JSON export request per line, the
format of the Collector's ``file`` exporter (see :mod:`mlotel.export.otlp_json`, which also reads
them back). Encoding reuses the SDK's OTLP protobuf encoders, so a line holds exactly what the
OTLP gRPC exporter would have sent.

Guarantees:

* ``export`` never raises; a failure (unwritable directory, full disk, unencodable data) returns
  FAILURE and is logged once per exporter with its traceback, later ones at debug level.
* Each export is one ``write(2)`` of one whole line on an ``O_APPEND`` descriptor, so threads and
  processes appending to the same file never interleave partial lines; nothing is buffered in
  Python, so ``force_flush`` has nothing to do. No fsync: a machine crash may lose the tail.
* When appending a line would take the file past ``max_bytes``, it is first renamed to
  ``<stem>.1.jsonl`` (older backups shift to ``.2`` ... ``.<backup_count>``; the oldest is
  deleted). A file thus stays within ``max_bytes`` unless a single line is larger. Rotation is
  serialized within a process; across processes sharing a directory it is best effort (a file
  renamed by another process is noticed and reopened before the next write).
* A line cut short by a crash is terminated with ``\\n`` when the file is next opened, so the
  following lines stay whole (the reader logs and skips the cut line).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf.message import Message
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.metrics.view import Aggregation
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from mlotel.export.otlp_json import FILE_NAMES, backup_path, from_proto

try:
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
except ImportError:  # SDK before the LogExporter -> LogRecordExporter rename
    from opentelemetry.sdk._logs.export import LogExporter as LogRecordExporter  # type: ignore[assignment]
    from opentelemetry.sdk._logs.export import LogExportResult as LogRecordExportResult  # type: ignore[assignment]

# OTLPMetricExporter's defaults (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE and
# ..._DEFAULT_HISTOGRAM_AGGREGATION, overridden per instrument by the arguments). Private in the
# SDK; their home moved in 1.4x, hence both imports.
try:
    from opentelemetry.exporter.otlp.common._aggregation import _get_aggregation, _get_temporality
except ImportError:
    from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import (
        OTLPMetricExporterMixin as _Mixin,
    )

    def _get_temporality(preferred):  # type: ignore[no-redef]
        return _Mixin._get_temporality(None, preferred)  # type: ignore[arg-type]

    def _get_aggregation(preferred):  # type: ignore[no-redef]
        return _Mixin._get_aggregation(None, preferred)  # type: ignore[arg-type]


__all__ = [
    "DATA_DIR_ENV",
    "DEFAULT_BACKUP_COUNT",
    "DEFAULT_DATA_DIR",
    "DEFAULT_MAX_BYTES",
    "FileLogExporter",
    "FileMetricExporter",
    "FileSpanExporter",
    "default_data_dir",
]

_logger = logging.getLogger(__name__)

DATA_DIR_ENV = "MLOTEL_DATA_DIR"
DEFAULT_DATA_DIR = "mlotel-data"
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_BACKUP_COUNT = 3


def default_data_dir() -> Path:
    """Return ``$MLOTEL_DATA_DIR`` if set and non-empty, else ``./mlotel-data`` (relative to the
    current directory at call time). Does not create it."""
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


# One lock per file path, shared by every writer of that path in this process, so two exporters
# pointed at one file cannot rotate it under each other. Looked up on each write so the table can
# be replaced after fork (a lock held by another thread at fork time would never be released).
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(key: str) -> threading.Lock:
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def _reset_locks_after_fork() -> None:
    global _locks_guard
    _locks_guard = threading.Lock()
    _locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_after_fork)


class _RotatingJsonlFile:
    """Appends whole lines to one file, rotating by size. Not public; see the module docstring."""

    def __init__(self, path: Path, max_bytes: int, backup_count: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        if backup_count < 0:
            raise ValueError(f"backup_count must be >= 0, got {backup_count}")
        self.path = path
        self._key = os.path.abspath(path)
        self._max_bytes = max_bytes
        self._backup_count = backup_count
        self._fd: int | None = None
        self._closed = False

    def write_line(self, line: bytes) -> None:
        """Append ``line`` (which ends with ``\\n``). Raises OSError or ValueError if closed."""
        with _lock_for(self._key):
            if self._closed:
                raise ValueError(f"{self.path} is closed")
            fd = self._current_fd()
            size = os.fstat(fd).st_size
            if size and size + len(line) > self._max_bytes:
                self._rotate()
                fd = self._current_fd()
            view = memoryview(line)
            while view:  # write(2) on a regular file is whole unless interrupted or out of space
                view = view[os.write(fd, view) :]

    def close(self) -> None:
        with _lock_for(self._key):
            self._closed = True
            self._close_fd()

    def _current_fd(self) -> int:
        # Reopen when the path no longer names our file: another writer (or logrotate) moved it.
        if self._fd is not None:
            try:
                on_disk = os.stat(self.path)
            except FileNotFoundError:
                on_disk = None
            mine = os.fstat(self._fd)
            if on_disk is None or (on_disk.st_ino, on_disk.st_dev) != (mine.st_ino, mine.st_dev):
                self._close_fd()
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                self._terminate_partial_line(fd)
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
        return self._fd

    def _terminate_partial_line(self, fd: int) -> None:
        # A crash mid-write leaves a line without "\n"; appending after it would corrupt the next
        # line too. Appending "\n" (rather than truncating) cannot damage a concurrent writer's
        # line: O_APPEND writes land whole after it, leaving at worst an empty line.
        size = os.fstat(fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(size - 1)
            last = fh.read(1)
        if last != b"\n":
            os.write(fd, b"\n")

    def _rotate(self) -> None:
        self._close_fd()
        try:
            if self._backup_count == 0:
                os.remove(self.path)
                return
            for index in range(self._backup_count - 1, 0, -1):
                src = backup_path(self.path, index)
                if src.exists():
                    os.replace(src, backup_path(self.path, index + 1))
            os.replace(self.path, backup_path(self.path, 1))
        except FileNotFoundError:
            pass  # another process rotated it first

    def _close_fd(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


class _SignalFile:
    """Encodes batches to lines of one signal's file; the part the three exporters share."""

    def __init__(
        self,
        directory: str | os.PathLike[str] | None,
        kind: str,
        encode: Callable[[Any], Message],
        max_bytes: int,
        backup_count: int,
    ) -> None:
        base = Path(directory) if directory is not None else default_data_dir()
        self._file = _RotatingJsonlFile(base / FILE_NAMES[kind], max_bytes, backup_count)
        self._encode = encode
        self._failed_before = False
        self._shutdown = False

    @property
    def path(self) -> Path:
        return self._file.path

    def export(self, batch: Any) -> bool:
        """Append ``batch`` as one line; return False (never raise) on any failure."""
        if self._shutdown:
            _logger.debug("mlotel file exporter for %s is shut down; dropping a batch", self.path)
            return False
        try:
            request = self._encode(batch)
            if not _has_resources(request):
                return True
            self._file.write_line(_to_line(request))
        except Exception:
            if self._failed_before:
                _logger.debug("mlotel could not write telemetry to %s", self.path, exc_info=True)
            else:
                self._failed_before = True
                _logger.exception(
                    "mlotel could not write telemetry to %s; data is dropped "
                    "(repeated failures are logged at debug level)",
                    self.path,
                )
            return False
        return True

    def shutdown(self) -> None:
        self._shutdown = True
        try:
            self._file.close()
        except OSError:
            _logger.debug("closing %s failed", self.path, exc_info=True)


def _to_line(request: Message) -> bytes:
    text = json.dumps(from_proto(request), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"\n"


def _has_resources(request: Message) -> bool:
    # Each request type has exactly one repeated top-level field (resource_spans/metrics/logs).
    return any(request.ListFields())


class FileSpanExporter(SpanExporter):
    """Write spans to ``<directory>/traces.jsonl`` as OTLP/JSON lines.

    Args:
        directory: data directory; ``None`` means :func:`default_data_dir` at construction.
            Created on the first export.
        max_bytes: size at which the file is rotated.
        backup_count: rotated files kept (``traces.1.jsonl`` newest); 0 keeps none.

    Raises:
        ValueError: ``max_bytes <= 0`` or ``backup_count < 0``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        self._sink = _SignalFile(directory, "traces", encode_spans, max_bytes, backup_count)

    @property
    def path(self) -> Path:
        """The live file written to."""
        return self._sink.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append ``spans`` as one line. Never raises; FAILURE after shutdown or on error."""
        return SpanExportResult.SUCCESS if self._sink.export(spans) else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Close the file; later exports return FAILURE."""
        self._sink.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Return True: every export is already handed to the OS when it returns."""
        return True


class FileMetricExporter(MetricExporter):
    """Write metrics to ``<directory>/metrics.jsonl`` as OTLP/JSON lines.

    Args:
        directory, max_bytes, backup_count: as for :class:`FileSpanExporter`.
        preferred_temporality: per-instrument-class temporality, applied over the defaults of
            ``OTLPMetricExporter`` (cumulative, or per
            ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``).
        preferred_aggregation: per-instrument-class aggregation, applied over
            ``OTLPMetricExporter``'s defaults (``OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION``).

    Raises:
        ValueError: ``max_bytes <= 0`` or ``backup_count < 0``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
        preferred_temporality: dict[type, AggregationTemporality] | None = None,
        preferred_aggregation: dict[type, Aggregation] | None = None,
    ) -> None:
        super().__init__(
            preferred_temporality=_get_temporality(preferred_temporality),
            preferred_aggregation=_get_aggregation(preferred_aggregation),
        )
        self._sink = _SignalFile(directory, "metrics", encode_metrics, max_bytes, backup_count)

    @property
    def path(self) -> Path:
        """The live file written to."""
        return self._sink.path

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Append ``metrics_data`` as one line. Never raises; FAILURE after shutdown or on error."""
        return MetricExportResult.SUCCESS if self._sink.export(metrics_data) else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Return True: every export is already handed to the OS when it returns."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Close the file; later exports return FAILURE."""
        self._sink.shutdown()


class FileLogExporter(LogRecordExporter):
    """Write log records to ``<directory>/logs.jsonl`` as OTLP/JSON lines.

    Args and errors as for :class:`FileSpanExporter`.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        backup_count: int = DEFAULT_BACKUP_COUNT,
    ) -> None:
        self._sink = _SignalFile(directory, "logs", encode_logs, max_bytes, backup_count)

    @property
    def path(self) -> Path:
        """The live file written to."""
        return self._sink.path

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        """Append ``batch`` (``ReadableLogRecord``) as one line. Never raises; FAILURE after
        shutdown or on error."""
        return LogRecordExportResult.SUCCESS if self._sink.export(batch) else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        """Close the file; later exports return FAILURE."""
        self._sink.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Return True: every export is already handed to the OS when it returns."""
        return True
