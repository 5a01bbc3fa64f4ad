"""The monitored call in progress.

The monitor sets :data:`CURRENT_CALL` around the wrapped function; prediction ids
(:mod:`mlotel.outcomes`) read it. It lives here, below both, so that outcomes never
imports the monitor.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

__all__ = ["CURRENT_CALL"]

#: The span of the innermost monitored call running in this context (for current_prediction_id()).
CURRENT_CALL: ContextVar[Any] = ContextVar("mlotel_current_call", default=None)
