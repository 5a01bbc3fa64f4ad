"""Multivariate (data-reconstruction) drift: a bounded PCA model of the numeric features.

What is computed (docs/drift.md, "Multivariate drift"):

* **Reference.** :class:`RowSample` keeps a uniform random sample of at most ``max_rows``
  rows (default 50,000) of the numeric features, whatever the data size (reservoir
  sampling across batches; two samples merge into a uniform sample of the union).
  :func:`fit_model` standardizes each feature with the sample's mean and standard deviation,
  imputes missing values (NaN and infinities) with the feature mean (0 once standardized),
  and keeps the fewest principal components (``numpy.linalg.svd`` of the standardized
  sample) whose explained variance reaches ``variance`` (at most ``d - 1`` of the ``d``
  features, so that some error is left to measure).
* **Reconstruction error** of a row: ``||z - z C^T C||_2`` with ``z`` its standardized,
  imputed values and ``C`` the ``k x d`` components (:meth:`MultivariateModel.errors`,
  vectorized over rows).
* **Reference bounds.** The sample is shuffled and cut into chunks of ``chunk_size`` rows
  (default 1,000); ``lower``/``upper`` are the mean of the chunk mean errors minus/plus 3
  standard deviations of them (as NannyML's data-reconstruction drift). With fewer than 2
  whole chunks the standard deviation of a chunk mean is estimated as
  ``std(row errors) / sqrt(chunk_size)``.
* **Current.** :class:`ReconstructionErrors` holds the count and sum of the current rows'
  errors under one model (exact, mergeable); :func:`compare_reconstruction` reports
  ``current mean / reference mean`` and alerts when the current mean is outside the bounds
  (widened by ``sqrt(chunk_size / n)`` when fewer than ``chunk_size`` current rows).
* **Categorical features** are one-hot encoded on a bounded set of categories: for each, the
  sample's most frequent ``MAX_CATEGORIES`` (8) categories holding at least
  ``MIN_CATEGORY_SHARE`` (1%) of the rows, at most ``MAX_CATEGORY_COLUMNS`` (64) indicator
  columns in all; any other category is all zeros ("other"), a missing value is missing in
  each indicator (so imputed at the mean). Categories are keyed by ``str(value)`` as
  :class:`~mlotel.sketches.FrequentItems` keys them. :meth:`MultivariateModel.encode` is the
  one encoding, for the reference, ``profile_current`` and the online monitor.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlotel.drift.thresholds import DriftResult, ThresholdPolicy, Thresholds, resolve_thresholds
from mlotel.sketches.frequent import CodedValues

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_VARIANCE",
    "MAX_CATEGORIES",
    "MAX_CATEGORY_COLUMNS",
    "METHOD",
    "NAME",
    "MultivariateModel",
    "ReconstructionErrors",
    "RowSample",
    "category_keys",
    "compare_reconstruction",
    "fit_model",
    "reconstruction_bounds",
]

#: The ``feature`` and ``method`` of the multivariate row of a drift report.
NAME = "multivariate"
METHOD = "reconstruction"
DEFAULT_MAX_ROWS = 50_000
DEFAULT_VARIANCE = 0.95
DEFAULT_CHUNK_SIZE = 1_000
#: Bounds are the mean of the chunk means +- this many standard deviations of them.
N_STD = 3.0
#: Categorical features: at most this many one-hot categories each...
MAX_CATEGORIES = 8
#: ...each holding at least this share of the sample's rows...
MIN_CATEGORY_SHARE = 0.01
#: ...and at most this many indicator columns over all categorical features.
MAX_CATEGORY_COLUMNS = 64
#: Category keys are cut to this many characters (as FrequentItems' default).
MAX_KEY_LENGTH = 128


def _distinct_keys(values: Any) -> tuple[list[str], np.ndarray]:
    """``(keys, inverse)``: the distinct category keys (``str(value)``, cut to
    ``MAX_KEY_LENGTH``) of a 1-D column and, per row, the index of its key (-1: missing).

    Vectorized: ``np.unique`` over the rows (C loops), Python only over distinct values.
    """
    if isinstance(values, CodedValues):
        codes = np.asarray(values.codes, dtype=np.int64)
        distinct = [str(c)[:MAX_KEY_LENGTH] for c in values.categories.tolist()]
    else:
        arr = np.asarray(values)
        arr = arr.reshape(-1)
        if arr.dtype.kind == "f":
            present = ~np.isnan(arr)
        elif arr.dtype.kind == "O":
            try:
                present = ~((arr == None) | (arr != arr))  # noqa: E711 - elementwise None test
            except Exception:
                present = np.array([v is not None and v == v for v in arr.tolist()], dtype=bool)
            present = np.asarray(present, dtype=bool).reshape(-1)
        else:
            present = np.ones(arr.shape[0], dtype=bool)
        codes = np.full(arr.shape[0], -1, dtype=np.int64)
        if not present.any():
            return [], codes
        strings = arr[present].astype(str)
        uniq, inverse = np.unique(strings, return_inverse=True)
        codes[present] = inverse.reshape(-1)
        distinct = [u[:MAX_KEY_LENGTH] for u in uniq.tolist()]
    return distinct, codes


def category_keys(values: Any) -> np.ndarray:
    """The category key (``str(value)``) of every row of a 1-D column as an object array,
    ``None`` where the value is missing (None/NaN)."""
    distinct, codes = _distinct_keys(values)
    lookup = np.empty(len(distinct) + 1, dtype=object)
    lookup[: len(distinct)] = distinct
    return lookup[codes]  # code -1 is the last slot: None


# --------------------------------------------------------------------------------------------
# The bounded row sample (reference side, while building)


class RowSample:
    """A uniform random sample of at most ``max_rows`` rows of ``features`` (float64) and of
    the ``categorical`` features (their category keys, ``None`` when missing).

    Reservoir sampling (algorithm R, vectorized per batch): after ``n_seen`` rows every row
    is in the sample with probability ``min(1, max_rows / n_seen)``. Memory is
    ``max_rows * len(features) * 8`` bytes plus ``max_rows * len(categorical)`` keys (of at
    most 128 characters) at most, whatever the input size.
    """

    __slots__ = ("features", "categorical", "max_rows", "n_seen", "rows", "labels", "_rng")

    def __init__(
        self,
        features: Sequence[str],
        max_rows: int = DEFAULT_MAX_ROWS,
        seed: int = 0,
        categorical: Sequence[str] = (),
    ) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2:
            raise ValueError(f"max_rows must be an int >= 2, got {max_rows!r}")
        self.features = [str(f) for f in features]
        self.categorical = [str(f) for f in categorical]
        self.max_rows = max_rows
        self.n_seen = 0
        self.rows = np.empty((0, len(self.features)), dtype=np.float64)
        self.labels = np.empty((0, len(self.categorical)), dtype=object)
        self._rng = np.random.default_rng(seed)

    def update(self, matrix: np.ndarray, labels: np.ndarray | None = None) -> None:
        """Offer the rows of ``matrix`` (``n x len(features)``) and of ``labels`` (``n x
        len(categorical)`` category keys, see :func:`category_keys`) to the sample."""
        matrix = np.asarray(matrix, dtype=np.float64)
        n = matrix.shape[0]
        if n == 0:
            return
        if labels is None:
            labels = np.full((n, len(self.categorical)), None, dtype=object)
        room = self.max_rows - self.rows.shape[0]
        if room > 0:
            self.rows = np.concatenate([self.rows, matrix[:room]])
            self.labels = np.concatenate([self.labels, labels[:room]])
        rest = matrix[max(room, 0) :]
        if rest.shape[0]:
            first = self.n_seen + max(room, 0)
            # Row i (0-based overall) replaces slot j ~ U{0..i} when j < max_rows.
            slots = self._rng.integers(0, np.arange(first, first + rest.shape[0]) + 1)
            keep = np.flatnonzero(slots < self.max_rows)
            if keep.size:
                # Later rows win a slot drawn twice: keep each slot's last row only.
                last = keep[::-1][np.unique(slots[keep][::-1], return_index=True)[1]]
                self.rows[slots[last]] = rest[last]
                self.labels[slots[last]] = labels[max(room, 0) :][last]
        self.n_seen += n

    def merge(self, other: RowSample) -> None:
        """Make this a uniform sample of both inputs' rows (``other`` is not changed).

        The number of rows taken from each side is hypergeometric (as drawing ``max_rows``
        rows without replacement from the union), then that many are drawn from each sample.
        """
        if (
            other.features != self.features
            or other.categorical != self.categorical
            or other.max_rows != self.max_rows
        ):
            raise ValueError("cannot merge row samples of different features or sizes")
        total = self.n_seen + other.n_seen
        size = min(self.max_rows, total)
        if other.n_seen == 0:
            return
        if self.n_seen == 0:
            self.rows, self.labels, self.n_seen = other.rows.copy(), other.labels.copy(), other.n_seen
            return
        mine = int(self._rng.hypergeometric(self.n_seen, other.n_seen, size))
        pick_mine = self._rng.choice(self.rows.shape[0], mine, replace=False)
        pick_theirs = self._rng.choice(other.rows.shape[0], size - mine, replace=False)
        self.rows = np.concatenate([self.rows[pick_mine], other.rows[pick_theirs]])
        self.labels = np.concatenate([self.labels[pick_mine], other.labels[pick_theirs]])
        self.n_seen = total

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible state; the rows as base64 little-endian float64 (exact), the
        categorical keys (when there are categorical features) as lists."""
        out: dict[str, Any] = {
            "features": self.features,
            "max_rows": self.max_rows,
            "n_seen": self.n_seen,
            "rows": base64.b64encode(self.rows.astype("<f8").tobytes()).decode("ascii"),
        }
        if self.categorical:
            out["categorical"] = self.categorical
            out["labels"] = self.labels.T.tolist()  # one list per categorical feature
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any], seed: int = 0) -> RowSample:
        sample = cls(d["features"], int(d["max_rows"]), seed, d.get("categorical", ()))
        sample.n_seen = int(d["n_seen"])
        flat = np.frombuffer(base64.b64decode(d["rows"]), dtype="<f8").astype(np.float64)
        sample.rows = flat.reshape(-1, len(sample.features))
        labels = np.empty((sample.rows.shape[0], len(sample.categorical)), dtype=object)
        for j, keys in enumerate(d.get("labels", ())):
            labels[:, j] = keys
        sample.labels = labels
        return sample


