"""What a model call predicted, one value per row, in the form outcomes are compared with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from mlotel.data import UnreadableInput, read_output
from mlotel.data._outputs import ARGMAX

CLASSIFICATION = "classification"
REGRESSION = "regression"


def predicted_rows(
    result: Any, class_names: Sequence[str] | None, task: str | None
) -> tuple[str, np.ndarray]:
    """``(task, values)``: the call's prediction per row, as a new 1-D array (never a view of ``result``).

    * one value per row: floats are a regression, integers, bools and strings a classification;
    * a score matrix ``(n, k)``, ``k > 1``: the class of the highest score (named by
      ``class_names``, else its column index) -- a classification;
    * other outputs (tuples, dicts, several columns): their ``argmax`` column if they have one.

    ``task`` (``classification``/``regression``) overrides the inference: a regression
    of integer outputs reads them as floats; a classification of float outputs in ``[0, 1]``
    reads them as a binary model's positive-class probabilities, class ``1`` above 0.5 else
    ``0`` (scikit-learn's ``predict``), other float outputs as labels. Raises :class:`mlotel.data.UnreadableInput` for outputs with no
    single prediction per row.
    """
    values: np.ndarray | None = None
    if type(result) is np.ndarray and result.dtype.kind in "biuf":
        if result.ndim == 0:
            values = result.reshape(1).copy()
        elif result.ndim == 1 or (result.ndim == 2 and result.shape[1] == 1):
            values = result.reshape(-1).copy()
        elif result.ndim == 2 and result.dtype.kind == "f":
            return CLASSIFICATION, _top_class(result, class_names)
    if values is None:
        values = _read(result, class_names)
        if values.dtype.kind not in "biuf" and task != REGRESSION:
            return CLASSIFICATION, values
    inferred = REGRESSION if values.dtype.kind == "f" else CLASSIFICATION
    task = task or inferred
    if task == REGRESSION and values.dtype.kind != "f":
        values = values.astype(np.float64)
    elif task == CLASSIFICATION and values.dtype.kind == "f" and values.size and _probabilities(values):
        values = (values > 0.5).astype(np.int64)
    return task, values


def _probabilities(values: np.ndarray) -> bool:
    finite = values[~np.isnan(values)]
    return bool(finite.size) and float(finite.min()) >= 0.0 and float(finite.max()) <= 1.0


def _top_class(scores: np.ndarray, class_names: Sequence[str] | None) -> np.ndarray:
    winner = scores.argmax(axis=1)
    if class_names is not None and len(class_names) == scores.shape[1]:
        return np.asarray(class_names, dtype=object)[winner]
    return winner


def _read(result: Any, class_names: Sequence[str] | None) -> np.ndarray:
    frame = read_output(result, class_names=class_names)
    columns = frame.columns
    if len(columns) == 1:
        return np.array(columns[0].values, copy=True)
    for column in columns:
        if column.name == ARGMAX:
            return np.array(column.values, copy=True)
    if columns and all(not c.categorical for c in columns):
        scores = np.column_stack([c.values for c in columns])
        names = [c.name for c in columns]
        labels = np.asarray(names, dtype=object)[scores.argmax(axis=1)]
        if class_names is None:  # index-named columns: the class is the index
            labels = np.asarray([int(x) if x.isdigit() else x for x in labels.tolist()], dtype=object)
        return labels
    raise UnreadableInput("the output has no single prediction per row to compare outcomes with")
