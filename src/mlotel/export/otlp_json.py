"""OTLP/JSON lines: the on-disk format of mlotel's file exporters.

Each line of a ``traces.jsonl``, ``metrics.jsonl`` or ``logs.jsonl`` file is one complete
``ExportTraceServiceRequest``, ``ExportMetricsServiceRequest`` or ``ExportLogsServiceRequest`` in
the OTLP "JSON Protobuf Encoding" (opentelemetry-proto ``docs/specification.md``), terminated by
``\\n``. This is what the OpenTelemetry Collector's ``file`` exporter writes with ``format: json``,
so files written by a Collector are read the same way as mlotel's own.

Encoding choices (those of protojson plus the two OTLP exceptions, as the Collector writes them):

* field names are lowerCamelCase (``startTimeUnixNano``, ``resourceSpans``);
* ``traceId``, ``spanId`` and ``parentSpanId`` (spans, links, log records, exemplars) are
  lowercase hex strings, not protojson's base64; every other ``bytes`` field, e.g. an
  ``AnyValue.bytesValue``, stays base64;
* enums are integers (``"kind": 2``, ``"code": 2``, ``"aggregationTemporality": 2``);
* 64-bit integers (``int64``, ``uint64``, ``fixed64``: timestamps, counts, ``intValue``) are
  decimal strings; doubles are JSON numbers, with ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` as
  strings, so every line is strict JSON;
* fields holding their default value (0, ``""``, empty lists) are omitted, except proto3
  ``optional`` fields such as ``HistogramDataPoint.sum`` which appear whenever they are set.

A span line (wrapped here)::

    {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"churn"}}]},
     "scopeSpans":[{"scope":{"name":"mlotel"},"spans":[{"traceId":"5b8efff798038103d269b633813fc60c",
     "spanId":"eee19b7ec3c1b174","name":"predict","kind":1,"startTimeUnixNano":"1544712660000000000",
     "endTimeUnixNano":"1544712661000000000","status":{"code":2,"message":"boom"}}]}]}]}

Readers accept a superset (as the Collector's own unmarshaler does): snake_case field names,
enum names, 64-bit integers as numbers, and ids as either hex or base64.

Rotated files: mlotel renames ``traces.jsonl`` to ``traces.1.jsonl`` (``.2``, ... older); the
Collector's ``file`` exporter, with ``rotation`` set, names backups ``traces-<timestamp>.jsonl``.
:func:`read_otlp_json` reads both kinds of backups, oldest first, before the live file.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = [
    "FILE_NAMES",
    "Kind",
    "OtlpRequest",
    "backup_path",
    "from_proto",
    "read_otlp_json",
    "signal_files",
    "to_proto",
]

_logger = logging.getLogger(__name__)

Kind = Literal["traces", "metrics", "logs"]
OtlpRequest = ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest

#: Live file name of each signal inside a data directory.
FILE_NAMES: dict[str, str] = {"traces": "traces.jsonl", "metrics": "metrics.jsonl", "logs": "logs.jsonl"}

_REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
# The top-level field of each request, in both spellings protojson accepts.
_TOP_FIELDS: dict[str, str] = {
    "resourceSpans": "traces",
    "resource_spans": "traces",
    "resourceMetrics": "metrics",
    "resource_metrics": "metrics",
    "resourceLogs": "logs",
    "resource_logs": "logs",
}
# In OTLP trace, metrics and logs messages these names only ever denote trace/span ids (attribute
# keys are values of a "key" field, never dict keys), so a name-based walk is exact.
_HEX_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId"})
_ID_KEYS_ANY_CASE = _HEX_ID_KEYS | {"trace_id", "span_id", "parent_span_id"}
_HEX_RE = re.compile(r"[0-9a-fA-F]*")


def from_proto(message: Message) -> dict[str, Any]:
    """Return ``message`` (an OTLP export request, or any OTLP message) as an OTLP/JSON dict.

    ``json.dumps(from_proto(m), allow_nan=False)`` is one line of the file format. Never raises
    for a valid message.
    """
    obj = json_format.MessageToDict(message, preserving_proto_field_name=False, use_integers_for_enums=True)
    _ids_to_hex_in_place(obj)
    return obj


def to_proto(
    obj: dict[str, Any], kind: Kind | None = None, *, ignore_unknown_fields: bool = True
) -> OtlpRequest:
    """Parse one OTLP/JSON line (already ``json.loads``-ed) into its protobuf export request.

    The result is what the gRPC or HTTP/protobuf path would have received, so readers use one
    set of accessors for both. ``obj`` is not modified.

    Args:
        obj: the decoded line.
        kind: ``"traces"``, ``"metrics"`` or ``"logs"``; when ``None`` it is inferred from the
            top-level key (``resourceSpans``, ``resourceMetrics``, ``resourceLogs``).
        ignore_unknown_fields: skip fields this protobuf version does not know (lines from a
            newer Collector); when False they raise.

    Raises:
        ValueError: ``kind`` is unknown or cannot be inferred, or ``obj`` is not valid OTLP/JSON
            for that request type.
    """
    if kind is None:
        kinds = {_TOP_FIELDS[key] for key in obj if key in _TOP_FIELDS}
        if len(kinds) != 1:
            raise ValueError(f"cannot infer the OTLP signal of a line with keys {sorted(obj)[:5]}")
        kind = kinds.pop()  # type: ignore[assignment]
    try:
        request_type = _REQUEST_TYPES[kind]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"kind must be one of {sorted(_REQUEST_TYPES)}, got {kind!r}") from None
    message = request_type()
    try:
        json_format.ParseDict(
            _convert_ids(obj, _hex_to_b64, _ID_KEYS_ANY_CASE),
            message,
            ignore_unknown_fields=ignore_unknown_fields,
        )
    except json_format.ParseError as exc:
        raise ValueError(f"not a valid OTLP/JSON {kind} line: {exc}") from exc
    return message  # type: ignore[return-value]


def backup_path(path: str | os.PathLike[str], index: int) -> Path:
    """Return the name of rotated backup ``index`` (1 = newest) of ``path``: ``traces.jsonl`` ->
    ``traces.<index>.jsonl``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{index}{path.suffix}")


