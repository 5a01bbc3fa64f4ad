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
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlotel.drift.thresholds import DriftResult, ThresholdPolicy, Thresholds, resolve_thresholds

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_MAX_ROWS",
    "DEFAULT_VARIANCE",
    "METHOD",
    "NAME",
    "MultivariateModel",
    "ReconstructionErrors",
    "RowSample",
    "compare_reconstruction",
    "fit_model",
]

#: The ``feature`` and ``method`` of the multivariate row of a drift report.
NAME = "multivariate"
METHOD = "reconstruction"
DEFAULT_MAX_ROWS = 50_000
DEFAULT_VARIANCE = 0.95
DEFAULT_CHUNK_SIZE = 1_000
#: Bounds are the mean of the chunk means +- this many standard deviations of them.
N_STD = 3.0


# --------------------------------------------------------------------------------------------
# The bounded row sample (reference side, while building)


class RowSample:
    """A uniform random sample of at most ``max_rows`` rows of ``features`` (float64).

    Reservoir sampling (algorithm R, vectorized per batch): after ``n_seen`` rows every row
    is in the sample with probability ``min(1, max_rows / n_seen)``. Memory is
    ``max_rows * len(features) * 8`` bytes at most, whatever the input size.
    """

    __slots__ = ("features", "max_rows", "n_seen", "rows", "_rng")

    def __init__(self, features: Sequence[str], max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 2:
            raise ValueError(f"max_rows must be an int >= 2, got {max_rows!r}")
        self.features = [str(f) for f in features]
        self.max_rows = max_rows
        self.n_seen = 0
        self.rows = np.empty((0, len(self.features)), dtype=np.float64)
        self._rng = np.random.default_rng(seed)

    def update(self, matrix: np.ndarray) -> None:
        """Offer the rows of ``matrix`` (``n x len(features)``) to the sample."""
        matrix = np.asarray(matrix, dtype=np.float64)
        n = matrix.shape[0]
        if n == 0:
            return
        room = self.max_rows - self.rows.shape[0]
        if room > 0:
            self.rows = np.concatenate([self.rows, matrix[:room]])
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
        self.n_seen += n

    def merge(self, other: RowSample) -> None:
        """Make this a uniform sample of both inputs' rows (``other`` is not changed).

        The number of rows taken from each side is hypergeometric (as drawing ``max_rows``
        rows without replacement from the union), then that many are drawn from each sample.
        """
        if other.features != self.features or other.max_rows != self.max_rows:
            raise ValueError("cannot merge row samples of different features or sizes")
        total = self.n_seen + other.n_seen
        size = min(self.max_rows, total)
        if other.n_seen == 0:
            return
        if self.n_seen == 0:
            self.rows, self.n_seen = other.rows.copy(), other.n_seen
            return
        mine = int(self._rng.hypergeometric(self.n_seen, other.n_seen, size))
        pick_mine = self._rng.choice(self.rows.shape[0], mine, replace=False)
        pick_theirs = self._rng.choice(other.rows.shape[0], size - mine, replace=False)
        self.rows = np.concatenate([self.rows[pick_mine], other.rows[pick_theirs]])
        self.n_seen = total

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible state; the rows as base64 little-endian float64 (exact)."""
        return {
            "features": self.features,
            "max_rows": self.max_rows,
            "n_seen": self.n_seen,
            "rows": base64.b64encode(self.rows.astype("<f8").tobytes()).decode("ascii"),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], seed: int = 0) -> RowSample:
        sample = cls(d["features"], int(d["max_rows"]), seed)
        sample.n_seen = int(d["n_seen"])
        flat = np.frombuffer(base64.b64decode(d["rows"]), dtype="<f8").astype(np.float64)
        sample.rows = flat.reshape(-1, len(sample.features))
        return sample


# --------------------------------------------------------------------------------------------
# The fitted model (stored in the reference profile)


@dataclass(frozen=True, eq=False)
class MultivariateModel:
    """Standardization + PCA of the reference's numeric features, and the reference's
    reconstruction-error statistics.

    ``mean``/``std`` (length ``d``) standardize; ``components`` (``k x d``, orthonormal rows)
    reconstruct; ``explained`` is the share of the sample's variance the ``k`` components
    explain. ``error_mean`` is the reference mean error, ``lower``/``upper`` its bounds
    (chunk means of ``chunk_size`` rows, +-3 standard deviations), ``n_rows`` the sample
    size it was fitted on and ``n_seen`` the rows offered to the sample.
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

    def errors(self, matrix: np.ndarray) -> np.ndarray:
        """Reconstruction error of each row of ``matrix`` (``n x d``, columns in
        :attr:`features` order): ``||z - z C^T C||`` with missing values at the mean."""
        z = (np.asarray(matrix, dtype=np.float64) - self.mean) / self.std
        z[~np.isfinite(z)] = 0.0
        residual = z - (z @ self.components.T) @ self.components
        return np.sqrt(np.einsum("ij,ij->i", residual, residual))

    @property
    def fingerprint(self) -> str:
        """A short hash of the model's parameters: current errors are only comparable with
        the model that computed them."""
        h = hashlib.sha256(json.dumps(list(self.features)).encode())
        for a in (self.mean, self.std, self.components):
            h.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
        return h.hexdigest()[:16]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MultivariateModel):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "features": list(self.features),
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
            mean = np.asarray(d["mean"], dtype=np.float64)
            std = np.asarray(d["std"], dtype=np.float64)
            components = np.asarray(d["components"], dtype=np.float64).reshape(-1, len(features))
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
            )
        except KeyError as exc:
            raise ValueError(f"multivariate: missing field {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"multivariate: {exc}") from None
        d_ = len(features)
        if mean.shape != (d_,) or std.shape != (d_,) or not (1 <= components.shape[0] < d_ or d_ < 2):
            raise ValueError("multivariate: mean, std and components do not match the features")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError("multivariate: mean and std must be finite, std > 0")
        return model


def fit_model(
    sample: RowSample,
    variance: float = DEFAULT_VARIANCE,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    seed: int = 0,
) -> MultivariateModel:
    """Fit the model on ``sample`` (see the module docstring for what is computed).

    Raises :class:`ValueError` with fewer than 2 features or 2 rows.
    """
    if not 0 < variance <= 1:
        raise ValueError(f"variance must be in (0, 1], got {variance!r}")
    x = sample.rows
    n, d = x.shape
    if d < 2:
        raise ValueError(f"multivariate drift needs at least 2 numeric features, got {d}")
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
        tuple(sample.features), mean, std, components, float(variance), explained,
        0.0, 0.0, 0.0, 0.0, int(chunk_size), n, sample.n_seen,
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
        int(chunk_size), n, sample.n_seen,
    )  # fmt: skip


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
    half = N_STD * model.error_chunk_std * max(1.0, math.sqrt(model.chunk_size / n_cur))
    outside = not (model.error_mean - half <= current.mean <= model.error_mean + half)
    return DriftResult(
        NAME, METHOD, value, None, "alert" if outside else "ok", threshold, model.n_rows, n_cur
    )
