"""``analyze``: sample the data, sweep and perturb each feature on whole batches, rank."""

from __future__ import annotations

import math
import operator
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from mlotel.sensitivity._grid import Grid, categorical_grid, numeric_grid
from mlotel.sensitivity._measure import Perturbation, Sweep, perturbation, sweep
from mlotel.sensitivity._model import Predictor, looks_like_probabilities, output_names
from mlotel.sensitivity._sample import sample_rows
from mlotel.sensitivity._table import Table, kinds
from mlotel.sensitivity.report import FeatureSensitivity, SensitivityReport

__all__ = ["MAX_BATCH_ROWS", "analyze"]

#: Most rows handed to the model in one call: a sweep stacks as many grid points of one
#: feature as fit (``MAX_BATCH_ROWS // sample``, at least one) into each call.
MAX_BATCH_ROWS = 65_536


def analyze(
    model: Any,
    data: Any,
    *,
    features: Sequence[str] | None = None,
    categorical: Collection[str] = (),
    target: str | None = None,
    sample: int = 1000,
    grid: int = 10,
    seed: int = 0,
    response_method: str = "auto",
    output: str | int | None = None,
) -> SensitivityReport:
    """How much a model's predictions move when each feature varies within its own distribution.

    A seeded uniform sample of at most ``sample`` rows is drawn from ``data``. For each
    feature, (a) a sweep sets the feature of every sampled row to each of ``grid`` values
    (numeric: reference quantiles; categorical: the most frequent categories) and predicts,
    giving the partial-dependence curve, the band of individual (ICE) curves around it and the
    interaction share; (b) a perturbation replaces the column by a permutation of itself
    (values resampled from its own distribution) and measures how far each row's prediction
    moves. Features are ranked by the mean change. The model is called on whole batches
    (at most :data:`MAX_BATCH_ROWS` rows, never per row); memory is bounded by
    ``sample * grid`` rows. The method is described in docs/sensitivity.md.

    Args:
        model: an object with ``predict_proba`` (used first) or ``predict``, or a callable
            ``f(X) -> predictions``. It receives batches in the form of ``data``: a DataFrame
            (restricted to, and ordered as, the model's ``feature_names_in_`` when it has
            them; as ``to_numpy()`` when it was fitted on an unnamed array), or a 2-D array.
            Its output must be numeric: ``(rows,)`` or ``(rows, outputs)``.
        data: the reference data: a pandas DataFrame, a 2-D numpy array (columns named by the
            model's ``feature_names_in_`` when it has them, else ``f0, f1, ...``), a mapping of
            column name to values, any other form :func:`mlotel.data.read_input` reads (as a
            DataFrame of its columns), or an iterator of such batches (read once, sampled
            as it goes, e.g. ``pandas.read_csv(path, chunksize=100_000)``).
        features: the features to analyse (default: every input column of the model).
        categorical: columns to treat as categorical whatever their dtype (text, booleans and
            pandas categoricals always are).
        target: a column of ``data`` to drop before calling the model (the label).
        sample: rows analysed, at most (>= 2).
        grid: grid points per feature (>= 2).
        seed: seeds the row sample and the permutations: same seed, same report.
        response_method: ``"auto"`` (``predict_proba``, else ``predict``, else the callable),
            ``"predict_proba"``, ``"predict"``, ``"decision_function"`` or ``"call"``.
        output: analyse one output only: a class label or output name (as in
            :attr:`SensitivityReport.outputs`, compared as text) or a column index. Default:
            the positive class of a binary classifier, every output otherwise.

    Returns:
        A :class:`SensitivityReport`, features most sensitive first.

    Raises:
        TypeError: the model has no ``predict_proba``/``predict`` and is not callable, its
            output is not numeric, or ``data`` is of an unreadable type.
        ValueError: a feature, categorical or target column is not in the data, the data has
            no rows, a parameter is out of range, or the output has the wrong number of rows.
        ImportError: named data without pandas installed.
    """
    sample = _positive_int(sample, "sample", 2)
    grid = _positive_int(grid, "grid", 2)
    seed = operator.index(seed)
    predictor = Predictor(model, response_method)
    sample_rng, permutation_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    drawn = sample_rows(data, sample, sample_rng)
    table = _model_inputs(Table(drawn.data), predictor, target)
    categorical = _names(categorical, "categorical")
    _check_columns(categorical, table, "categorical column")
    features = table.names if features is None else list(dict.fromkeys(_names(features, "features")))
    _check_columns(features, table, "feature")
    kind = kinds(table, features, categorical)

    base = predictor(table.data)
    probabilities = predictor.method == "predict_proba" or looks_like_probabilities(base)
    names = list(output_names(predictor, base.shape[1], probabilities))
    selected, analysed = _outputs(names, output, probabilities)
    step = max(1, MAX_BATCH_ROWS // table.n)

    results = []
    for name in features:
        values = table.values(name)
        points = numeric_grid(values, grid) if kind[name] == "numeric" else categorical_grid(values, grid)
        perm = permutation_rng.permutation(table.n)
        moved = perturbation(
            base, predictor(table.batch(name, perm)), selected, probabilities, chosen=output is not None
        )
        results.append(
            _feature(name, kind[name], points, moved, _sweep(predictor, table, name, points, step, selected))
        )
    ranked = sorted(
        results, key=lambda f: (math.isnan(f.mean_abs_change), -np.nan_to_num(f.mean_abs_change), f.name)
    )
    return SensitivityReport(
        model=predictor.description,
        task="classification" if probabilities else "regression",
        response_method=predictor.method,
        outputs=tuple(analysed),
        n_rows=drawn.n_rows,
        n_sample=table.n,
        grid_size=grid,
        seed=seed,
        features=tuple(ranked),
    )


def _sweep(
    predictor: Predictor, table: Table, name: str, points: Grid, step: int, selected: np.ndarray
) -> Sweep | None:
    k, n = len(points.positions), table.n
    if not k:
        return None
    out = np.empty((k, n, len(selected)))
    for start in range(0, k, step):
        chunk = points.positions[start : start + step]
        predictions = predictor(table.batch(name, np.repeat(chunk, n)))
        out[start : start + len(chunk)] = predictions[:, selected].reshape(len(chunk), n, len(selected))
    return sweep(out)


def _feature(
    name: str, kind: str, points: Grid, moved: Perturbation, swept: Sweep | None
) -> FeatureSensitivity:
    def rows(array: np.ndarray) -> tuple[tuple[float, ...], ...]:
        return tuple(tuple(float(v) for v in row) for row in array)

    return FeatureSensitivity(
        name=name,
        kind=kind,
        mean_abs_change=moved.mean_abs_change,
        p95_abs_change=moved.p95_abs_change,
        label_change_rate=moved.label_change_rate,
        pd_range=math.nan if swept is None else swept.pd_range,
        interaction=math.nan if swept is None else swept.interaction,
        missing=points.missing,
        grid=tuple(points.values),
        partial_dependence=() if swept is None else rows(swept.partial_dependence),
        band_low=() if swept is None else rows(swept.band_low),
        band_high=() if swept is None else rows(swept.band_high),
    )


def _model_inputs(table: Table, predictor: Predictor, target: str | None) -> Table:
    """The sample as the model takes it: without the target, with the model's input names."""
    if target is not None:
        _check_columns([target], table, "target column")
        table = table.drop(target)
    wanted = predictor.input_names
    if wanted is None:
        return table
    if not hasattr(table.data, "iloc"):
        if table.data.shape[1] != len(wanted):
            raise ValueError(
                f"the data has {table.data.shape[1]} columns; the model was fitted on {len(wanted)}: {wanted[:20]}"
            )
        import pandas as pd

        return Table(pd.DataFrame(table.data, columns=wanted))
    absent = [c for c in wanted if c not in table.names]
    if absent:
        raise ValueError(
            f"the model's input column(s) {absent[:20]} are not in the data (columns: {table.names[:20]})"
        )
    return table.select(wanted)


def _outputs(names: list[str], output: str | int | None, probabilities: bool) -> tuple[np.ndarray, list[str]]:
    if output is None:
        index = [1] if probabilities and len(names) == 2 else list(range(len(names)))
    elif isinstance(output, (int, np.integer)) and not isinstance(output, bool):
        if not -len(names) <= output < len(names):
            raise ValueError(f"output {output} is out of range: the model has {len(names)} output(s) {names}")
        index = [int(output) % len(names)]
    elif str(output) in names:
        index = [names.index(str(output))]
    else:
        raise ValueError(f"output {output!r} is not one of the model's outputs {names}")
    return np.asarray(index), [names[i] for i in index]


def _check_columns(names: Sequence[str], table: Table, what: str) -> None:
    for name in names:
        if name not in table.names:
            raise ValueError(f"{what} {name!r} is not in the data (columns: {table.names[:20]})")


def _names(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    try:
        return [str(v) for v in value]
    except TypeError:
        raise TypeError(f"{what} must be a list of column names, got {type(value).__name__}") from None


def _positive_int(value: Any, what: str, least: int) -> int:
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an integer, got {type(value).__name__}") from None
    if number < least:
        raise ValueError(f"{what} must be >= {least}, got {number}")
    return number
