"""Isotonic calibration of a classifier's scores, fitted on a labelled reference set.

:func:`fit_calibration` learns, from the reference rows' predicted scores and true
labels, the map ``score -> P(label | score)`` by isotonic regression (pool-adjacent-
violators, numpy only): binary models get one map for the positive class, multiclass
models one one-vs-rest map per class, renormalized to sum to 1 per row.

Each map is a monotone piecewise-linear function held as at most
:data:`MAX_BREAKPOINTS` ``(x, y)`` breakpoints (constant inside a PAV block, linear
between blocks, as scikit-learn's ``IsotonicRegression`` predicts; constant beyond the
ends). When the fit has more than ``MAX_BREAKPOINTS / 2`` blocks, adjacent blocks are
pooled into equal-weight groups holding their weighted mean (still monotone); the
error this adds is at most the widest value range pooled into one group
(:attr:`IsotonicMap.pooling_error`).

The :class:`Calibration` also stores what the online estimate needs besides the maps:
the class labels, the reference's (cross-fitted) calibration error, and for binary
models the score bin edges of the ROC AUC histogram (:mod:`mlotel.performance.estimate`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "AUC_BINS",
    "MAX_BREAKPOINTS",
    "Calibration",
    "IsotonicMap",
    "fit_calibration",
    "fit_isotonic",
]

#: Most breakpoints of one calibration map (two per PAV block).
MAX_BREAKPOINTS = 256
#: Most distinct score groups the PAV runs on: larger references are pooled into equal-count
#: groups of adjacent scores first (the fit's cost is then bounded whatever the row count).
MAX_FIT_POINTS = 65_536
#: Score bins of the ROC AUC histogram (reference quantiles of the positive-class score).
AUC_BINS = 256
#: Bins of the reference's expected calibration error.
ECE_BINS = 10
#: Most classes a calibration holds (one map each).
MAX_CLASSES = 256


@dataclass(frozen=True)
class IsotonicMap:
    """A monotone non-decreasing map, piecewise linear through ``(x, y)``, constant beyond the ends."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    pooling_error: float = 0.0

    def __post_init__(self) -> None:  # the arrays np.interp reads, made once
        object.__setattr__(self, "_xs", np.asarray(self.x, dtype=np.float64))
        object.__setattr__(self, "_ys", np.asarray(self.y, dtype=np.float64))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return np.interp(values, self._xs, self._ys)

    def to_dict(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y), "pooling_error": self.pooling_error}

    @classmethod
    def from_dict(cls, d: Any) -> IsotonicMap:
        if not isinstance(d, dict):
            raise ValueError(f"a calibration map must be an object, got {type(d).__name__}")
        x = [float(v) for v in d["x"]]
        y = [float(v) for v in d["y"]]
        if not x or len(x) != len(y) or len(x) > MAX_BREAKPOINTS:
            raise ValueError(
                f"a calibration map needs 1 to {MAX_BREAKPOINTS} (x, y) pairs, got {len(x)}/{len(y)}"
            )
        if any(b < a for a, b in zip(x, x[1:])) or any(b < a for a, b in zip(y, y[1:])):
            raise ValueError("a calibration map must be non-decreasing in x and y")
        if not all(math.isfinite(v) for v in x + y) or min(y) < 0 or max(y) > 1:
            raise ValueError("calibration map values must be finite, y in [0, 1]")
        return cls(tuple(x), tuple(y), float(d.get("pooling_error", 0.0)))


