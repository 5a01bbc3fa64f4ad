"""WARN log records about a model (drift alerts, feedback loops, refused outputs).

Each goes to Python logging (``mlotel`` logger) and, when the runtime has a logger, out as
an OTel log record, correlated with the model's most recent call when there is one, so a
backend links the warning to a trace.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["warn"]

_logger = logging.getLogger("mlotel")


def warn(otel_logger: Any, body: str, attributes: dict[str, Any], span: Any = None) -> None:
    """Log ``body`` at WARNING and emit it as a WARN record with ``attributes``."""
    from opentelemetry._logs import LogRecord, SeverityNumber

    _logger.warning("mlotel: %s", body)
    if otel_logger is None:
        return
    context = span.get_span_context() if span is not None else None
    otel_logger.emit(
        LogRecord(
            trace_id=context.trace_id if context else None,
            span_id=context.span_id if context else None,
            trace_flags=context.trace_flags if context else None,
            severity_text="WARN",
            severity_number=SeverityNumber.WARN,
            body=body,
            attributes=attributes,
        )
    )
