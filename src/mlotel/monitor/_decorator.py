"""``@mlotel.monitor``: one span and a handful of pre-aggregated metrics per model call.

The wrapper's contract: the decorated call returns the identical object and raises the
identical exception as the undecorated one. Everything mlotel does around the call is
inside ``try`` blocks that count faults (see :mod:`mlotel._faults`) and never raise.
"""

from __future__ import annotations

import inspect
import itertools
import os
import threading
from time import perf_counter, thread_time
from typing import Any

import wrapt
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
from opentelemetry.instrumentation.utils import _SUPPRESS_INSTRUMENTATION_KEY_PLAIN
from opentelemetry.trace import SpanKind

from mlotel import _faults, _runtime
from mlotel._call import CURRENT_CALL
from mlotel.monitor._model import ModelBinding
from mlotel.monitor._options import MonitorOptions, positional_index, validate, with_id_index

_INTERNAL = SpanKind.INTERNAL
_set_span_in_context = trace.set_span_in_context
_attach = otel_context.attach
_get_current = otel_context.get_current
_detach = otel_context.detach
_ids = itertools.count(1)
_ID_PREFIX = [os.urandom(4).hex()]


def _fallback_id() -> str:
    # Only when the tracer hands out invalid span ids (a no-op tracer provider).
    return f"{_ID_PREFIX[0]}{next(_ids):08x}"


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _ID_PREFIX.__setitem__(0, os.urandom(4).hex()))