def fit_isotonic(x: np.ndarray, y: np.ndarray, *, max_breakpoints: int = MAX_BREAKPOINTS) -> IsotonicMap:
    """Isotonic (non-decreasing) least-squares fit of ``y`` on ``x``, as a bounded :class:`IsotonicMap`.

    Equal ``x`` are pooled first (their mean ``y``); more than :data:`MAX_FIT_POINTS`
    distinct ``x`` are pooled into that many equal-count groups of adjacent values. With at
    most ``max_breakpoints / 2`` blocks the map equals scikit-learn's ``IsotonicRegression``
    (``out_of_bounds="clip"``) at every point.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        raise ValueError("isotonic calibration needs at least one finite (score, label) pair")
    distinct, inverse = np.unique(x, return_inverse=True)
    weight = np.bincount(inverse).astype(np.float64)
    total = np.bincount(inverse, weights=y)
    low = high = distinct
    if distinct.size > MAX_FIT_POINTS:
        group = (np.cumsum(weight) - weight) * MAX_FIT_POINTS // weight.sum()
        group = group.astype(np.int64)
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        ends = np.r_[starts[1:], distinct.size] - 1
        low, high = distinct[starts], distinct[ends]
        weight, total = np.add.reduceat(weight, starts), np.add.reduceat(total, starts)
    block_low, block_high, block_value, block_weight = _pav(low, high, total / weight, weight)
    pooling_error = 0.0
    if 2 * block_value.size > max_breakpoints:
        block_low, block_high, block_value, block_weight, pooling_error = _pool(
            block_low, block_high, block_value, block_weight, max_breakpoints // 2
        )
    xs = np.column_stack([block_low, block_high]).reshape(-1)
    ys = np.repeat(block_value, 2)
    single = np.r_[False, xs[1:] == xs[:-1]]  # a one-point block: one breakpoint
    xs, ys = xs[~single], ys[~single]
    return IsotonicMap(tuple(xs.tolist()), tuple(ys.tolist()), float(pooling_error))


def _pav(
    low: np.ndarray, high: np.ndarray, value: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pool adjacent violators over points sorted by x: the blocks' (first x, last x, value, weight).

    A Python loop over at most :data:`MAX_FIT_POINTS` points, run once when a reference
    is built (never online).
    """
    values: list[float] = []
    weights: list[float] = []
    firsts: list[int] = []
    for i, (v, w) in enumerate(zip(value.tolist(), weight.tolist())):
        first = i
        while values and values[-1] >= v:  # merge ties too: fewer blocks, the same function
            pw = weights.pop()
            v = (values.pop() * pw + v * w) / (pw + w)
            w += pw
            first = firsts.pop()
        values.append(v)
        weights.append(w)
        firsts.append(first)
    starts = np.asarray(firsts, dtype=np.int64)
    ends = np.r_[starts[1:], value.size] - 1
    return low[starts], high[ends], np.asarray(values), np.asarray(weights)


