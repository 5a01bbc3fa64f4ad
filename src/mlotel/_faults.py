"""Faults inside mlotel: caught, counted, logged once per kind, never raised.

Every place where telemetry work runs inside the user's call goes through
:func:`record_fault`. It increments the ``mlotel.fault.count`` metric (by kind
and exception type) and logs the first occurrence of each (kind, type) pair at
WARNING with its traceback, then stays quiet, so a broken input shape can not
flood the application's log.
"""

from __future__ import annotations

import logging
import threading

_logger = logging.getLogger("mlotel")

# Bounded: kinds are our own constants; exception class names are capped.
_MAX_LOGGED = 256
_logged: set[tuple[str, str]] = set()
_lock = threading.Lock()
_sink = None  # set by the runtime to the fault Counter series factory


def set_sink(sink) -> None:
    """Route fault counts to ``sink(kind, error_type)`` (the runtime's counter)."""
    global _sink
    _sink = sink


def record_fault(kind: str, exc: BaseException | None = None, message: str = "") -> None:
    """Count one fault of ``kind`` and log it the first time it is seen.

    Never raises: this is called from ``except`` blocks on the hot path.
    """
    try:
        error_type = type(exc).__name__ if exc is not None else "_OTHER"
        sink = _sink
        if sink is not None:
            sink(kind, error_type)
        key = (kind, error_type)
        if key in _logged:
            return
        with _lock:
            if key in _logged or len(_logged) >= _MAX_LOGGED:
                return
            _logged.add(key)
        _logger.warning(
            "mlotel: %s fault (%s)%s; the model call was not affected. "
            "Further faults of this kind are counted in mlotel.fault.count, not logged.",
            kind,
            error_type,
            f": {message}" if message else "",
            exc_info=exc if exc is not None else None,
        )
    except Exception:  # pragma: no cover - last line of defence
        pass


def reset() -> None:
    """Forget which faults were logged (tests, and after fork)."""
    with _lock:
        _logged.clear()


def after_fork() -> None:
    """In a forked child: a fresh lock (a parent thread may have held ours), nothing logged yet."""
    global _lock
    _lock = threading.Lock()
    _logged.clear()
