"""Per-call extensions of a monitored model, built once per binding from its options.

A hook is ``hook(span, model_input, result, error, args, kwargs) -> None``, called after
the metrics of every call (successful or not), inside mlotel's fault guard. Outcome
tracking and payload logging plug in here, so the hot path pays nothing for features a
model does not use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[[Any, Any, Any, BaseException | None, tuple, dict | None], None]


def build_hooks(runtime: Any, binding: Any, options: Any) -> tuple[Hook, ...]:
    """The hooks ``options`` ask for (none by default)."""
    return ()
