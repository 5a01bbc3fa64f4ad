"""Prediction ids: reading them inside a call, collecting them around calls, and user-supplied ids.

Every monitored call has a prediction id: its span id as 16 hex digits, also set on the
span as ``ml.prediction.id``. A model may instead (or also, per row) be identified by the
user's own ids through the ``id_arg`` / ``id_function`` options.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from mlotel._call import CURRENT_CALL

_MAX_ID_LENGTH = 256


def prediction_id_of(span: Any) -> str | None:
    """The prediction id of the call that ``span`` records, or None for an invalid (no-op) span."""
    span_id = span.get_span_context().span_id
    return f"{span_id:016x}" if span_id else None


def current_prediction_id() -> str | None:
    """The prediction id of the innermost monitored call running in this context, else None.

    Call it from inside the model function (or code it calls) to tag what you store
    with the id that :func:`mlotel.record_outcome` will later be given. It is the id of
    the span (``ml.prediction.id``), whatever ``id_arg``/``id_function`` say. Never raises.
    """
    span = CURRENT_CALL.get()
    if span is None:
        return None
    try:
        return prediction_id_of(span)
    except Exception:
        return None


class PredictionHandle:
    """The prediction ids of the monitored calls completed inside a :func:`prediction_context` block.

    Only top-level calls count: a monitored call made inside another monitored call is
    part of the outer prediction. Calls in threads started inside the block are not seen
    (context variables do not cross threads); asyncio tasks created inside it are.
    """

    __slots__ = ("_ids", "_parent")

    def __init__(self, parent: PredictionHandle | None = None) -> None:
        self._ids: list[str] = []
        self._parent = parent

    @property
    def prediction_ids(self) -> list[str]:
        """Every top-level call's prediction id, in the order the calls finished."""
        return list(self._ids)

    @property
    def prediction_id(self) -> str | None:
        """The id of the last top-level call that finished in the block; None when there was none."""
        return self._ids[-1] if self._ids else None

    def _add(self, prediction_id: str) -> None:
        handle: PredictionHandle | None = self
        while handle is not None:  # enclosing blocks see the calls of nested blocks too
            if len(handle._ids) < 10_000:  # a long-lived block must not grow without bound
                handle._ids.append(prediction_id)
            handle = handle._parent

    def __repr__(self) -> str:
        return f"PredictionHandle(prediction_ids={self._ids!r})"


_HANDLE: ContextVar[PredictionHandle | None] = ContextVar("mlotel_prediction_handle", default=None)


@contextmanager
def prediction_context() -> Iterator[PredictionHandle]:
    """Collect the prediction ids of the monitored calls made inside the block::

        with mlotel.prediction_context() as p:
            y = predict(X)
        store(p.prediction_id, y)        # later: mlotel.record_outcome(p.prediction_id, label)

    The handle is filled as calls finish, so it can be read inside the block too. It
    keeps at most 10,000 ids. Never raises on its own.
    """
    handle = PredictionHandle(_HANDLE.get())
    token = _HANDLE.set(handle)
    try:
        yield handle
    finally:
        _HANDLE.reset(token)


def collect_prediction_id(
    span: Any, model_input: Any, result: Any, error: Any, args: tuple, kwargs: Any
) -> None:
    """Hook: hand the finished call's id to the enclosing :func:`prediction_context`, if any."""
    handle = _HANDLE.get()
    if handle is None or CURRENT_CALL.get() is not None:  # no block, or a call nested in another call
        return
    prediction_id = prediction_id_of(span)
    if prediction_id is not None:
        handle._add(prediction_id)


def normalize_id(value: Any) -> str | None:
    """A prediction id as str: str as is, ints (Python or numpy) in decimal, bytes decoded; else None."""
    if isinstance(value, str):
        return value[:_MAX_ID_LENGTH]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")[:_MAX_ID_LENGTH]
    if isinstance(value, uuid.UUID):
        return str(value)
    return None


def is_id_sequence(value: Any) -> bool:
    """True for a list, tuple, 1-D array or Series of ids (not a str or bytes)."""
    if isinstance(value, list | tuple):
        return True
    if isinstance(value, np.ndarray):
        return value.ndim == 1
    return type(value).__name__ in ("Series", "Index") and hasattr(value, "tolist")


def call_ids(options: Any, span: Any, args: tuple, kwargs: dict | None) -> str | list[str] | None:
    """The id(s) a finished call is known by: one id for the call, or a list of per-row ids.

    ``id_function(args, kwargs)`` or the ``id_arg`` parameter when the user gave one (and it
    holds something), else the call's prediction id. A per-row list may hold None for rows
    whose id could not be read. Raises whatever ``id_function`` raises (the caller's fault
    guard counts it).
    """
    supplied: Any = None
    if options.id_function is not None:
        supplied = options.id_function(args, kwargs or {})
    elif options.id_arg is not None:
        if kwargs and options.id_arg in kwargs:
            supplied = kwargs[options.id_arg]
        elif options.id_index is not None and 0 <= options.id_index < len(args):
            supplied = args[options.id_index]
    if supplied is not None:
        if is_id_sequence(supplied):
            items = supplied.tolist() if hasattr(supplied, "tolist") else supplied
            return [normalize_id(v) for v in items]
        single = normalize_id(supplied)
        if single is not None:
            return single
    return prediction_id_of(span)
