"""The ``@mlotel.monitor`` decorator and the per-call recording behind it."""

from mlotel.monitor._decorator import monitor

__all__ = ["monitor"]