# --------------------------------------------------------------------------------------------
# The fitted model (stored in the reference profile)


@dataclass(frozen=True, eq=False)
class MultivariateModel:
    """Standardization + PCA of the reference's numeric features, and the reference's
    reconstruction-error statistics.

    ``features`` are the model's input features; ``categories`` maps each categorical one to
    its one-hot categories (absent: numeric). The encoded columns (:meth:`encode`, ``d`` =
    :attr:`width` of them) are the features in order, a categorical feature giving one
    indicator column per category. ``mean``/``std`` (length ``d``) standardize;
    ``components`` (``k x d``, orthonormal rows) reconstruct; ``explained`` is the share of
    the sample's variance the ``k`` components explain. ``error_mean`` is the reference mean
    error, ``lower``/``upper`` its bounds (chunk means of ``chunk_size`` rows, +-3 standard
    deviations), ``n_rows`` the sample size it was fitted on and ``n_seen`` the rows offered
    to the sample.
    """

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray
    components: np.ndarray
    variance: float
    explained: float
    error_mean: float
    error_chunk_std: float
    lower: float
    upper: float
    chunk_size: int
    n_rows: int
    n_seen: int
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The error is the norm of z's part outside the kept components, i.e. its projection
        # on an orthonormal basis D of their complement (d - k rows): ||z D^T|| equals
        # ||z - z C^T C||. With the standardization folded in, a batch costs one matrix
        # product X @ W - b and one row norm (no pass over the standardized matrix).
        d = self.mean.shape[0]
        c = np.asarray(self.components, dtype=np.float64).reshape(-1, d)
        values, vectors = np.linalg.eigh(np.eye(d) - c.T @ c)
        rest = vectors[:, values > 0.5].T  # the complement: eigenvalue 1 (the kept ones: 0)
        with np.errstate(divide="ignore"):  # std 0 is rejected by from_dict, never fitted
            inverse = 1.0 / self.std
        object.__setattr__(self, "_weights", np.ascontiguousarray((rest * inverse).T))
        object.__setattr__(self, "_offset", (self.mean * inverse) @ rest.T)

    @property
    def width(self) -> int:
        """The number of encoded columns (``d``)."""
        return int(self.mean.shape[0])

    def encode(self, columns: Any, n_rows: int) -> np.ndarray:
        """The ``n_rows x d`` float64 matrix :meth:`errors` takes, from ``columns`` (objects
        with ``name``, ``values`` and ``categorical``, e.g. :class:`mlotel.data.Column`).

        A numeric feature absent from ``columns`` or categorical there is missing (NaN); a
        categorical feature gives its indicators (any other category: zeros; missing or
        absent: NaN). The same encoding for the reference, batch and online data.
        """
        return _encode(self.features, self.categories, columns, n_rows)

    def errors(self, matrix: np.ndarray) -> np.ndarray:
        """Reconstruction error of each row of ``matrix`` (``n x d``, encoded columns, see
        :meth:`encode`): ``||z - z C^T C||`` with ``z`` the standardized row and missing
        values (NaN, infinities) at the mean (0 once standardized)."""
        x = np.asarray(matrix, dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):  # NaN and infinities: below
            projected = x @ self._weights
            projected -= self._offset
            out = np.sqrt(np.einsum("ij,ij->i", projected, projected))
            bad = ~np.isfinite(out)
            if bad.any():  # rows with a missing value: impute at the mean, then the same formula
                rows = x[bad]
                rows = np.where(np.isfinite(rows), rows, self.mean)
                projected = rows @ self._weights - self._offset
                out[bad] = np.sqrt(np.einsum("ij,ij->i", projected, projected))
        return out

    @property
    def fingerprint(self) -> str:
        """A short hash of the model's parameters: current errors are only comparable with
        the model that computed them."""
        h = hashlib.sha256(json.dumps(list(self.features)).encode())
        if self.categories:
            h.update(json.dumps({k: list(v) for k, v in sorted(self.categories.items())}).encode())
        for a in (self.mean, self.std, self.components):
            h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        return h.hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultivariateModel):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        categories = (
            {"categories": {k: list(v) for k, v in self.categories.items()}} if self.categories else {}
        )
        return {
            "method": METHOD,
            "features": list(self.features),
            **categories,
            "variance": self.variance,
            "explained": self.explained,
            "mean": [float(x) for x in self.mean],
            "std": [float(x) for x in self.std],
            "components": [[float(x) for x in row] for row in self.components],
            "error": {
                "mean": self.error_mean,
                "chunk_std": self.error_chunk_std,
                "lower": self.lower,
                "upper": self.upper,
                "chunk_size": self.chunk_size,
            },
            "n_rows": self.n_rows,
            "n_seen": self.n_seen,
        }

    @classmethod
    def from_dict(cls, d: Any) -> MultivariateModel:
        """Inverse of :meth:`to_dict`; raises :class:`ValueError` naming the bad field."""
        if not isinstance(d, dict):
            raise ValueError("field 'multivariate' must be an object")
        try:
            features = tuple(str(f) for f in d["features"])
            categories = {str(k): tuple(str(c) for c in v) for k, v in d.get("categories", {}).items()}
            width = sum(len(categories[f]) if f in categories else 1 for f in features)
            mean = np.asarray(d["mean"], dtype=np.float64)
            std = np.asarray(d["std"], dtype=np.float64)
            components = np.asarray(d["components"], dtype=np.float64).reshape(-1, width)
            err = d["error"]
            model = cls(
                features,
                mean,
                std,
                components,
                float(d["variance"]),
                float(d["explained"]),
                float(err["mean"]),
                float(err["chunk_std"]),
                float(err["lower"]),
                float(err["upper"]),
                int(err["chunk_size"]),
                int(d["n_rows"]),
                int(d["n_seen"]),
                categories,
            )
        except KeyError as exc:
            raise ValueError(f"multivariate: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError, AttributeError, np.linalg.LinAlgError) as exc:
            raise ValueError(f"multivariate: {exc}") from None
        d_ = width
        if mean.shape != (d_,) or std.shape != (d_,) or not (1 <= components.shape[0] < d_ or d_ < 2):
            raise ValueError("multivariate: mean, std and components do not match the features")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError("multivariate: mean and std must be finite, std > 0")
        if set(categories) - set(features):
            raise ValueError("multivariate: categories of features not in the model")
        return model


def fit_model(
    sample: RowSample,
    variance: float = DEFAULT_VARIANCE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed: int = 0,
) -> MultivariateModel:
    """Fit the model on ``sample`` (see the module docstring for what is computed).

    Raises :class:`ValueError` with fewer than 2 encoded columns (numeric features and
    category indicators) or 2 rows.
    """
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance!r}")
    n = sample.rows.shape[0]
    categories = _choose_categories(sample)
    features = tuple(sample.features) + tuple(f for f in sample.categorical if f in categories)
    if n:
        columns = [_Column(f, sample.rows[:, j], False) for j, f in enumerate(sample.features)]
        columns += [_Column(f, sample.labels[:, j], True) for j, f in enumerate(sample.categorical)]
        x = _encode(features, categories, columns, n)
    else:
        x = np.empty((0, len(features)))
    d = x.shape[1]
    if d < 2:
        raise ValueError(
            f"multivariate drift needs at least 2 numeric features (or category columns), got {d}"
        )
    if n < 2:
        raise ValueError(f"multivariate drift needs at least 2 rows, got {n}")
    finite = np.isfinite(x)
    counts = finite.sum(axis=0)
    safe = np.where(finite, x, 0.0)
    mean = np.divide(safe.sum(axis=0), counts, out=np.zeros(d), where=counts > 0)
    dev = np.where(finite, x - mean, 0.0)
    var = np.divide((dev * dev).sum(axis=0), counts - 1, out=np.zeros(d), where=counts > 1)
    std = np.sqrt(var)
    std[~(std > 0) | ~np.isfinite(std)] = 1.0  # constant or empty feature: centered only
    z = dev / std
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    power = s * s
    total = power.sum()
    share = np.cumsum(power) / total if total > 0 else np.ones_like(power)
    k = int(np.searchsorted(share, variance - 1e-12) + 1)
    k = max(1, min(k, d - 1))
    components = vt[:k].copy()
    explained = float(share[k - 1])
    model = MultivariateModel(
        features, mean, std, components, float(variance), explained,
        0.0, 0.0, 0.0, 0.0, int(chunk_size), n, sample.n_seen, categories,
    )  # fmt: skip
    errors = model.errors(x)
    errors = errors[np.random.default_rng(seed).permutation(n)]
    chunks = n // chunk_size
    if chunks >= 2:
        chunk_std = float(errors[: chunks * chunk_size].reshape(chunks, chunk_size).mean(axis=1).std(ddof=1))
    else:
        chunk_std = float(errors.std(ddof=1) / math.sqrt(chunk_size))
    error_mean = float(errors.mean())
    return MultivariateModel(
        model.features, mean, std, components, float(variance), explained,
        error_mean, chunk_std, error_mean - N_STD * chunk_std, error_mean + N_STD * chunk_std,
        int(chunk_size), n, sample.n_seen, categories,
    )  # fmt: skip


