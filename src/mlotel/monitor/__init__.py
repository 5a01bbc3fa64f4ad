"""The ``@mlotel.monitor`` decorator and the per-call recording behind it."""

from mlotel.monitor._decorator import Monitor, monitor
from mlotel.monitor._options import MonitorOptions, validate

__all__ = ["Monitor", "MonitorOptions", "monitor", "validate"]