def signal_files(path: str | os.PathLike[str]) -> list[Path]:
    """Return ``path`` preceded by its existing rotated backups, oldest first.

    Backups are mlotel's ``<stem>.<n><suffix>`` (higher ``n`` is older) and the Collector's
    ``<stem>-<timestamp><suffix>`` (ordered by their timestamp name), the latter first. ``path``
    is included only if it exists. Never raises for a missing directory (returns ``[]``).
    """
    path = Path(path)
    stem, suffix = re.escape(path.stem), re.escape(path.suffix)
    numbered = re.compile(rf"{stem}\.(\d+){suffix}")
    stamped = re.compile(rf"{stem}-\d{{4}}-\d\d-\d\dT[\d.-]+{suffix}")
    try:
        names = os.listdir(path.parent)
    except (FileNotFoundError, NotADirectoryError):
        return []
    by_index: list[tuple[int, str]] = []
    by_stamp: list[str] = []
    for name in names:
        if m := numbered.fullmatch(name):
            by_index.append((int(m.group(1)), name))
        elif stamped.fullmatch(name):
            by_stamp.append(name)
    ordered = sorted(by_stamp) + [name for _, name in sorted(by_index, reverse=True)]
    files = [path.parent / name for name in ordered]
    if path.name in names:
        files.append(path)
    return files


def read_otlp_json(
    path_or_dir: str | os.PathLike[str], kind: Kind | None = None, *, strict: bool = False
) -> Iterator[dict[str, Any]]:
    """Yield every OTLP/JSON line (decoded) of a file or of an mlotel data directory.

    A file path yields its rotated backups (see :func:`signal_files`), oldest first, then the
    file itself. A directory yields the files named in :data:`FILE_NAMES` (only ``kind``'s if
    given, otherwise traces, metrics, logs in that order) with their backups. Pass each dict
    to :func:`to_proto` for the protobuf form.

    Safe to run while an exporter appends: a final line without its ``\\n`` is a write in
    progress and is skipped silently; a backup renamed away between listing and opening is
    skipped. Empty lines are ignored.

    Args:
        path_or_dir: a ``.jsonl`` file (mlotel's or a Collector's) or a data directory.
        kind: restrict a directory to one signal; ignored for a file path.
        strict: when False (default), a complete line that is not a JSON object (e.g. cut by a
            crash, then terminated by the next writer) is logged and skipped; when True it raises.

    Raises:
        FileNotFoundError: ``path_or_dir`` does not exist.
        ValueError: ``kind`` is unknown, or ``strict`` and a complete line is invalid.
    """
    root = Path(path_or_dir)
    if not root.exists():
        raise FileNotFoundError(root)
    if root.is_dir():
        if kind is not None and kind not in FILE_NAMES:
            raise ValueError(f"kind must be one of {sorted(FILE_NAMES)}, got {kind!r}")
        kinds = [kind] if kind else list(FILE_NAMES)
        files = [f for k in kinds for f in signal_files(root / FILE_NAMES[k])]
    else:
        files = signal_files(root)
    for file in files:
        yield from _read_lines(file, strict)


def _read_lines(path: Path, strict: bool) -> Iterator[dict[str, Any]]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with below; the open may race a rotation
    except FileNotFoundError:
        return
    with fh:
        for lineno, raw in enumerate(fh, 1):
            complete = raw.endswith(b"\n")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
                if not complete:
                    return  # the writer has not finished this line yet
                if strict:
                    raise ValueError(f"{path}:{lineno}: not a JSON line: {exc}") from exc
                _logger.warning("Skipping invalid OTLP/JSON line %s:%d: %s", path, lineno, exc)
                continue
            if not isinstance(obj, dict):
                if strict:
                    raise ValueError(f"{path}:{lineno}: expected a JSON object, got {type(obj).__name__}")
                _logger.warning("Skipping non-object OTLP/JSON line %s:%d", path, lineno)
                continue
            yield obj


def _ids_to_hex_in_place(obj: Any) -> None:
    # The writer's hot path: the dict is freshly made, so edit it rather than copy it.
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in _HEX_ID_KEYS and isinstance(value, str):
                obj[key] = base64.b64decode(value).hex()
            elif isinstance(value, (dict, list)):
                _ids_to_hex_in_place(value)
    elif isinstance(obj, list):
        for value in obj:
            if isinstance(value, (dict, list)):
                _ids_to_hex_in_place(value)


def _convert_ids(obj: Any, convert, keys: frozenset[str]) -> Any:
    # Rebuilds containers instead of mutating, so callers' dicts stay untouched.
    if isinstance(obj, dict):
        return {
            k: convert(v) if k in keys and isinstance(v, str) else _convert_ids(v, convert, keys)
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_convert_ids(v, convert, keys) for v in obj]
    return obj


def _hex_to_b64(value: str) -> str:
    # OTLP ids are 16 or 8 bytes: 32 or 16 hex digits. A base64 id of those sizes has 24 or 12
    # characters, so a hex-looking value of the right length is never misread.
    if len(value) in (32, 16) and _HEX_RE.fullmatch(value):
        return base64.b64encode(binascii.unhexlify(value)).decode("ascii")
    return value  # already base64 (plain protojson) or empty; ParseDict validates it