def _encode(
    features: Sequence[str], categories: Mapping[str, Sequence[str]], columns: Any, n_rows: int
) -> np.ndarray:
    """:meth:`MultivariateModel.encode` (also used to fit, before a model exists)."""
    by_name = {c.name: c for c in columns}
    width = sum(len(categories[f]) if f in categories else 1 for f in features)
    matrix = np.empty((n_rows, width), dtype=np.float64)
    j = 0
    for name in features:
        column = by_name.get(name)
        kept = categories.get(name)
        if kept is None:
            if column is None or column.categorical:
                matrix[:, j] = np.nan
            else:
                matrix[:, j] = column.values
            j += 1
            continue
        k = len(kept)
        if column is None:
            matrix[:, j : j + k] = np.nan
        else:
            distinct, codes = _distinct_keys(column.values)
            slot = {key: i for i, key in enumerate(kept)}
            # Indicator rows: one per category, then "other" (zeros), then missing (NaN).
            table = np.zeros((k + 2, k))
            table[np.arange(k), np.arange(k)] = 1.0
            table[k + 1] = np.nan
            lookup = np.array([slot.get(key, k) for key in distinct] + [k + 1], dtype=np.intp)
            matrix[:, j : j + k] = table[lookup[codes]]  # code -1: the last entry, missing
        j += k
    return matrix


