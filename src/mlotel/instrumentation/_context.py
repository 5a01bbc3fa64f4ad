"""The wrappers put around framework methods, and the marker for "inside a framework call".

A framework call nests others: a ``Pipeline`` calls its steps, ``XGBClassifier.predict``
calls ``Booster.inplace_predict``, an ``nn.Module`` calls its submodules. Only the
outermost instrumented call is monitored; while it runs, :data:`INSIDE` is set and every
nested instrumented call passes straight through (no span, no sketch).

Both wrappers keep the guarantee of :func:`mlotel.monitor`: the call returns the
identical object and raises the identical exception as the unwrapped method. Faults of
mlotel's own work are counted by :func:`mlotel._faults.record_fault`, never raised.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from time import perf_counter
from typing import Any, Protocol

from mlotel import _faults
from mlotel.monitor._decorator import Monitor, _finish, _start

#: True while an instrumented framework call (or a quiet one such as ``fit``) runs.
INSIDE: ContextVar[bool] = ContextVar("mlotel_inside_framework_call", default=False)


class Source(Protocol):
    """What a monitored wrapper asks its instrumentor."""

    active: bool

    def monitor_for(self, model: Any, operation: str) -> Monitor | None: ...

    def read_output(self, model: Any, args: tuple, kwargs: dict, result: Any) -> Any: ...


def monitored(source: Source, operation: str) -> Callable[..., Any]:
    """A ``wrapt`` wrapper that monitors the outermost call of a framework method."""

    def wrapper(wrapped, instance, args, kwargs):
        if INSIDE.get() or not source.active:
            return wrapped(*args, **kwargs)
        state = None
        try:
            monitor = source.monitor_for(instance, operation)
            if monitor is not None:
                state = _start(monitor, instance, args, kwargs)
        except Exception as exc:
            _faults.record_fault("instrumentation", exc)
        token = INSIDE.set(True)
        try:
            if state is None:
                return wrapped(*args, **kwargs)
            start = perf_counter()
            try:
                result = wrapped(*args, **kwargs)
            except BaseException as error:
                _finish(state, None, error, perf_counter() - start)
                raise
        finally:
            INSIDE.reset(token)
        elapsed = perf_counter() - start
        try:
            output = source.read_output(instance, args, kwargs, result)
        except Exception as exc:
            _faults.record_fault("output", exc)
            output = None
        _finish(state, output, None, elapsed)
        return result

    return wrapper


def quiet(source: Source) -> Callable[..., Any]:
    """A ``wrapt`` wrapper that monitors nothing and hides the predictions made inside (``fit``, ``score``)."""

    def wrapper(wrapped, instance, args, kwargs):
        if not source.active:
            return wrapped(*args, **kwargs)
        token = INSIDE.set(True)
        try:
            return wrapped(*args, **kwargs)
        finally:
            INSIDE.reset(token)

    return wrapper
