"""Reference profiles: what drift detection keeps from the training data.

A :class:`ReferenceProfile` holds, per feature (and for the target when given), the
sketches drift needs without any raw data: a high-resolution exponential histogram,
moments and the reference quantile edges (numeric), or frequent-item counts
(categorical). Profiles are built from any input :func:`mlotel.data.read_input`
accepts, merge exactly across shards, and are saved as versioned, human-readable
JSON (format described in ``docs/drift.md``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from mlotel._atomic import write_text
from mlotel._buckets import parse_buckets
from mlotel.data import Column, read_input, read_output
from mlotel.data._columns import all_missing
from mlotel.drift._json import expect, field
from mlotel.drift.compare import CurrentSketch, DriftReport, ThresholdsLike, compare_profiles
from mlotel.drift.feature import (
    DEFAULT_QUANTILE_BINS,
    FeatureReference,
    ReferenceProfileError,
)
from mlotel.drift.lineage import DEFAULT_MAX_LOG_IDS, Lineage, LineageCounter, merge_lineage
from mlotel.drift.multivariate import (
    DEFAULT_MAX_ROWS,
    DEFAULT_VARIANCE,
    NAME,
    MultivariateModel,
    ReconstructionErrors,
    RowSample,
    category_keys,
    fit_model,
)
from mlotel.performance.calibration import Calibration, fit_calibration
from mlotel.sketches import CategoricalProfile, NumericProfile
from mlotel.sketches.frequent import CodedValues
from mlotel.version import __version__

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "FeatureReference",
    "ReferenceBuilder",
    "ReferenceProfile",
    "ReferenceProfileError",
    "build_reference",
    "profile_current",
    "reference_sizes",
]

#: Value of the ``"format"`` field of a saved profile.
FORMAT = "mlotel.reference_profile"
#: The (only) profile format version this mlotel reads and writes.
FORMAT_VERSION = 1

#: Defaults: a fine histogram (the current side is usually coarser, e.g. 160 buckets),
#: deciles for PSI (:data:`~mlotel.drift.feature.DEFAULT_QUANTILE_BINS`), and a top-K generous enough to hold most categorical vocabularies exactly.
DEFAULT_MAX_SIZE = 2048
#: Name of the prediction profile (:attr:`ReferenceProfile.prediction`).
PREDICTION = "prediction"
DEFAULT_TOP_K = 1024
DEFAULT_MAX_FEATURES = 4096

# --------------------------------------------------------------------------------------------
# The profile


class ReferenceProfile:
    """Per-feature reference sketches of a training set, plus the target's when given.

    ``features`` maps each feature name to its :class:`FeatureReference` (in column order);
    ``target`` is the target's (or ``None``); ``n_rows`` counts the rows profiled;
    ``quantile_bins`` is the number of equal-mass bins behind each numeric feature's
    ``quantile_edges``. ``multivariate`` is the reference's multivariate model
    (:class:`~mlotel.drift.multivariate.MultivariateModel`, ``build_reference(...,
    multivariate=True)``), or, for a profile of current data, the reconstruction errors of
    that data under the reference's model (:class:`ReconstructionErrors`), or ``None``.
    Build with :func:`build_reference` or :class:`ReferenceBuilder`;
    compare with :meth:`compare`; persist with :meth:`save` / :meth:`load`.
    """

    __slots__ = (
        "features",
        "target",
        "prediction",
        "n_rows",
        "quantile_bins",
        "multivariate",
        "lineage",
        "performance",
    )

    def __init__(
        self,
        features: Mapping[str, FeatureReference] | Iterable[FeatureReference],
        *,
        target: FeatureReference | None = None,
        n_rows: int = 0,
        quantile_bins: int = DEFAULT_QUANTILE_BINS,
        multivariate: MultivariateModel | ReconstructionErrors | None = None,
        lineage: Lineage | None = None,
        performance: Calibration | None = None,
        prediction: FeatureReference | None = None,
    ) -> None:
        items = list(features.values()) if isinstance(features, Mapping) else list(features)
        self.features: dict[str, FeatureReference] = {}
        for feature in items:
            if not isinstance(feature, FeatureReference):
                raise TypeError(f"features must be FeatureReference objects, got {type(feature).__name__}")
            if feature.name in self.features:
                raise ValueError(f"duplicate feature name {feature.name!r}")
            self.features[feature.name] = feature
        if target is not None and not isinstance(target, FeatureReference):
            raise TypeError(f"target must be a FeatureReference, got {type(target).__name__}")
        if target is not None and target.name in self.features:
            raise ValueError(f"the target {target.name!r} is also a feature")
        if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 0:
            raise ValueError(f"n_rows must be an int >= 0, got {n_rows!r}")
        if isinstance(quantile_bins, bool) or not isinstance(quantile_bins, int) or quantile_bins < 2:
            raise ValueError(f"quantile_bins must be an int >= 2, got {quantile_bins!r}")
        self.target = target
        # The model's own predictions on the reference rows (build_reference(predictions=...)):
        # what served predictions are compared with, when the target holds the true labels.
        if prediction is not None and not isinstance(prediction, FeatureReference):
            raise TypeError(f"prediction must be a FeatureReference, got {type(prediction).__name__}")
        self.prediction = prediction
        self.n_rows = n_rows
        self.quantile_bins = quantile_bins
        if multivariate is not None and not isinstance(
            multivariate, (MultivariateModel, ReconstructionErrors)
        ):
            raise TypeError(f"multivariate must be a MultivariateModel, got {type(multivariate).__name__}")
        self.multivariate = multivariate
        # Where the rows came from (served predictions?): mlotel.drift.lineage; None: not recorded.
        if lineage is not None and not isinstance(lineage, Lineage):
            raise TypeError(f"lineage must be a Lineage, got {type(lineage).__name__}")
        if lineage is not None and lineage.n_rows != n_rows:
            raise ValueError(f"lineage n_rows {lineage.n_rows} differs from the profile's n_rows {n_rows}")
        self.lineage = lineage
        # The score calibration of the label-free performance estimate (mlotel.performance).
        if performance is not None and not isinstance(performance, Calibration):
            raise TypeError(f"performance must be a Calibration, got {type(performance).__name__}")
        self.performance = performance

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReferenceProfile):
            return NotImplemented
        return (
            list(self.features.items()) == list(other.features.items())
            and self.target == other.target
            and self.prediction == other.prediction
            and (self.n_rows, self.quantile_bins) == (other.n_rows, other.quantile_bins)
            and self.multivariate == other.multivariate
            and self.lineage == other.lineage
            and self.performance == other.performance
        )

    def __repr__(self) -> str:
        target = "" if self.target is None else f", target={self.target.name!r}"
        lineage = "" if self.lineage is None else f", lineage={self.lineage.describe()!r}"
        return f"ReferenceProfile(n_rows={self.n_rows}, features={list(self.features)}{target}{lineage})"

    def columns(self) -> dict[str, FeatureReference]:
        """Features and the target together, keyed by name (the target last)."""
        out = dict(self.features)
        if self.target is not None:
            out[self.target.name] = self.target
        return out

    # -- combination -----------------------------------------------------------------
    def merge(self, other: ReferenceProfile) -> ReferenceProfile:
        """A new profile of both datasets (e.g. training shards); neither input changes.

        Histograms and moments merge exactly (moments up to float rounding); frequent items
        merge exactly while the union of kept keys fits in ``k``; quantile edges are
        recomputed from the merged histograms. Raises :class:`ValueError` when the profiles
        differ in features, target, a feature's kind, or ``quantile_bins``, or when one holds a
        multivariate model (a fitted PCA does not merge: merge the :class:`ReferenceBuilder`
        states, whose row samples do, and fit once). Current-data reconstruction errors of the
        same model merge exactly.
        """
        if not isinstance(other, ReferenceProfile):
            raise TypeError(f"cannot merge {type(other).__name__} into ReferenceProfile")
        if self.quantile_bins != other.quantile_bins:
            raise ValueError(f"quantile_bins differ: {self.quantile_bins} != {other.quantile_bins}")
        if set(self.features) != set(other.features):
            only_self = sorted(set(self.features) - set(other.features))
            only_other = sorted(set(other.features) - set(self.features))
            raise ValueError(
                f"profiles differ in features: only in self {only_self}, only in other {only_other}"
            )
        if (self.target is None) != (other.target is None) or (
            self.target is not None and self.target.name != other.target.name
        ):
            names = [None if t is None else t.name for t in (self.target, other.target)]
            raise ValueError(f"profiles differ in target: {names[0]!r} != {names[1]!r}")
        if (self.prediction is None) != (other.prediction is None):
            raise ValueError("profiles differ in predictions: one has a prediction profile, the other not")
        if self.performance is not None or other.performance is not None:
            raise ValueError(
                "profiles with a performance calibration do not merge (an isotonic fit is not "
                "mergeable): build the reference once with all scores and labels"
            )
        features = [f.merged(other.features[name], self.quantile_bins) for name, f in self.features.items()]
        target = None if self.target is None else self.target.merged(other.target, self.quantile_bins)
        return ReferenceProfile(
            features,
            target=target,
            prediction=None
            if self.prediction is None
            else self.prediction.merged(other.prediction, self.quantile_bins),
            n_rows=self.n_rows + other.n_rows,
            quantile_bins=self.quantile_bins,
            multivariate=_merge_multivariate(self.multivariate, other.multivariate),
            lineage=merge_lineage(self.lineage, self.n_rows, other.lineage, other.n_rows),
        )

    def compare(
        self,
        current: ReferenceProfile | Mapping[str, CurrentSketch],
        thresholds: ThresholdsLike = None,
    ) -> DriftReport:
        """Drift of ``current`` against this reference; see :func:`mlotel.drift.compare_profiles`."""
        return compare_profiles(self, current, thresholds)

    # -- serialization -------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return (
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_by": f"mlotel {__version__}",
                "n_rows": self.n_rows,
                "quantile_bins": self.quantile_bins,
                "features": [f.to_dict() for f in self.features.values()],
                "target": None if self.target is None else self.target.to_dict(),
            }
            | ({} if self.prediction is None else {"prediction": self.prediction.to_dict()})
            | ({} if self.multivariate is None else {"multivariate": self.multivariate.to_dict()})
            | ({} if self.lineage is None else {"lineage": self.lineage.to_dict()})
            | ({} if self.performance is None else {"performance": self.performance.to_dict()})
        )

    @classmethod
    def from_dict(cls, d: Any, source: str = "<dict>") -> ReferenceProfile:
        """Inverse of :meth:`to_dict`; raises :class:`ReferenceProfileError` ``"<source>: <problem>"``."""
        try:
            return cls._from_dict(d)
        except ReferenceProfileError:
            raise
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            raise ReferenceProfileError(f"{source}: {exc}") from None

    @classmethod
    def _from_dict(cls, d: Any) -> ReferenceProfile:
        obj = expect(d, dict, "profile")
        fmt = obj.get("format")
        if fmt != FORMAT:
            raise ValueError(
                f"not an mlotel reference profile (field 'format' is {fmt!r}, expected {FORMAT!r})"
            )
        version = obj.get("format_version")
        if version != FORMAT_VERSION:
            shown = "missing" if version is None else f"{version!r}"
            raise ValueError(f"format_version {shown} is not supported (this mlotel reads {FORMAT_VERSION})")
        n_rows = expect(field(obj, "n_rows", "profile"), int, "field 'n_rows'")
        bins = expect(field(obj, "quantile_bins", "profile"), int, "field 'quantile_bins'")
        raw = expect(field(obj, "features", "profile"), list, "field 'features'")
        features = [FeatureReference.from_dict(f, "feature") for f in raw]
        target_raw = obj.get("target")
        target = None if target_raw is None else FeatureReference.from_dict(target_raw, "target")
        prediction_raw = obj.get("prediction")
        prediction = (
            None if prediction_raw is None else FeatureReference.from_dict(prediction_raw, "prediction")
        )
        for f in features:
            if f.count > n_rows:
                raise ValueError(f"feature {f.name!r}: count {f.count} exceeds n_rows {n_rows}")
        multivariate = _multivariate_from_dict(obj.get("multivariate"))
        lineage = None if obj.get("lineage") is None else Lineage.from_dict(obj["lineage"])
        performance = None if obj.get("performance") is None else Calibration.from_dict(obj["performance"])
        return cls(
            features,
            target=target,
            n_rows=n_rows,
            quantile_bins=bins,
            multivariate=multivariate,
            lineage=lineage,
            performance=performance,
            prediction=prediction,
        )

    def to_json(self) -> str:
        """Indented JSON with each array of numbers on one line (see :meth:`save`)."""
        return _dump(self.to_dict(), 0) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> ReferenceProfile:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ReferenceProfileError(f"{source}: not JSON (line {exc.lineno}: {exc.msg})") from None
        return cls.from_dict(d, source)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the profile as UTF-8 JSON (format ``mlotel.reference_profile`` version 1).

        The file is written to a temporary name and renamed, so a crash never leaves a
        half-written profile behind. Raises :class:`OSError` on I/O failure.
        """
        write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReferenceProfile:
        """Read a saved profile.

        Raises :class:`ReferenceProfileError` (a :class:`ValueError`) naming the file and the
        problem for content that is not UTF-8, not JSON, of another format or version, or
        missing/mistyped/inconsistent fields; :class:`OSError` when the file cannot be read.
        """
        source = os.path.basename(os.fspath(path)) or os.fspath(path)
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReferenceProfileError(f"{source}: not UTF-8 text (byte {exc.start})") from None
        return cls.from_json(text, source)


