"""The result of a sensitivity analysis: :class:`SensitivityReport`, one
:class:`FeatureSensitivity` per feature, saved as versioned JSON.

The JSON format (``"format": "mlotel.sensitivity_report"``, ``"format_version": 1``) is
described in docs/sensitivity.md; NaN is written as ``null``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mlotel._atomic import write_text
from mlotel.version import __version__

__all__ = ["FORMAT", "FORMAT_VERSION", "FeatureSensitivity", "SensitivityReport"]

#: Value of the ``"format"`` field of a saved report.
FORMAT = "mlotel.sensitivity_report"
#: The (only) report format version this mlotel reads and writes.
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FeatureSensitivity:
    """How one feature moves the model's predictions.

    Attributes:
        name: the feature (column) name.
        kind: ``"numeric"`` (swept over reference quantiles) or ``"categorical"`` (over its most
            frequent categories).
        mean_abs_change: mean over the sampled rows of the prediction change when the feature's
            column is permuted within the sample (its reference distribution): total-variation
            distance of the class probabilities for a classifier (``|dp|`` of the positive
            class when binary), mean absolute change of the outputs otherwise. The ranking key.
        p95_abs_change: the 95th percentile of that per-row change.
        label_change_rate: share of rows whose predicted (arg-max) class changes under the
            permutation; ``None`` for a regression.
        pd_range: largest range (max - min over the grid) of the partial-dependence curve over
            the analysed outputs.
        interaction: share of the variance of the centered individual (ICE) curves that the
            partial-dependence curve does not explain, in [0, 1] (0: the effect is the same
            for every row; near 1: it depends entirely on the other features); NaN when the
            feature does not move the predictions at all.
        missing: sampled rows where the feature is missing (skipped by the grid; they keep
            their missing value in the permutation).
        grid: the swept values (numbers, or category labels).
        partial_dependence: per analysed output, the mean prediction at each grid value.
        band_low, band_high: per analysed output and grid value, the partial dependence plus
            the 10th / 90th percentile of the rows' deviation from it (centered ICE curves).
    """

    name: str
    kind: str
    mean_abs_change: float
    p95_abs_change: float
    label_change_rate: float | None
    pd_range: float
    interaction: float
    missing: int = 0
    grid: tuple[Any, ...] = ()
    partial_dependence: tuple[tuple[float, ...], ...] = ()
    band_low: tuple[tuple[float, ...], ...] = ()
    band_high: tuple[tuple[float, ...], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "mean_abs_change": _out(self.mean_abs_change),
            "p95_abs_change": _out(self.p95_abs_change),
            "label_change_rate": None if self.label_change_rate is None else _out(self.label_change_rate),
            "pd_range": _out(self.pd_range),
            "interaction": _out(self.interaction),
            "missing": self.missing,
            "grid": list(self.grid),
            "partial_dependence": [[_out(v) for v in row] for row in self.partial_dependence],
            "band_low": [[_out(v) for v in row] for row in self.band_low],
            "band_high": [[_out(v) for v in row] for row in self.band_high],
        }

    @classmethod
    def from_dict(cls, d: Any) -> FeatureSensitivity:
        if not isinstance(d, dict):
            raise ValueError(f"a feature must be an object, got {type(d).__name__}")
        where = f"feature {d.get('name')!r}"
        rate = _get(d, "label_change_rate", where)
        return cls(
            name=str(_get(d, "name", "feature")),
            kind=str(_get(d, "kind", where)),
            mean_abs_change=_in(_get(d, "mean_abs_change", where), where),
            p95_abs_change=_in(_get(d, "p95_abs_change", where), where),
            label_change_rate=None if rate is None else _in(rate, where),
            pd_range=_in(_get(d, "pd_range", where), where),
            interaction=_in(_get(d, "interaction", where), where),
            missing=int(d.get("missing", 0)),
            grid=tuple(_get(d, "grid", where)),
            partial_dependence=_curves(d, "partial_dependence", where),
            band_low=_curves(d, "band_low", where),
            band_high=_curves(d, "band_high", where),
        )


@dataclass(frozen=True)
class SensitivityReport:
    """Per-feature sensitivity of a model's predictions, features ranked by
    :attr:`FeatureSensitivity.mean_abs_change` (largest first).

    Attributes:
        model: the model's type name (or the callable's name).
        task: ``"classification"`` (class probabilities) or ``"regression"``.
        response_method: ``"predict_proba"``, ``"predict"``, ``"decision_function"`` or ``"call"``.
        outputs: names of the analysed outputs (one curve each): the positive class of a
            binary classifier, every class otherwise, or the regression outputs.
        n_rows: rows in the data; n_sample: rows analysed (a seeded uniform sample).
        grid_size: the requested grid points per feature; seed: the random seed.
        features: one :class:`FeatureSensitivity` per analysed feature, ranked.
    """

    model: str
    task: str
    response_method: str
    outputs: tuple[str, ...]
    n_rows: int
    n_sample: int
    grid_size: int
    seed: int
    features: tuple[FeatureSensitivity, ...] = field(default_factory=tuple)

    def ranking(self) -> list[str]:
        """Feature names, most sensitive first."""
        return [f.name for f in self.features]

    def feature(self, name: str) -> FeatureSensitivity:
        """The entry of feature ``name``; :class:`KeyError` when it was not analysed."""
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(name)

    # -- text ---------------------------------------------------------------------------
    def table(self, limit: int | None = None) -> str:
        """A plain-text table, one line per feature (the first ``limit``), most sensitive first."""
        classifier = self.task == "classification"
        head = ["rank", "feature", "kind", "mean |Δ|", "p95 |Δ|"]
        head += ["label Δ"] if classifier else []
        head += ["PD range", "interaction", "missing"]
        rows = []
        for i, f in enumerate(self.features[:limit], 1):
            row = [str(i), f.name, f.kind, _fmt(f.mean_abs_change), _fmt(f.p95_abs_change)]
            if classifier:
                rate = f.label_change_rate
                row.append("–" if rate is None or math.isnan(rate) else f"{rate:.1%}")
            row += [_fmt(f.pd_range), _share(f.interaction), str(f.missing)]
            rows.append(row)
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        left = {1, 2}

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        what = "predicted probability" if classifier else "prediction"
        outputs = ", ".join(self.outputs)
        title = (
            f"sensitivity of {self.model} ({self.response_method}: {outputs}) to each feature; "
            f"{self.n_sample:,} of {self.n_rows:,} rows, grid {self.grid_size}, seed {self.seed}; "
            f"Δ = change of the {what} when the feature is resampled from its own distribution"
        )
        return "\n".join([title, line(head), *(line(r) for r in rows)])

    def __str__(self) -> str:
        return self.table()

    # -- serialization ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_by": f"mlotel {__version__}",
            "model": self.model,
            "task": self.task,
            "response_method": self.response_method,
            "outputs": list(self.outputs),
            "n_rows": self.n_rows,
            "n_sample": self.n_sample,
            "grid_size": self.grid_size,
            "seed": self.seed,
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = "<dict>") -> SensitivityReport:
        """Inverse of :meth:`to_dict`; raises :class:`ValueError` ``"<source>: <problem>"``."""
        try:
            return cls._from_dict(d)
        except (ValueError, TypeError, KeyError) as exc:
            raise ValueError(f"{source}: {exc}") from None

    @classmethod
    def _from_dict(cls, d: Any) -> SensitivityReport:
        if not isinstance(d, dict):
            raise ValueError(f"a sensitivity report must be a JSON object, got {type(d).__name__}")
        fmt = d.get("format")
        if fmt != FORMAT:
            raise ValueError(
                f"not an mlotel sensitivity report (field 'format' is {fmt!r}, expected {FORMAT!r})"
            )
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            shown = "missing" if version is None else repr(version)
            raise ValueError(f"format_version {shown} is not supported (this mlotel reads {FORMAT_VERSION})")
        where = "report"
        features = _get(d, "features", where)
        if not isinstance(features, list):
            raise ValueError("field 'features' must be an array")
        return cls(
            model=str(_get(d, "model", where)),
            task=str(_get(d, "task", where)),
            response_method=str(_get(d, "response_method", where)),
            outputs=tuple(str(o) for o in _get(d, "outputs", where)),
            n_rows=int(_get(d, "n_rows", where)),
            n_sample=int(_get(d, "n_sample", where)),
            grid_size=int(_get(d, "grid_size", where)),
            seed=int(_get(d, "seed", where)),
            features=tuple(FeatureSensitivity.from_dict(f) for f in features),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the report as UTF-8 JSON, through a temporary file renamed into place.
        Raises :class:`OSError` on I/O failure."""
        write_text(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SensitivityReport:
        """Read a saved report. Raises :class:`ValueError` naming the file for content that is
        not JSON or not a sensitivity report of this format version; :class:`OSError` when the
        file cannot be read."""
        source = os.path.basename(os.fspath(path)) or os.fspath(path)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not JSON (line {exc.lineno}: {exc.msg})") from None
        return cls.from_dict(d, source)


def _out(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _in(value: Any, where: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: expected a number or null, got {value!r}")
    return float(value)


def _get(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise ValueError(f"{where}: missing field {key!r}")
    return d[key]


def _curves(d: dict[str, Any], key: str, where: str) -> tuple[tuple[float, ...], ...]:
    raw = d.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(row, list) for row in raw):
        raise ValueError(f"{where}: field {key!r} must be an array of arrays")
    return tuple(tuple(_in(v, where) for v in row) for row in raw)


def _fmt(value: float | None) -> str:
    if value is None or math.isnan(value):
        return "–"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _share(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"