@dataclass(frozen=True)
class _Column:
    name: str
    values: Any
    categorical: bool


def _choose_categories(sample: RowSample) -> dict[str, tuple[str, ...]]:
    """Each categorical feature's one-hot categories: its most frequent keys in the sample
    (at most ``MAX_CATEGORIES``, each in at least ``MIN_CATEGORY_SHARE`` of the rows), at most
    ``MAX_CATEGORY_COLUMNS`` in all (features in order); a category in every row (a constant
    indicator) is left out. Features left with none are not part of the model."""
    n = sample.labels.shape[0]
    if not sample.categorical or n == 0:
        return {}
    each = max(1, min(MAX_CATEGORIES, MAX_CATEGORY_COLUMNS // len(sample.categorical)))
    room = MAX_CATEGORY_COLUMNS
    out: dict[str, tuple[str, ...]] = {}
    for j, name in enumerate(sample.categorical):
        distinct, codes = _distinct_keys(sample.labels[:, j])
        if not distinct or room <= 0:
            continue
        counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
        order = sorted(range(len(distinct)), key=lambda i: (-int(counts[i]), distinct[i]))
        chosen = [distinct[i] for i in order[: min(each, room)] if MIN_CATEGORY_SHARE * n <= counts[i] < n]
        if chosen:
            out[name] = tuple(chosen)
            room -= len(chosen)
    return out


# --------------------------------------------------------------------------------------------
# The current side


@dataclass(frozen=True)
class ReconstructionErrors:
    """Count and sum of the reconstruction errors of the current rows under the model with
    ``fingerprint`` (:attr:`MultivariateModel.fingerprint`)."""

    fingerprint: str
    count: int = 0
    total: float = 0.0

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    def add(self, errors: np.ndarray) -> ReconstructionErrors:
        return ReconstructionErrors(
            self.fingerprint, self.count + errors.size, self.total + float(errors.sum())
        )

    def merged(self, other: ReconstructionErrors) -> ReconstructionErrors:
        if other.fingerprint != self.fingerprint:
            raise ValueError("cannot merge reconstruction errors of different models")
        return ReconstructionErrors(self.fingerprint, self.count + other.count, self.total + other.total)

    def to_dict(self) -> dict[str, Any]:
        return {"method": METHOD, "model": self.fingerprint, "count": self.count, "sum": self.total}

    @classmethod
    def from_dict(cls, d: Any) -> ReconstructionErrors:
        if not isinstance(d, dict):
            raise ValueError("field 'multivariate' must be an object")
        try:
            return cls(str(d["model"]), int(d["count"]), float(d["sum"]))
        except KeyError as exc:
            raise ValueError(f"multivariate: missing field {exc.args[0]!r}") from None


def reconstruction_bounds(model: MultivariateModel, n_rows: int) -> tuple[float, float]:
    """The bounds of the current mean error for ``n_rows`` current rows, relative to the
    reference mean error (as :func:`compare_reconstruction` applies them: half-width widened
    by ``sqrt(chunk_size / n_rows)`` below ``chunk_size`` rows). NaN without rows."""
    if n_rows <= 0 or not model.error_mean > 0:
        return math.nan, math.nan
    half = N_STD * model.error_chunk_std * max(1.0, math.sqrt(model.chunk_size / n_rows))
    return (model.error_mean - half) / model.error_mean, (model.error_mean + half) / model.error_mean


def compare_reconstruction(
    model: MultivariateModel,
    current: ReconstructionErrors | None,
    thresholds: Thresholds | ThresholdPolicy | Mapping[str, object] | None = None,
) -> DriftResult:
    """The ``multivariate`` / ``reconstruction`` row of a drift report.

    ``value`` = current mean error / reference mean error; ``"alert"`` when the current mean
    is outside ``[lower, upper]`` (half-width widened by ``sqrt(chunk_size / n)`` for ``n <
    chunk_size`` current rows), else ``"ok"``; ``threshold`` is ``upper / error_mean``.
    ``"insufficient"`` (value NaN) without current errors of this model or with fewer than
    ``min_samples`` current rows.
    """
    ref_mean = model.error_mean
    threshold = model.upper / ref_mean if ref_mean > 0 else math.inf
    n_cur = 0 if current is None else current.count
    if current is None or current.fingerprint != model.fingerprint:
        return DriftResult(NAME, METHOD, math.nan, None, "insufficient", threshold, model.n_rows, n_cur)
    value = current.mean / ref_mean if ref_mean > 0 else math.nan
    if n_cur < resolve_thresholds(thresholds, NAME).min_samples or not math.isfinite(current.mean):
        return DriftResult(NAME, METHOD, value, None, "insufficient", threshold, model.n_rows, n_cur)
    if ref_mean > 0:
        lower, upper = reconstruction_bounds(model, n_cur)
        outside = not (lower <= value <= upper)
    else:  # a reference reconstructed exactly: any error is outside
        outside = current.mean > model.upper
    return DriftResult(
        NAME, METHOD, value, None, "alert" if outside else "ok", threshold, model.n_rows, n_cur
    )