# --------------------------------------------------------------------------------------------
# Building


class ReferenceBuilder:
    """Builds a :class:`ReferenceProfile` from data fed in batches (e.g. file chunks).

    ``features``, ``categorical`` and ``max_features`` are passed to
    :func:`mlotel.data.read_input` for every batch. ``target`` names the target column of
    the data (it may be one of ``features``, as when they name an array's columns, and is
    read even when it is not); with ``update(..., target_values=...)`` it is instead the
    name given to target values passed separately. A column keeps the kind (numeric or categorical) it
    had when first seen with a non-missing value; a later batch where it has the other kind
    raises :class:`ValueError` (name it in ``categorical`` to force it).

    Memory is bounded by the sketches (``max_size`` buckets per histogram side, ``top_k``
    keys per categorical feature), whatever the number of rows. ``max_size`` is an int, or
    ``{feature: buckets}`` with an optional ``"*"`` key for every other column (default
    2048), each in ``[8, 16384]``, as ``monitor(max_buckets=...)``.

    ``multivariate=True`` also keeps a uniform sample of at most ``max_rows`` (50,000) rows
    of the numeric features (reservoir sampling: ``max_rows x features x 8`` bytes at most,
    whatever the data size), on which :meth:`build` fits the multivariate model
    (:func:`mlotel.drift.multivariate.fit_model`, keeping ``variance`` of the variance).
    The features are the numeric non-target columns of the first batch. ``reconstruction``
    (a reference's :class:`MultivariateModel`, or its ``to_dict()``) is for current data:
    every batch's reconstruction errors under that model are summed exactly.
    """

    def __init__(
        self,
        *,
        features: Sequence[str] | None = None,
        categorical: Collection[str] | None = None,
        target: str | None = None,
        quantile_bins: int = DEFAULT_QUANTILE_BINS,
        max_size: int | Mapping[str, int] = DEFAULT_MAX_SIZE,
        top_k: int = DEFAULT_TOP_K,
        max_features: int = DEFAULT_MAX_FEATURES,
        multivariate: bool = False,
        variance: float = DEFAULT_VARIANCE,
        max_rows: int = DEFAULT_MAX_ROWS,
        reconstruction: MultivariateModel | Mapping[str, Any] | None = None,
        lineage: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(features, str):
            features = [features]
        if isinstance(categorical, str):
            categorical = [categorical]
        self._features = None if features is None else [str(f) for f in features]
        self._categorical = frozenset() if categorical is None else frozenset(map(str, categorical))
        self._target = None if target is None else str(target)
        if quantile_bins < 2:
            raise ValueError("quantile_bins must be >= 2")
        self._quantile_bins = int(quantile_bins)
        # An int, or {feature: buckets} with "*" for the rest (as monitor's max_buckets).
        self._max_size, self._feature_sizes = parse_buckets(max_size, "max_size", DEFAULT_MAX_SIZE)
        self._top_k = int(top_k)
        self._max_features = int(max_features)
        self._profiles: dict[str, NumericProfile | CategoricalProfile] = {}
        self._n_rows = 0
        self._dropped_warned = False
        if not 0 < variance <= 1:
            raise ValueError(f"variance must be in (0, 1], got {variance!r}")
        if multivariate and reconstruction is not None:
            raise ValueError("multivariate and reconstruction exclude each other")
        self._multivariate, self._variance, self._max_rows = (
            bool(multivariate),
            float(variance),
            int(max_rows),
        )
        self._sample: RowSample | None = None
        if isinstance(reconstruction, Mapping):
            reconstruction = MultivariateModel.from_dict(dict(reconstruction))
        self._reconstruction = reconstruction
        self._errors = None if reconstruction is None else ReconstructionErrors(reconstruction.fingerprint)
        # Served rows (feedback loops): {source, model, version, prediction_id, ids, served_by}.
        self._lineage = None if not lineage else LineageCounter(**lineage)

    @property
    def n_rows(self) -> int:
        return self._n_rows

    def update(self, data: Any, target_values: Any = None, prediction_ids: Any = None) -> None:
        """Profile one batch of rows.

        ``target_values`` (one value per row of ``data``) gives the target separately; it
        requires ``target`` to be set. ``prediction_ids`` (one per row) gives the rows'
        prediction ids separately, for a builder whose ``lineage`` has ``ids=True``; with
        ``lineage={"prediction_id": COLUMN}`` they are that column of ``data`` (not profiled).
        Raises :class:`mlotel.data.UnreadableInput` for data the adapters cannot read and
        :class:`ValueError` for a target or ids of another length or missing from the data,
        or a column whose kind changed.
        """
        data, prediction_ids = self._split_ids(data, prediction_ids)
        separate = target_values is not None
        if separate and self._target is None:
            raise ValueError("target_values given but the builder has no target name")
        if not separate and self._target is not None:
            # Read a named target column like a model output (ints and strings are labels), so
            # the reference target and the served predictions are sketched the same way.
            column = _named_column(data, self._target)
            if isinstance(column, CodedValues):  # read_output reads arrays
                column = np.asarray(column)
            if column is not None:
                separate, target_values = True, column
                data = _without(data, self._target)
        names = self._features
        if names is not None and self._target is not None and not separate and self._target not in names:
            names = [*names, self._target]
        max_features = self._max_features + (1 if self._target is not None and not separate else 0)
        frame = read_input(
            data, features=names, categorical=self._categorical, max_features=max_features, coded=True
        )
        if frame.dropped_columns and not self._dropped_warned:
            self._dropped_warned = True
            warnings.warn(
                f"reference profile: {frame.dropped_columns} column(s) not profiled "
                f"(repeated names, unsupported types, or beyond max_features={self._max_features})",
                stacklevel=2,
            )
        columns = list(frame.columns)
        if self._target is not None:
            if separate:
                target_frame = read_output(target_values, max_classes=1)
                if target_frame.n_rows != frame.n_rows or len(target_frame.columns) != 1:
                    raise ValueError(
                        f"target has {target_frame.n_rows} values but the data has {frame.n_rows} rows"
                    )
                (target_column,) = target_frame.columns
                if self._target in self._categorical and not target_column.categorical:
                    target_column = Column(self._target, target_column.values.astype(object), True)
                columns = [c for c in columns if c.name != self._target] + [
                    Column(self._target, target_column.values, target_column.categorical)
                ]
            elif names is None and frame.n_rows and all(c.name != self._target for c in columns):
                shown = [c.name for c in columns][:20]
                raise ValueError(f"target column {self._target!r} is not in the data (columns: {shown})")
        # Plan every column before touching any sketch, so a kind error changes nothing.
        plan = [self._plan(column) for column in columns]
        if self._lineage is not None and self._lineage.detects:
            self._lineage.update(prediction_ids, frame.n_rows)
        for column, (profile, values) in zip(columns, plan):
            self._profiles[column.name] = profile
            profile.update(values)
        self._n_rows += frame.n_rows
        if self._multivariate:
            if self._sample is None:
                names = [c.name for c in columns if not c.categorical and c.name != self._target]
                labels = [c.name for c in columns if c.categorical and c.name != self._target]
                self._sample = RowSample(names, self._max_rows, categorical=labels)
            self._sample.update(
                _numeric_matrix(columns, self._sample.features, frame.n_rows),
                _label_matrix(columns, self._sample.categorical, frame.n_rows),
            )
        elif self._reconstruction is not None:
            matrix = self._reconstruction.encode(columns, frame.n_rows)
            self._errors = self._errors.add(self._reconstruction.errors(matrix))

    def _split_ids(self, data: Any, ids: Any) -> tuple[Any, Any]:
        """``(data, ids)``: the prediction id column taken out of ``data`` when the lineage
        names one; checks that ids come when (and only when) the lineage counts them."""
        lineage = self._lineage
        if lineage is None or not lineage.detects:
            if ids is not None:
                raise ValueError(
                    "prediction_ids given but the builder counts no lineage (lineage={'ids': True})"
                )
            return data, None
        column = lineage.prediction_id
        if column is not None and ids is None:
            ids = _named_column(data, column)
            if ids is None:
                raise ValueError(
                    f"prediction id column {column!r} is not in the data (a dict of columns or a DataFrame)"
                )
            data = _without(data, column)
        if ids is None:
            raise ValueError("this builder counts served rows: give prediction_ids (one per row)")
        return data, ids

    def _plan(self, column: Column) -> tuple[NumericProfile | CategoricalProfile, Any]:
        """The sketch ``column`` goes to (new, or replacing a missing-only one) and the values."""
        profile = self._profiles.get(column.name)
        numeric = not column.categorical
        if profile is None:
            return self._new(numeric, column.name), column.values
        if isinstance(profile, NumericProfile) == numeric:
            return profile, column.values
        values = column.values
        if _all_missing(values):  # a missing-only batch says nothing about the kind
            return profile, all_missing(values.size, not numeric)
        if profile.count == profile.missing:
            # Missing-only so far: adopt the kind now seen, keeping the missing count.
            replacement = self._new(numeric, column.name)
            replacement.update(all_missing(profile.missing, not numeric))
            return replacement, values
        old = "numeric" if isinstance(profile, NumericProfile) else "categorical"
        new = "numeric" if numeric else "categorical"
        raise ValueError(
            f"column {column.name!r} was {old} in earlier rows but is {new} in rows "
            f"{self._n_rows}..{self._n_rows + values.size - 1}; name it as categorical to force one kind"
        )

    def _new(self, numeric: bool, name: str) -> NumericProfile | CategoricalProfile:
        if numeric:
            return NumericProfile(max_size=self._feature_sizes.get(name, self._max_size), max_scale=20)
        return CategoricalProfile(k=self._top_k)

    def build(self) -> ReferenceProfile:
        """The profile of every row fed so far (the builder stays usable)."""
        features, target = [], None
        names = list(self._profiles)
        if self._features is not None:  # the requested order, even if a batch reordered
            names = [n for n in self._features if n in self._profiles] + [
                n for n in names if n not in self._features
            ]
        for name in names:
            ref = _to_reference(name, self._profiles[name], self._quantile_bins)
            if name == self._target:
                target = ref
            else:
                features.append(ref)
        multivariate: MultivariateModel | ReconstructionErrors | None = self._errors
        if self._multivariate:
            if self._sample is None:
                raise ValueError("multivariate drift needs at least 2 numeric features, got no data")
            if NAME in self._sample.features or NAME in self._sample.categorical:
                raise ValueError(
                    f"a feature named {NAME!r} clashes with the multivariate drift result of that "
                    f"name: rename the column, or leave it out (features=...), to use multivariate=True"
                )
            multivariate = fit_model(self._sample, self._variance)
        return ReferenceProfile(
            features,
            target=target,
            n_rows=self._n_rows,
            quantile_bins=self._quantile_bins,
            multivariate=multivariate,
            lineage=None if self._lineage is None else self._lineage.build(self._n_rows),
        )

    # -- partial profiles (distributed engines) ---------------------------------------------
    def options(self) -> dict[str, Any]:
        """The constructor arguments of this builder (JSON-compatible)."""
        options: dict[str, Any] = {
            "features": self._features,
            "categorical": sorted(self._categorical),
            "target": self._target,
            "quantile_bins": self._quantile_bins,
            "max_size": self._sizes_option(),
            "top_k": self._top_k,
            "max_features": self._max_features,
        }
        if self._multivariate:
            options.update(multivariate=True, variance=self._variance, max_rows=self._max_rows)
        if self._reconstruction is not None:
            options["reconstruction"] = self._reconstruction.to_dict()
        if self._lineage is not None:
            options["lineage"] = self._lineage.options()
        return options

    def _sizes_option(self) -> int | dict[str, int]:
        """``max_size`` as given: an int, or the per-column mapping with ``"*"``."""
        return {"*": self._max_size, **self._feature_sizes} if self._feature_sizes else self._max_size

    def merge(self, other: ReferenceBuilder) -> None:
        """Add the rows ``other`` profiled (e.g. another partition's) to this builder.

        Exact like :meth:`ReferenceProfile.merge`: the result equals one builder fed both
        inputs, histograms and counts bit for bit, sums up to float rounding, frequent items
        exactly while the column's distinct values fit in ``top_k``. A column that is
        missing-only on one side takes the other side's kind, as :meth:`update` does; a
        column numeric on one side and categorical on the other raises :class:`ValueError`
        and changes nothing. ``other`` is not changed.
        """
        if not isinstance(other, ReferenceBuilder):
            raise TypeError(f"cannot merge {type(other).__name__} into ReferenceBuilder")
        if other.options() != self.options():
            raise ValueError("cannot merge builders with different options")
        merged = {
            name: _merge_columns(name, self._profiles.get(name), p) for name, p in other._profiles.items()
        }
        sample = self._sample
        if other._sample is not None:
            if sample is None:
                sample = RowSample(
                    other._sample.features, self._max_rows, categorical=other._sample.categorical
                )
            elif (sample.features, sample.categorical) != (other._sample.features, other._sample.categorical):
                raise ValueError(
                    f"cannot merge multivariate samples of different numeric features: "
                    f"{sample.features} != {other._sample.features}"
                )
            sample.merge(other._sample)
        self._profiles.update(merged)
        self._n_rows += other._n_rows
        self._sample = sample
        if self._errors is not None and other._errors is not None:
            self._errors = self._errors.merged(other._errors)
        if self._lineage is not None and other._lineage is not None:
            self._lineage.merge(other._lineage)

    def to_bytes(self) -> bytes:
        """This builder's state (options, sketches, rows) as compact bytes; see :meth:`from_bytes`.

        Floats round-trip exactly, so ``from_bytes(b.to_bytes())`` builds the same profile.
        """
        state = {
            "format": _PARTIAL_FORMAT,
            "options": self.options(),
            "n_rows": self._n_rows,
            "columns": [[name, p.to_dict()] for name, p in self._profiles.items()],
        }
        if self._sample is not None:
            state["sample"] = self._sample.to_dict()
        if self._errors is not None:
            state["errors"] = self._errors.to_dict()
        if self._lineage is not None:
            state["lineage"] = self._lineage.state()
        return zlib.compress(json.dumps(state, allow_nan=False, separators=(",", ":")).encode(), 1)

    @classmethod
    def from_bytes(cls, data: bytes) -> ReferenceBuilder:
        """Inverse of :meth:`to_bytes`. Raises :class:`ValueError` for anything else."""
        try:
            state = json.loads(zlib.decompress(data))
        except (zlib.error, ValueError, TypeError) as exc:
            raise ValueError(f"not a partial reference profile ({exc})") from None
        if not isinstance(state, dict) or state.get("format") != _PARTIAL_FORMAT:
            raise ValueError("not a partial reference profile")
        builder = cls(**state["options"])
        builder._n_rows = int(state["n_rows"])
        for name, d in state["columns"]:
            kind = NumericProfile if d.get("type") == "numeric" else CategoricalProfile
            builder._profiles[name] = kind.from_dict(d)
        if "sample" in state:
            builder._sample = RowSample.from_dict(state["sample"])
        if "errors" in state:
            builder._errors = ReconstructionErrors.from_dict(state["errors"])
        if "lineage" in state:
            builder._lineage.load_state(state["lineage"])
        return builder


def build_reference(
    data: Any,
    features: Sequence[str] | None = None,
    categorical: Collection[str] | None = None,
    target: str | Any = None,
    *,
    quantile_bins: int = DEFAULT_QUANTILE_BINS,
    max_size: int | Mapping[str, int] = DEFAULT_MAX_SIZE,
    top_k: int = DEFAULT_TOP_K,
    max_features: int = DEFAULT_MAX_FEATURES,
    multivariate: bool = False,
    variance: float = DEFAULT_VARIANCE,
    predictions: Any = None,
    performance_estimate: bool = False,
    source: str | None = None,
    model: str | None = None,
    version: str | None = None,
    prediction_id: str | None = None,
    prediction_ids: Any = None,
    served_by: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
    max_log_ids: int = DEFAULT_MAX_LOG_IDS,
) -> ReferenceProfile:
    """Profile training data as the reference for drift detection.

    ``data`` is anything :func:`mlotel.data.read_input` accepts (numpy array, pandas
    DataFrame, dict of columns, list of dicts, ...); ``features`` names or selects its
    columns and ``categorical`` forces columns to be categorical, exactly as there.
    ``target`` is either the name of a column of ``data`` (profiled as the target, not as
    a feature) or the target values themselves (an array, list or pandas Series with one
    value per row; named after the Series, else ``"target"``).

    Numeric features keep an :class:`ExponentialHistogram` of ``max_size`` buckets per
    sign (2048 buckets hold a feature spanning a factor of 1000 in buckets 0.54% wide),
    :class:`Moments` and ``quantile_bins`` reference quantile bins; categorical features
    keep :class:`FrequentItems` with ``k = top_k``. ``max_size`` may also be a mapping
    ``{feature: buckets}`` (key ``"*"``: every other feature, default 2048), each value in
    ``[8, 16384]``, e.g. ``max_size={"income": 8192}``; docs/accuracy.md gives the error
    each size brings.

    A Spark or Dask DataFrame is profiled on its engine, partition by partition, and the
    partial profiles merged (``target`` must then be a column name): the result equals the
    one-process profile of the same rows (docs/distributed.md).

    ``multivariate=True`` also fits the multivariate (data-reconstruction) drift model of
    the numeric features: standardization and the PCA components explaining ``variance``
    of the variance, fitted on a uniform sample of at most 50,000 rows, with the
    reference's reconstruction-error bounds (:mod:`mlotel.drift.multivariate`; missing
    values count as the feature mean; categorical features are not part of it). On Spark
    and Dask the partitions' row samples are merged and the model is fitted on the driver.

    ``performance_estimate=True`` also fits the calibration of the label-free performance
    estimate (:func:`mlotel.performance.fit_calibration`, docs/performance.md) from
    ``predictions``, the model's predicted probabilities on these rows (1-D positive-class
    scores or an ``(n, k)`` ``predict_proba`` matrix), and the labels in ``target``. It needs
    both (a clear :class:`ValueError` otherwise) and data in this process (not Spark/Dask).

    ``predictions`` alone (the model's output on these rows, as it returns it) is also
    profiled as :attr:`ReferenceProfile.prediction` when it is one value per row (scores, a
    regressor's values, class labels): served predictions are then compared with it
    (``ml.prediction.drift``, ``mlotel drift`` on fleet telemetry) instead of with the
    target, so ``target`` can hold the true labels. A ``predict_proba`` matrix has no such
    profile (the monitor sketches each class column apart and does not compare them).

    Lineage (``profile.lineage``, :mod:`mlotel.drift.lineage`; docs/drift.md, "Feedback loops"):
    whether the rows are predictions a model served. Declared: ``source="served"`` with
    ``model=`` (and ``version=``), or ``source="training"``. Detected: ``prediction_id=``
    names a column of ``data`` holding each row's prediction id (not profiled; None/NaN/empty:
    not served), or ``prediction_ids=`` gives them (one per row); ``served_by=`` (an mlotel
    data directory or OTLP JSON log files of ``log_payloads``/``log_predictions``) then learns
    which model and version served each id, reading at most ``max_log_ids`` ids. Without any
    of these the profile has no lineage (read as training data).

    Raises :class:`mlotel.data.UnreadableInput` for data the adapters cannot read and
    :class:`ValueError` for a target column absent from ``data`` or of another length, or,
    with ``multivariate=True``, fewer than 2 numeric features or rows; also, before reading
    any data, for an unknown ``source``, ``source="served"`` without ``model``, or lineage
    options that contradict each other.
    """
    if prediction_id is not None and prediction_ids is not None:
        raise ValueError("give prediction_id (a column of data) or prediction_ids (the ids), not both")
    lineage = LineageCounter.from_options(
        source=source,
        model=model,
        version=version,
        prediction_id=prediction_id,
        ids=prediction_ids is not None,
        served_by=served_by,
        max_log_ids=None if max_log_ids == DEFAULT_MAX_LOG_IDS else max_log_ids,
    )
    calibration = _calibration(data, target, predictions) if performance_estimate else None
    prediction = (
        None if predictions is None else _prediction_profile(data, predictions, max_size, quantile_bins)
    )
    options = dict(
        features=features,
        categorical=categorical,
        quantile_bins=quantile_bins,
        max_size=max_size,
        top_k=top_k,
        max_features=max_features,
    )
    if multivariate:
        options.update(multivariate=True, variance=variance)
    if lineage is not None:
        options["lineage"] = lineage.options()
    profile = _build(data, target, options, prediction_ids)
    profile.performance = calibration
    profile.prediction = prediction
    return profile


def _prediction_profile(
    data: Any, predictions: Any, max_size: int | Mapping[str, int], quantile_bins: int
) -> FeatureReference | None:
    """The profile of the model's predictions on the reference rows, read as the monitor reads
    a single output (:func:`mlotel.data.read_output`: floats are scores, integers, bools and
    strings class labels); None for several columns (``predict_proba``'s), which the monitor
    sketches per class and does not compare."""
    from mlotel.engines import engine_of

    if engine_of(data) is not None:
        raise ValueError("predictions= takes an array: build the reference from a local sample of the frame")
    frame = read_output(np.asarray(predictions) if isinstance(predictions, (list, tuple)) else predictions)
    if len(frame.columns) != 1:
        return None
    column = frame.columns[0]
    default, sizes = parse_buckets(max_size, "max_size", DEFAULT_MAX_SIZE)
    size = sizes.get(PREDICTION, default)
    builder = ReferenceBuilder(
        categorical=[PREDICTION] if column.categorical else [],
        quantile_bins=quantile_bins,
        max_size=size,
    )
    builder.update({PREDICTION: column.values})
    return builder.build().features[PREDICTION]


def _calibration(data: Any, target: str | Any, predictions: Any) -> Calibration:
    """The performance-estimate calibration of ``build_reference``, or a clear error."""
    from mlotel.engines import engine_of

    if engine_of(data) is not None:
        raise ValueError(
            "performance_estimate needs the scores and labels in this process: build it from a "
            "local sample (pandas/numpy) of the Spark or Dask frame"
        )
    labels = _named_column(data, target) if isinstance(target, str) else target
    needed = (("target= (the true labels)", labels), ("predictions= (the predicted scores)", predictions))
    missing = [what for what, value in needed if value is None]
    if missing:
        raise ValueError(
            f"performance_estimate=True needs the reference rows' {' and '.join(missing)}: "
            "build_reference(X, target=labels, predictions=model.predict_proba(X), performance_estimate=True)"
        )
    return fit_calibration(np.asarray(predictions, dtype=np.float64), np.asarray(labels))


def _build(
    data: Any, target: str | Any, options: dict[str, Any], prediction_ids: Any = None
) -> ReferenceProfile:
    """:func:`build_reference` with ``options`` the :class:`ReferenceBuilder` arguments
    other than ``target``; ``prediction_ids`` one per row (lineage)."""
    from mlotel.engines import engine_of, profile_frame

    if engine_of(data) is not None:
        if target is not None and not isinstance(target, str):
            raise TypeError("with a Spark or Dask DataFrame, target must be the name of one of its columns")
        if prediction_ids is not None:
            raise TypeError("with a Spark or Dask DataFrame, give prediction_id= (the name of its id column)")
        return profile_frame(data, ReferenceBuilder, ReferenceBuilder(target=target, **options).options())
    target_values = None
    name = None
    if isinstance(target, str):
        name = target
    elif target is not None:
        series_name = getattr(target, "name", None)
        name = series_name if isinstance(series_name, str) and series_name else "target"
        # A list of numpy scalars would read as rows of one value each: make it one column.
        target_values = np.asarray(target) if isinstance(target, (list, tuple)) else target
    builder = ReferenceBuilder(target=name, **options)
    builder.update(data, target_values=target_values, prediction_ids=prediction_ids)
    return builder.build()


def profile_current(
    data: Any,
    reference: ReferenceProfile,
    features: Sequence[str] | None = None,
    *,
    predictions: Any = None,
) -> ReferenceProfile:
    """Profile current (serving, scoring) data the way ``reference`` was profiled, for
    ``reference.compare(profile_current(data, reference))``.

    ``predictions``: the model's output on these rows, profiled as the profile's
    ``prediction`` (compared with the reference's own predictions when it has them).

    The reference's categorical columns are read as categorical, and its target column is
    profiled as the target when ``data`` has it (labels, or predictions under the target's
    name); otherwise only the features are. ``data`` is anything :func:`build_reference`
    accepts, a Spark or Dask DataFrame included; the histogram and top-K sizes are the
    reference's. When the reference has a multivariate model, the profile's ``multivariate``
    holds the count and sum of the current rows' reconstruction errors under it.
    """
    columns = reference.columns().values()
    categorical = [f.name for f in columns if f.kind == "categorical"]
    target = None if reference.target is None else reference.target.name
    if target is not None and not _has_column(data, target):
        target = None
    tops = [f.frequent.k for f in columns if f.frequent is not None]
    options: dict[str, Any] = dict(
        features=features,
        categorical=categorical,
        quantile_bins=reference.quantile_bins,
        max_size=reference_sizes(reference),
        top_k=max(tops, default=DEFAULT_TOP_K),
    )
    if isinstance(reference.multivariate, MultivariateModel):
        options["reconstruction"] = reference.multivariate
    profile = _build(data, target, options)
    if predictions is not None:
        own = reference.prediction
        size = own.histogram.max_size if own is not None and own.histogram is not None else DEFAULT_MAX_SIZE
        profile.prediction = _prediction_profile(data, predictions, size, reference.quantile_bins)
    return profile


def reference_sizes(reference: ReferenceProfile) -> int | dict[str, int]:
    """The ``max_size`` that profiles data as ``reference`` was: each feature at its own
    histogram size (clamped into the accepted range for older files)."""
    columns = reference.columns().values()
    sizes = {f.name: min(max(f.histogram.max_size, 8), 16_384) for f in columns if f.histogram is not None}
    widest = max(sizes.values(), default=DEFAULT_MAX_SIZE)
    return {"*": widest, **sizes} if len(set(sizes.values())) > 1 else widest


# --------------------------------------------------------------------------------------------
# Helpers


def _numeric_matrix(columns: Sequence[Column], names: Sequence[str], n_rows: int) -> np.ndarray:
    """The ``n_rows x len(names)`` float64 matrix of the named numeric columns; a column
    absent from the batch (or categorical in it) is all missing (NaN)."""
    by_name = {c.name: c for c in columns if not c.categorical}
    matrix = np.full((n_rows, len(names)), np.nan)
    for j, name in enumerate(names):
        column = by_name.get(name)
        if column is not None:
            matrix[:, j] = column.values
    return matrix


def _label_matrix(columns: Sequence[Column], names: Sequence[str], n_rows: int) -> np.ndarray:
    """The ``n_rows x len(names)`` category keys (``None``: missing) of the named categorical
    columns; a column absent from the batch (or numeric in it) is all missing."""
    by_name = {c.name: c for c in columns if c.categorical}
    matrix = np.full((n_rows, len(names)), None, dtype=object)
    for j, name in enumerate(names):
        column = by_name.get(name)
        if column is not None:
            matrix[:, j] = category_keys(column.values)
    return matrix


def _merge_multivariate(
    mine: MultivariateModel | ReconstructionErrors | None,
    theirs: MultivariateModel | ReconstructionErrors | None,
) -> ReconstructionErrors | None:
    if mine is None and theirs is None:
        return None
    if isinstance(mine, ReconstructionErrors) and isinstance(theirs, ReconstructionErrors):
        return mine.merged(theirs)
    if isinstance(mine, MultivariateModel) or isinstance(theirs, MultivariateModel):
        raise ValueError(
            "profiles with a multivariate model do not merge (a fitted PCA is not mergeable): "
            "merge ReferenceBuilder states (their row samples merge) and build once"
        )
    raise ValueError("cannot merge a profile with reconstruction errors and one without")


def _multivariate_from_dict(d: Any) -> MultivariateModel | ReconstructionErrors | None:
    if d is None:
        return None
    if isinstance(d, dict) and "components" in d:
        return MultivariateModel.from_dict(d)
    return ReconstructionErrors.from_dict(d)


def _has_column(data: Any, name: str) -> bool:
    """Whether ``data`` has a column ``name`` (dicts, pandas/Spark/Dask frames, structured
    arrays); False for unnamed data."""
    if isinstance(data, Mapping):
        return name in data
    names = getattr(getattr(data, "dtype", None), "names", None)
    if isinstance(names, tuple):  # not a Spark Connect frame's lazy ``df.dtype`` column
        return name in names
    columns = getattr(data, "columns", None)
    return columns is not None and name in [str(c) for c in columns]


_PARTIAL_FORMAT = "mlotel.partial_profile.v1"


def _merge_columns(
    name: str,
    mine: NumericProfile | CategoricalProfile | None,
    theirs: NumericProfile | CategoricalProfile,
) -> NumericProfile | CategoricalProfile:
    """``mine`` plus ``theirs`` as a new sketch; a missing-only side adopts the other's kind."""
    if mine is None:
        return theirs.copy()
    if type(mine) is not type(theirs):
        if mine.count == mine.missing:
            mine, theirs = theirs, mine
        elif theirs.count != theirs.missing:
            kinds = ["numeric" if isinstance(p, NumericProfile) else "categorical" for p in (mine, theirs)]
            raise ValueError(
                f"column {name!r} is {kinds[0]} in some rows and {kinds[1]} in others; "
                "name it as categorical to force one kind"
            )
        out = mine.copy()
        out.update(all_missing(theirs.missing, isinstance(out, CategoricalProfile)))
        return out
    out = mine.copy()
    out.merge(theirs)
    return out


def _to_reference(
    name: str, profile: NumericProfile | CategoricalProfile, quantile_bins: int
) -> FeatureReference:
    if isinstance(profile, NumericProfile):
        return FeatureReference(
            name,
            "numeric",
            histogram=profile.histogram.copy(),
            moments=profile.moments.copy(),
            quantile_bins=quantile_bins,
        )
    return FeatureReference(name, "categorical", frequent=profile.frequent.copy())


def _all_missing(values: np.ndarray | CodedValues) -> bool:
    if isinstance(values, CodedValues):
        return not (values.codes >= 0).any()  # its categories hold no missing value
    if values.dtype.kind == "f":
        return bool(np.isnan(values).all())
    if values.dtype.kind == "O":
        return all(v is None or (isinstance(v, float) and math.isnan(v)) for v in values.tolist())
    return values.size == 0


def _dump(value: Any, indent: int) -> str:
    """JSON with objects indented, arrays of scalars on one line, and arrays of arrays one
    element per line: readable without spreading a 2048-bucket histogram over 2048 lines."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(f"{inner}{json.dumps(k)}: {_dump(v, indent + 2)}" for k, v in value.items())
        return "{\n" + body + "\n" + pad + "}"
    if isinstance(value, list):
        if not value or all(not isinstance(v, (dict, list)) for v in value):
            return json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(", ", ": "))
        if all(isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v) for v in value):
            rows = ",\n".join(inner + json.dumps(v, allow_nan=False, ensure_ascii=False) for v in value)
            return "[\n" + rows + "\n" + pad + "]"
        body = ",\n".join(inner + _dump(v, indent + 2) for v in value)
        return "[\n" + body + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False, ensure_ascii=False)


def _named_column(data: Any, name: str) -> Any:
    """``data[name]`` for a dict of columns or a DataFrame holding ``name``; else None."""
    if isinstance(data, dict):
        return data.get(name)
    if type(data).__name__ == "DataFrame" and type(data).__module__.startswith("pandas"):
        return data[name] if name in data.columns else None
    return None


def _without(data: Any, name: str) -> Any:
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k != name}
    return data.drop(columns=[name])
