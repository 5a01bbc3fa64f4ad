"""The model as one batch function: rows in, a float matrix of predictions out.

:class:`Predictor` picks the model's response method (``predict_proba`` before ``predict``,
or the object itself when it is a plain callable), hands it batches in the form it was
fitted on (a DataFrame with the fitted column names, or a 2-D array), and reads whatever it
returns (numpy, pandas, lists, CPU tensors) as a ``(rows, outputs)`` float64 matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["RESPONSE_METHODS", "Predictor", "as_matrix", "looks_like_probabilities", "output_names"]

#: Accepted values of ``response_method``; ``"auto"`` tries them in this order.
RESPONSE_METHODS = ("auto", "predict_proba", "predict", "decision_function", "call")

# Rows of a probability matrix sum to 1 within this tolerance.
_SUM_TOLERANCE = 1e-6


class Predictor:
    """Calls ``model`` on whole batches and returns ``(rows, outputs)`` float64 predictions.

    ``response_method``: ``"auto"`` uses ``predict_proba`` when the model has it, else
    ``predict``, else calls the model itself; or one of ``"predict_proba"``, ``"predict"``,
    ``"decision_function"``, ``"call"``. Raises :class:`TypeError` at construction when the
    model has none of them (or not the one asked for).

    Attributes:
        method: the response method in use (``"call"`` for a plain callable).
        input_names: the column names the model was fitted with (``feature_names_in_``), or
            ``None``; batches are then restricted to these columns, in this order.
        wants_array: the model was fitted on an unnamed array (``n_features_in_`` without
            ``feature_names_in_``): DataFrame batches are passed as ``to_numpy()``.
        classes: the model's ``classes_``, or ``None``.
        description: the model's type name, for the report.
    """

    def __init__(self, model: Any, response_method: str = "auto") -> None:
        if response_method not in RESPONSE_METHODS:
            raise ValueError(f"response_method must be one of {RESPONSE_METHODS}, got {response_method!r}")
        self.method, self._fn = _resolve(model, response_method)
        names = getattr(model, "feature_names_in_", None)
        self.input_names: list[str] | None = None if names is None else [str(n) for n in names]
        self.wants_array = self.input_names is None and getattr(model, "n_features_in_", None) is not None
        classes = getattr(model, "classes_", None)
        self.classes: list[Any] | None = None if classes is None else list(np.asarray(classes).tolist())
        self.description = _describe(model)

    def __call__(self, batch: Any) -> np.ndarray:
        """Predictions for ``batch`` as a ``(rows, outputs)`` float64 matrix."""
        rows = len(batch)
        if self.wants_array and hasattr(batch, "to_numpy"):
            batch = batch.to_numpy()
        return as_matrix(self._fn(batch), rows, self.method)


def _resolve(model: Any, response_method: str) -> tuple[str, Callable[[Any], Any]]:
    if response_method == "auto":
        for name in ("predict_proba", "predict"):
            fn = getattr(model, name, None)
            if callable(fn):
                return name, fn
        if callable(model):
            return "call", model
        raise TypeError(
            f"model must have predict_proba() or predict(), or be a callable f(X) -> predictions; "
            f"got {_describe(model)}"
        )
    if response_method == "call":
        if not callable(model):
            raise TypeError(f"response_method='call' needs a callable model, got {_describe(model)}")
        return "call", model
    fn = getattr(model, response_method, None)
    if not callable(fn):
        raise TypeError(f"model {_describe(model)} has no {response_method}() method")
    return response_method, fn


def _describe(model: Any) -> str:
    if hasattr(model, "__name__") and callable(model) and not hasattr(model, "predict"):
        return str(model.__name__)
    return type(model).__name__


def as_matrix(raw: Any, rows: int, method: str = "call") -> np.ndarray:
    """A model's output for ``rows`` rows as a ``(rows, outputs)`` float64 matrix.

    Raises :class:`TypeError` for non-numeric output (text labels, objects) and
    :class:`ValueError` for output of the wrong number of rows or more than 2 dimensions.
    """
    if hasattr(raw, "to_numpy"):  # pandas, polars
        raw = raw.to_numpy()
    elif hasattr(raw, "detach") and hasattr(raw, "cpu"):  # torch
        raw = raw.detach().cpu().numpy()
    array = np.asarray(raw)
    if array.dtype.kind not in "biuf":
        converted = None
        if array.dtype.kind == "O":  # Python numbers in an object array
            try:
                converted = array.astype(np.float64)
            except (TypeError, ValueError):
                converted = None
        if converted is None:
            raise TypeError(
                f"the model's {method} output is not numeric (dtype {array.dtype}): sensitivity needs "
                "numbers (predicted values or class probabilities); for a classifier use predict_proba, "
                "or pass a callable that returns scores"
            )
        array = converted
    array = array.astype(np.float64, copy=False)
    if array.ndim == 0:
        raise ValueError(f"the model's {method} output is one value for {rows} rows")
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise ValueError(
            f"the model's {method} output has shape {array.shape}: expected (rows,) or (rows, outputs)"
        )
    if array.shape[0] != rows:
        raise ValueError(f"the model's {method} output has {array.shape[0]} rows for a batch of {rows}")
    if array.shape[1] == 0:
        raise ValueError(f"the model's {method} output has no columns")
    return array


def looks_like_probabilities(predictions: np.ndarray) -> bool:
    """True when ``predictions`` has 2 or more columns, values in [0, 1] and rows summing to 1."""
    if predictions.ndim != 2 or predictions.shape[1] < 2 or predictions.size == 0:
        return False
    finite = predictions[np.isfinite(predictions).all(axis=1)]
    if finite.size == 0:
        return False
    in_range = bool(((finite >= 0.0) & (finite <= 1.0)).all())
    return in_range and bool(np.all(np.abs(finite.sum(axis=1) - 1.0) <= _SUM_TOLERANCE))


def output_names(predictor: Predictor, width: int, probabilities: bool) -> Sequence[str]:
    """Names of the ``width`` output columns: class labels for probabilities, else generic."""
    if probabilities:
        if predictor.classes is not None and len(predictor.classes) == width:
            return [str(c) for c in predictor.classes]
        return [f"class {i}" for i in range(width)]
    return ["prediction"] if width == 1 else [f"output {i}" for i in range(width)]
