"""Who a model is: name, version, hyper-parameter hash, feature names; and ``register_model``.

An :class:`Identity` is computed from the model object by its framework's instrumentor
and cached per (object, operation) in a bounded :class:`IdentityCache`. Entries are
checked again every :data:`REFRESH_SECONDS`, so ``set_params`` or a refit on the same
object shows in the telemetry within that time.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlotel.monitor._options import validate

REFRESH_SECONDS = 10.0
MAX_CACHED = 1024
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")
_MAX_DEPTH = 8


@dataclass(frozen=True)
class Identity:
    """What the instrumentation knows of one model for one operation."""

    name: str
    params_hash: str | None = None
    features: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
    operation: str | None = None  # overrides the method's operation (a transformers task)
    options: tuple[tuple[str, Any], ...] = field(default=())  # from register_model


def canonical(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON-able data that is equal across processes for equal configurations.

    Memory addresses in reprs are removed; estimators are named by class (their own
    parameters come with ``get_params(deep=True)``); arrays by shape, dtype and a
    digest of their bytes; functions and classes by module and qualified name.
    """
    if depth > _MAX_DEPTH:
        return "..."
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)  # nan/inf are not JSON; repr is exact and stable
    if isinstance(value, np.generic):
        return canonical(value.item(), depth + 1)
    if isinstance(value, list | tuple):
        return [canonical(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v, depth + 1) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted(json.dumps(canonical(v, depth + 1), sort_keys=True, default=str) for v in value)
    if isinstance(value, np.ndarray):
        data = (
            repr(value.tolist()).encode()
            if value.dtype.kind == "O"
            else np.ascontiguousarray(value).tobytes()
        )
        return {
            "ndarray": list(value.shape),
            "dtype": str(value.dtype),
            "sha": hashlib.sha256(data).hexdigest()[:16],
        }
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    if hasattr(value, "get_params"):  # an estimator: deep params carry its configuration
        return {"class": f"{type(value).__module__}.{type(value).__qualname__}"}
    if callable(value):
        name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
        if name is not None:
            return f"{getattr(value, '__module__', None)}.{name}"
    return _ADDRESS.sub("", repr(value))[:4096]


def params_hash(params: Any) -> str:
    """A 16-hex-digit SHA-256 prefix of :func:`canonical` ``(params)``."""
    text = json.dumps(canonical(params), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- register_model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    name: str | None
    version: str | None
    options: tuple[tuple[str, Any], ...]


_registered: dict[int, tuple[Any, Registration]] = {}
_registry_lock = threading.Lock()
_registry_generation = [0]
_NOT_REGISTRABLE = frozenset({"model", "operation", "input_arg"})


def register_model(model: Any, *, name: str | None = None, version: str | None = None, **options: Any) -> Any:
    """Name a model object for the framework instrumentation; returns ``model`` unchanged.

    Every instrumented call of ``model`` (and of nothing else) then reports
    ``ml.model.name=name`` and ``ml.model.version=version`` instead of the defaults
    (the estimator class, no version). ``options`` are :func:`mlotel.monitor` options
    that apply to this model, e.g. ``features=[...]``, ``categorical=[...]``,
    ``class_names=[...]``, ``sketch_inputs=False``, ``sample_rate=0.1``, ``reference=...``;
    ``model``, ``operation`` and ``input_arg`` are not accepted (the instrumentation
    sets them). Registering again replaces the earlier registration.

    The model is held by a weak reference where it allows one (the registration ends
    with the object), else strongly.

    Raises:
        TypeError, ValueError: an invalid name, version or option (named in the message).
    """
    refused = sorted(_NOT_REGISTRABLE & set(options))
    if refused:
        raise TypeError(
            f"register_model() does not accept {', '.join(refused)}; use name= for the model name"
        )
    validate(model=name, version=version, **options)  # raises on a mistake, now rather than at a call
    registration = Registration(name, version, tuple(sorted(options.items())))
    key = id(model)
    try:
        holder: Any = weakref.ref(model, lambda _ref, key=key: _forget(key, _ref))
    except TypeError:
        holder = model
    with _registry_lock:
        _registered[key] = (holder, registration)
        _registry_generation[0] += 1
    return model


def _forget(key: int, ref: Any) -> None:
    with _registry_lock:
        entry = _registered.get(key)
        if entry is not None and entry[0] is ref:
            del _registered[key]
            _registry_generation[0] += 1


def registration_of(model: Any) -> Registration | None:
    """The registration of this very object, or None."""
    entry = _registered.get(id(model))
    if entry is None:
        return None
    holder, registration = entry
    target = holder() if isinstance(holder, weakref.ref) else holder
    return registration if target is model else None


# -- the per-object cache ---------------------------------------------------------------------


class IdentityCache:
    """Bounded map (model object, operation) -> value built by ``make(model, operation, previous)``.

    Keyed by ``id`` and checked by weak reference, so models need not be hashable and
    are never kept alive. Objects that allow no weak reference are not cached. A
    value is rebuilt after :data:`REFRESH_SECONDS` or a ``register_model`` call (``make``
    gets the old value, to keep it when nothing changed); when
    the cache is full the oldest entry goes.
    """

    def __init__(self, make: Callable[[Any, str, Any], Any], max_size: int = MAX_CACHED) -> None:
        self._make = make
        self._max = max_size
        self._entries: dict[tuple[int, str], tuple[Any, Any, float, int]] = {}
        self._lock = threading.Lock()

    def get(self, model: Any, operation: str) -> Any:
        key = (id(model), operation)
        entry = self._entries.get(key)
        now = time.monotonic()
        generation = _registry_generation[0]
        previous = None
        if entry is not None:
            ref, value, checked, seen = entry
            if ref() is model:
                if seen == generation and now - checked < REFRESH_SECONDS:
                    return value
                previous = value  # ``make`` may keep it when nothing changed
        value = self._make(model, operation, previous)
        try:
            ref = weakref.ref(model)
        except TypeError:
            return value
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = (ref, value, now, generation)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def dotted(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def attr(obj: Any, name: str) -> Any:
    """``getattr(obj, name)``, or None when it is missing or its property raises."""
    try:
        return getattr(obj, name)
    except Exception:
        return None


def names(values: Any) -> tuple[str, ...] | None:
    """A tuple of str from a list/array of names, or None."""
    if values is None:
        return None
    try:
        out = tuple(str(v) for v in values)
    except TypeError:
        return None
    return out or None