class Monitor:
    """The per-model state behind a wrapper: options, identity, and the binding to the current runtime.

    :func:`monitor` builds one per decorated function; framework instrumentors build one
    per model identity (with ``attributes`` such as ``ml.model.framework``) and call
    :meth:`wrapper` around the framework's method.
    """

    def __init__(
        self,
        options: MonitorOptions,
        model_name: str,
        *,
        input_index: int = 0,
        input_name: str | None = None,
        is_method: bool = False,
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.options = options
        self.model_name = model_name
        self.input_index = input_index
        self.input_name = input_name
        self.is_method = is_method
        self.attributes = dict(attributes or {})
        self._binding: ModelBinding | None = None
        self._lock = threading.Lock()

    @classmethod
    def for_function(cls, func: Any, options: MonitorOptions) -> Monitor:
        """Identity and input position from a function, method or callable object."""
        target = func.__func__ if isinstance(func, classmethod | staticmethod) else func
        if not callable(target):
            raise TypeError(f"monitor() needs a callable, got {func!r}")
        if not (inspect.isfunction(target) or inspect.ismethod(target) or inspect.isbuiltin(target)):
            name_source = type(target)  # a callable object: name it after its class
            signature_of = type(target).__call__
        else:
            name_source = target
            signature_of = target
        model_name = options.model or getattr(name_source, "__qualname__", None) or repr(name_source)[:128]
        try:
            params = list(inspect.signature(signature_of).parameters)
        except (TypeError, ValueError):
            params = []
        # A bound self/cls never reaches the wrapper's args (wrapt passes it as ``instance``).
        is_method = bool(params) and params[0] in ("self", "cls")
        skip_first = is_method or signature_of is not target
        first = 1 if skip_first else 0
        options = with_id_index(options, params, skip_first)
        return cls(
            options,
            model_name,
            input_index=positional_index(params, options.input_arg, skip_first),
            input_name=options.input_arg or (params[first] if len(params) > first else None),
            is_method=is_method,
        )

    def binding(self, runtime: _runtime.Runtime) -> ModelBinding:
        binding = self._binding
        if binding is None or binding.generation != runtime.generation:
            # Built once per runtime even when many threads make the first call together:
            # a second binding would register a second drift listener.
            with self._lock:
                binding = self._binding
                if binding is None or binding.generation != runtime.generation:
                    binding = self._binding = ModelBinding(
                        runtime, self.model_name, self.options, self.attributes
                    )
        return binding

    def model_input(self, instance: Any, args: tuple, kwargs: dict) -> Any:
        if self.input_name is not None and self.input_name in kwargs:
            return kwargs[self.input_name]
        index = self.input_index + (1 if instance is None and self.is_method else 0)
        if len(args) > index:
            return args[index]
        return None

    def wrapper(self, is_async: bool = False):
        """A ``wrapt`` wrapper ``(wrapped, instance, args, kwargs)`` that monitors each call."""
        return _async_wrapper(self) if is_async else _sync_wrapper(self)


def _start(monitor: Monitor, instance: Any, args: tuple, kwargs: dict):
    """Start the span and make it current. Returns what :func:`_finish` needs, or None to pass through."""
    runtime = _runtime.active()
    if runtime is None or not runtime.enabled:
        return None
    # is_instrumentation_enabled(), inlined: one context lookup serves the check and the parent.
    ctx = _get_current()
    if ctx.get(_SUPPRESS_INSTRUMENTATION_KEY) or ctx.get(_SUPPRESS_INSTRUMENTATION_KEY_PLAIN):
        return None
    binding = monitor.binding(runtime)
    model_input = monitor.model_input(instance, args, kwargs)
    span = binding.tracer.start_span(binding.span_name, ctx, _INTERNAL)
    token = _attach(_set_span_in_context(span, ctx))
    call_token = CURRENT_CALL.set(span)
    return binding, span, token, call_token, model_input, args, kwargs, thread_time()


def _finish(state, result: Any, error: BaseException | None, elapsed: float) -> None:
    cpu_end = thread_time()
    binding, span, token, call_token, model_input, args, kwargs, cpu_start = state
    try:
        CURRENT_CALL.reset(call_token)
        _detach(token)
    except Exception as exc:  # a detach from another context (generator misuse); keep going
        _faults.record_fault("context", exc)
    try:
        binding.record(span, model_input, result, error, elapsed, cpu_end - cpu_start, args, kwargs)
    except Exception as exc:
        _faults.record_fault("record", exc)
    finally:
        try:
            span.end()
        except Exception as exc:
            _faults.record_fault("span", exc)


def _sync_wrapper(monitor: Monitor):
    def wrapper(wrapped, instance, args, kwargs):
        try:
            state = _start(monitor, instance, args, kwargs)
        except Exception as exc:
            _faults.record_fault("start", exc)
            state = None
        if state is None:
            return wrapped(*args, **kwargs)
        start = perf_counter()
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            _finish(state, None, error, perf_counter() - start)
            raise
        _finish(state, result, None, perf_counter() - start)
        return result

    return wrapper


def _async_wrapper(monitor: Monitor):
    async def wrapper(wrapped, instance, args, kwargs):
        try:
            state = _start(monitor, instance, args, kwargs)
        except Exception as exc:
            _faults.record_fault("start", exc)
            state = None
        if state is None:
            return await wrapped(*args, **kwargs)
        start = perf_counter()
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            _finish(state, None, error, perf_counter() - start)
            raise
        _finish(state, result, None, perf_counter() - start)
        return result

    return wrapper


def monitor(func: Any = None, /, **options: Any) -> Any:
    """Monitor a model's predict function: a span, latency, batch size and data distributions per call.

    Use it bare or with options::

        @mlotel.monitor
        def predict(X): ...

        @mlotel.monitor(model="fraud", version="3", operation="predict",
                        features=["amount", "age", "country"], categorical=["country"])
        def predict(X): ...

    Works on functions, methods (instance, class and static), ``async def`` functions
    and callable objects; the wrapper keeps the function's name, docstring and
    signature. Options are validated here; a mistake raises ``TypeError`` or
    ``ValueError`` naming the option. See docs/configuration.md for every option.

    Returns:
        The wrapped function (or a decorator, when called with options only).
    """
    validated = validate(**options)

    def decorate(target: Any) -> Any:
        inner = target.__func__ if isinstance(target, classmethod | staticmethod) else target
        state = Monitor.for_function(inner, validated)
        call = inner if inspect.isfunction(inner) or inspect.ismethod(inner) else type(inner).__call__
        is_async = inspect.iscoroutinefunction(call)
        wrapper = state.wrapper(is_async)
        # wrapt wraps classmethod/staticmethod descriptors themselves and binds correctly.
        return wrapt.FunctionWrapper(target, wrapper)

    if func is not None:
        return decorate(func)
    return decorate


__all__ = ["Monitor", "monitor"]