def _pool(
    low: np.ndarray, high: np.ndarray, value: np.ndarray, weight: np.ndarray, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """Adjacent blocks pooled into ``groups`` equal-weight groups (weighted mean value)."""
    group = ((np.cumsum(weight) - weight) * groups // weight.sum()).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], value.size] - 1
    pooled_weight = np.add.reduceat(weight, starts)
    pooled_value = np.add.reduceat(value * weight, starts) / pooled_weight
    error = float(np.max(value[ends] - value[starts])) if starts.size else 0.0
    return low[starts], high[ends], pooled_value, pooled_weight, error


@dataclass(frozen=True)
class Calibration:
    """A reference's calibration of one classifier's scores.

    ``classes``: the class labels, in score-column order (binary: ``classes[1]`` is the
    positive class, whose score a 1-D output is). ``maps``: one :class:`IsotonicMap` for a
    binary model (the positive class), one per class otherwise. ``calibration_error``:
    the expected calibration error of the predicted class's calibrated probability on the
    reference, cross-fitted (2 folds), over :data:`ECE_BINS` equal-count bins.
    ``auc_edges``: ascending interior edges of the ROC AUC score bins (binary only).
    ``n_rows``: reference rows fitted; ``accuracy``: the model's accuracy on them.
    """

    classes: tuple[Any, ...]
    maps: tuple[IsotonicMap, ...]
    calibration_error: float
    auc_edges: tuple[float, ...] = ()
    n_rows: int = 0
    accuracy: float = math.nan

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", np.asarray(self.auc_edges, dtype=np.float64))

    @property
    def binary(self) -> bool:
        return len(self.classes) == 2

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def n_bins(self) -> int:
        return len(self.auc_edges) + 1 if self.binary else 0

    def calibrate(self, scores: np.ndarray) -> np.ndarray:
        """Calibrated probabilities: binary, ``P(positive)`` of each positive-class score
        (1-D); multiclass, the ``(n, k)`` one-vs-rest calibrated matrix renormalized per row
        (a row whose calibrated values are all 0 keeps its scores)."""
        if self.binary:
            return self.maps[0](scores)
        out = np.empty_like(scores, dtype=np.float64)
        for j, m in enumerate(self.maps):
            out[:, j] = m(scores[:, j])
        totals = out.sum(axis=1, keepdims=True)
        empty = totals[:, 0] <= 0
        if empty.any():
            out[empty] = scores[empty]
            totals[empty] = scores[empty].sum(axis=1, keepdims=True)
        return out / totals

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "isotonic",
            "classes": list(self.classes),
            "maps": [m.to_dict() for m in self.maps],
            "calibration_error": self.calibration_error,
            "auc_edges": list(self.auc_edges),
            "n_rows": self.n_rows,
            "accuracy": None if math.isnan(self.accuracy) else self.accuracy,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Calibration:
        if not isinstance(d, dict):
            raise ValueError(f"'performance' must be an object, got {type(d).__name__}")
        if d.get("method") != "isotonic":
            raise ValueError(f"performance: unknown calibration method {d.get('method')!r}")
        classes = tuple(d["classes"])
        if not 2 <= len(classes) <= MAX_CLASSES or not all(isinstance(c, str | int) for c in classes):
            raise ValueError(f"performance: 'classes' must hold 2 to {MAX_CLASSES} str or int labels")
        maps = tuple(IsotonicMap.from_dict(m) for m in d["maps"])
        if len(maps) != (1 if len(classes) == 2 else len(classes)):
            raise ValueError(f"performance: {len(maps)} calibration maps for {len(classes)} classes")
        edges = tuple(float(e) for e in d.get("auc_edges", ()))
        if any(b <= a for a, b in zip(edges, edges[1:])) or len(edges) >= AUC_BINS:
            raise ValueError("performance: 'auc_edges' must ascend, fewer than 256")
        accuracy = d.get("accuracy")
        return cls(
            classes,
            maps,
            float(d["calibration_error"]),
            edges,
            int(d.get("n_rows", 0)),
            math.nan if accuracy is None else float(accuracy),
        )


def fit_calibration(scores: Any, labels: Any, classes: Sequence[Any] | None = None) -> Calibration:
    """Fit the calibration of a classifier from a labelled reference set.

    ``scores``: the model's predicted probabilities on the reference rows, a 1-D array of
    the positive class's probability (binary) or an ``(n, k)`` matrix (columns in class
    order, e.g. ``predict_proba``); ``labels``: the true labels (``n``). ``classes``: the
    labels of the score columns, default the sorted distinct labels (a 1-D score is then
    the probability of the larger label). Rows with a missing (NaN) score or label are left
    out. Raises :class:`ValueError` for mismatched sizes, scores outside ``[0, 1]``, labels
    not in ``classes``, or fewer than 2 rows.
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim not in (1, 2):
        raise ValueError(f"scores must be 1-D or (rows, classes), got shape {s.shape}")
    y = np.asarray(labels, dtype=object).reshape(-1)
    if y.shape[0] != s.shape[0]:
        raise ValueError(f"{s.shape[0]} score rows but {y.shape[0]} labels")
    present = np.array([not _missing(v) for v in y.tolist()], dtype=bool)
    present &= np.isfinite(s).all(axis=1) if s.ndim == 2 else np.isfinite(s)
    s, y = s[present], y[present]
    if s.shape[0] < 2:
        raise ValueError("calibration needs at least 2 rows with a score and a label")
    if s.min() < 0 or s.max() > 1:
        raise ValueError(
            f"scores must be probabilities in [0, 1] (got values in [{s.min():.4g}, {s.max():.4g}])"
        )
    keys = [_key(v) for v in y.tolist()]
    if classes is None:
        distinct = sorted(set(keys), key=_sort_key)
        n_classes = 2 if s.ndim == 1 else s.shape[1]
        if len(distinct) > n_classes:
            raise ValueError(f"{len(distinct)} distinct labels but scores for {n_classes} classes")
        if len(distinct) < n_classes:
            if s.ndim == 2:
                raise ValueError(
                    f"labels hold {len(distinct)} classes but the scores have {n_classes} columns: "
                    "name them with classes="
                )
            raise ValueError("binary calibration needs both classes among the labels")
        classes = distinct
    else:
        classes = [_key(c) for c in classes]
    classes = tuple(classes)
    if not 2 <= len(classes) <= MAX_CLASSES:
        raise ValueError(f"calibration needs 2 to {MAX_CLASSES} classes, got {len(classes)}")
    if s.ndim == 2 and s.shape[1] != len(classes):
        raise ValueError(f"scores have {s.shape[1]} columns for {len(classes)} classes")
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({k for k in keys if k not in index}, key=_sort_key)
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not among the classes {list(classes)}")
    target = np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
    if len(classes) == 2 and s.ndim == 2:
        s = s[:, 1]
    maps = _fit_maps(s, target, len(classes))
    correct, confidence = _cross_fitted(s, target, len(classes))
    edges: tuple[float, ...] = ()
    if len(classes) == 2:
        quantiles = np.quantile(s, np.arange(1, AUC_BINS) / AUC_BINS)
        edges = tuple(np.unique(quantiles).tolist())
    predicted = _predicted(s)
    return Calibration(
        classes=classes,
        maps=maps,
        calibration_error=expected_calibration_error(confidence, correct),
        auc_edges=edges,
        n_rows=int(s.shape[0]),
        accuracy=float((predicted == target).mean()),
    )


def _fit_maps(s: np.ndarray, target: np.ndarray, k: int) -> tuple[IsotonicMap, ...]:
    if k == 2:
        return (fit_isotonic(s, (target == 1).astype(np.float64)),)
    return tuple(fit_isotonic(s[:, j], (target == j).astype(np.float64)) for j in range(k))


def _predicted(s: np.ndarray) -> np.ndarray:
    """The predicted class index: the argmax column, or ``score > 0.5`` for a binary score
    (as scikit-learn's ``predict`` and ``argmax`` of ``[1 - s, s]``)."""
    return (s > 0.5).astype(np.int64) if s.ndim == 1 else s.argmax(axis=1)


def _cross_fitted(s: np.ndarray, target: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(correct, calibrated probability of the predicted class) of every row, each half
    calibrated by the maps fitted on the other half (a fixed permutation, seed 0)."""
    n = s.shape[0]
    order = np.random.default_rng(0).permutation(n)
    halves = (order[: n // 2], order[n // 2 :])
    predicted = _predicted(s)
    confidence = np.empty(n)
    for fit, apply in (halves, halves[::-1]):
        if fit.size == 0 or apply.size == 0:
            continue
        maps = _fit_maps(s[fit], target[fit], k)
        calibration = Calibration(tuple(range(k)), maps, 0.0)
        p = calibration.calibrate(s[apply])
        confidence[apply] = (
            np.where(predicted[apply] == 1, p, 1.0 - p)
            if k == 2
            else p[np.arange(apply.size), predicted[apply]]
        )
    return (predicted == target).astype(np.float64), confidence


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """``sum_b (n_b / n) |mean confidence_b - mean correct_b|`` over ``bins`` equal-count bins
    of ``confidence``. Includes the bins' sampling noise (about ``sqrt(c (1 - c) / n_b)``),
    so it overstates the calibration error of a small reference: a conservative figure."""
    order = np.argsort(confidence, kind="stable")
    chunks = np.array_split(order, min(bins, order.size))
    n = order.size
    return float(sum(c.size / n * abs(confidence[c].mean() - correct[c].mean()) for c in chunks if c.size))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _key(value: Any) -> str | int:
    """A label as it is stored: ints (integral floats and bools too) stay ints, the rest str."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _sort_key(value: str | int) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int) else (1, value)
