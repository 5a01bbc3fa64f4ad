"""Lineage of a reference profile: did its rows come from this model's own served predictions?

A model retrained on (or compared against) data it served itself sees its own outputs: a
fraud model that blocks what it scores high never gets those transactions' labels back, and a
recommender only sees clicks on what it recommended. Drift against such a reference is hidden
(the reference already holds the model's bias) and a retrain learns that bias again: a
negative feedback loop (docs/drift.md, "Feedback loops").

:class:`Lineage` is what a reference records about where its rows came from: how many of its
``n_rows`` were served predictions, by which model and version, and how that was learned:

* ``"declared"``: ``build_reference(X, source="served", model="fraud", version="3")``;
* ``"prediction_ids"``: a column of the data (``prediction_id="pred_id"``) or an array
  (``prediction_ids=...``) holding, per row, the id of the prediction the row came from
  (:func:`mlotel.current_prediction_id`, :func:`mlotel.prediction_context`); a non-null id
  is a served row;
* ``"payload_logs"``: those ids matched against the ``ml.prediction`` log records of
  ``log_payloads``/``log_predictions`` (``served_by="mlotel-data/"`` or collector files),
  which name the model and version that served each id.

Counting is vectorized: ids are hashed to 64-bit integers with numpy (one pass per character
position, never per row) and looked up in the sorted hashes read from the logs
(``searchsorted``). At most ``max_log_ids`` ids (default 1,000,000: 8 MB of hashes) are read
from the logs; past that the lineage says so (``log_ids_capped``) and later ids count as
served by an unknown model.

:class:`LineageCounter` is the mergeable state a :class:`~mlotel.drift.ReferenceBuilder`
keeps (it merges exactly across Spark/Dask partitions); :class:`FeedbackGuard` is what a
monitored model does with a reference's lineage: one WARN when it served the reference's
rows itself, and the ``ml.reference.served.ratio`` gauge.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlotel import _semconv as sc
from mlotel._warnings import warn
from mlotel.data import read_input
from mlotel.drift._json import expect
from mlotel.sketches.frequent import CodedValues

__all__ = [
    "DEFAULT_MAX_LOG_IDS",
    "METHODS",
    "SOURCES",
    "FeedbackGuard",
    "FeedbackReport",
    "Lineage",
    "LineageCounter",
    "LogIndex",
    "ServedBy",
    "feedback_report",
    "hash_ids",
    "merge_lineage",
    "read_log_index",
]


#: Where a reference's rows came from: none served, all served, or some.
SOURCES = ("training", "served", "mixed")
#: How the served rows were learned.
METHODS = ("declared", "prediction_ids", "payload_logs")
#: Ids read from payload logs at most (8 bytes each once hashed).
DEFAULT_MAX_LOG_IDS = 1_000_000
# Ids are compared on their first 256 characters, as mlotel.outcomes normalizes them.
_MAX_ID_LENGTH = 256


# --------------------------------------------------------------------------------------------
# The record


@dataclass(frozen=True)
class ServedBy:
    """``rows`` of the reference were served by ``model`` at ``version`` (None: not known)."""

    model: str | None
    version: str | None
    rows: int


@dataclass(frozen=True)
class Lineage:
    """Where a reference profile's rows came from (the ``lineage`` object of its JSON).

    ``served_rows`` of ``n_rows`` came from served predictions; ``served_by`` splits them by
    serving model and version (an entry with ``model=None``: served, model not known);
    ``method`` is how they were learned (:data:`METHODS`, several joined by ``+`` after a
    merge); ``created`` the build time (ISO 8601, UTC). ``log_ids`` and ``log_ids_capped``
    say how many ids were read from payload logs, and whether the cap stopped the reading.
    """

    source: str
    n_rows: int
    served_rows: int
    method: str
    served_by: tuple[ServedBy, ...] = ()
    created: str | None = None
    log_ids: int | None = None
    log_ids_capped: bool = False

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"lineage source must be one of {list(SOURCES)}, got {self.source!r}")
        for name in ("n_rows", "served_rows"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"lineage {name} must be an int >= 0, got {value!r}")
        if self.served_rows > self.n_rows:
            raise ValueError(f"lineage served_rows {self.served_rows} exceeds n_rows {self.n_rows}")
        if any(part not in METHODS for part in self.method.split("+")):
            raise ValueError(f"lineage method must be one of {list(METHODS)}, got {self.method!r}")
        attributed = sum(s.rows for s in self.served_by)
        if attributed > self.served_rows:
            raise ValueError(f"lineage served_by rows ({attributed}) exceed served_rows {self.served_rows}")

    # -- what a reader wants to know -----------------------------------------------------
    @property
    def share(self) -> float:
        """Share of the rows that came from served predictions (0 for an empty profile)."""
        return self.served_rows / self.n_rows if self.n_rows else 0.0

    @property
    def model(self) -> str | None:
        """The model that served most of the served rows (None when none is known)."""
        rows: dict[str, int] = {}
        for s in self.served_by:
            if s.model is not None:
                rows[s.model] = rows.get(s.model, 0) + s.rows
        if not rows:
            return None
        return max(sorted(rows), key=lambda m: rows[m])

    @property
    def models(self) -> tuple[str, ...]:
        """Every known serving model, by name."""
        return tuple(sorted({s.model for s in self.served_by if s.model is not None}))

    @property
    def versions(self) -> tuple[str, ...]:
        """The versions of :attr:`model` that served rows."""
        model = self.model
        return tuple(
            sorted({s.version for s in self.served_by if s.model == model and s.version is not None})
        )

    def rows_served_by(self, model: str) -> int:
        """Rows of the reference served by ``model`` (any version)."""
        return sum(s.rows for s in self.served_by if s.model == model)

    def served_ratio(self, model: str) -> float:
        """Share of the reference's rows that ``model`` served (any version): the
        ``ml.reference.served.ratio`` gauge of that model."""
        return self.rows_served_by(model) / self.n_rows if self.n_rows else 0.0

    def describe(self) -> str:
        """One line: ``served predictions: 600 of 1,000 rows (60.0%) by model 'fraud' version 3
        (prediction_ids)``; ``training data (declared)`` when none were served."""
        if self.source == "training":
            return f"training data, no served predictions ({self.method})"
        who = []
        for model in self.models:
            versions = sorted(
                {s.version for s in self.served_by if s.model == model and s.version is not None}
            )
            label = f"model {model!r}"
            if versions:
                label += f" version {', '.join(versions)}"
            who.append(label)
        unknown = sum(s.rows for s in self.served_by if s.model is None)
        if unknown and who:
            who.append(f"{unknown:,} row(s) by an unknown model")
        by = f" by {'; '.join(who)}" if who else " (serving model not known)"
        capped = ", log ids capped" if self.log_ids_capped else ""
        return (
            f"served predictions: {self.served_rows:,} of {self.n_rows:,} rows ({100 * self.share:.1f}%)"
            f"{by} ({self.method}{capped})"
        )

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The ``lineage`` object of a saved profile. ``model`` and ``versions`` are written
        for readers; they are recomputed from ``served_by`` on load."""
        out: dict[str, Any] = {
            "source": self.source,
            "model": self.model,
            "versions": list(self.versions),
            "served_rows": self.served_rows,
            "n_rows": self.n_rows,
            "method": self.method,
            "served_by": [{"model": s.model, "version": s.version, "rows": s.rows} for s in self.served_by],
            "created": self.created,
        }
        if self.log_ids is not None:
            out.update(log_ids=self.log_ids, log_ids_capped=self.log_ids_capped)
        return out

    @classmethod
    def from_dict(cls, d: Any) -> Lineage:
        """Inverse of :meth:`to_dict`; raises :class:`ValueError` naming the field."""
        obj = expect(d, dict, "field 'lineage'")
        served_by = []
        for i, item in enumerate(expect(obj.get("served_by", []), list, "lineage field 'served_by'")):
            where = f"lineage served_by[{i}]"
            item = expect(item, dict, where)
            model, version = item.get("model"), item.get("version")
            for name, value in (("model", model), ("version", version)):
                if value is not None:
                    expect(value, str, f"{where} field {name!r}")
            served_by.append(ServedBy(model, version, expect(item.get("rows"), int, f"{where} field 'rows'")))
        created = obj.get("created")
        if created is not None:
            expect(created, str, "lineage field 'created'")
        log_ids = obj.get("log_ids")
        if log_ids is not None:
            expect(log_ids, int, "lineage field 'log_ids'")
        return cls(
            source=expect(obj.get("source"), str, "lineage field 'source'"),
            n_rows=expect(obj.get("n_rows"), int, "lineage field 'n_rows'"),
            served_rows=expect(obj.get("served_rows"), int, "lineage field 'served_rows'"),
            method=expect(obj.get("method"), str, "lineage field 'method'"),
            served_by=tuple(served_by),
            created=created,
            log_ids=log_ids,
            log_ids_capped=bool(obj.get("log_ids_capped", False)),
        )


def _source_of(served: int, n_rows: int, fallback: str) -> str:
    if n_rows == 0:
        return fallback
    return "training" if served == 0 else "served" if served == n_rows else "mixed"


def _served_by(counts: Mapping[tuple[str | None, str | None], int]) -> tuple[ServedBy, ...]:
    """Entries by rows, most first (then by name, the unknown model last)."""
    items = [ServedBy(m, v, int(n)) for (m, v), n in counts.items() if n > 0]
    return tuple(sorted(items, key=lambda s: (-s.rows, s.model is None, s.model or "", s.version or "")))


def merge_lineage(
    mine: Lineage | None, my_rows: int, theirs: Lineage | None, their_rows: int
) -> Lineage | None:
    """The lineage of two merged profiles of ``my_rows`` and ``their_rows`` rows. A side with
    no lineage (a profile built without one, e.g. by an older mlotel) counts as training data."""
    if mine is None and theirs is None:
        return None
    sides = [s for s in (mine, theirs) if s is not None]
    counts: dict[tuple[str | None, str | None], int] = {}
    for side in sides:
        for s in side.served_by:
            counts[(s.model, s.version)] = counts.get((s.model, s.version), 0) + s.rows
    served = sum(s.served_rows for s in sides)
    n_rows = my_rows + their_rows
    methods = sorted({part for s in sides for part in s.method.split("+")}, key=METHODS.index)
    log_ids = [s.log_ids for s in sides if s.log_ids is not None]
    sources = {s.source for s in sides}
    fallback = sources.pop() if len(sources) == 1 else "mixed"
    return Lineage(
        source=_source_of(served, n_rows, fallback),
        n_rows=n_rows,
        served_rows=served,
        method="+".join(methods),
        served_by=_served_by(counts),
        created=max((s.created for s in sides if s.created is not None), default=None),
        log_ids=sum(log_ids) if log_ids else None,
        log_ids_capped=any(s.log_ids_capped for s in sides),
    )


# --------------------------------------------------------------------------------------------
# Ids: which rows were served, hashed for matching


def hash_ids(text: np.ndarray) -> np.ndarray:
    """64-bit hashes of a 1-D array of id strings (numpy ``U`` dtype), vectorized.

    FNV-1a over the code points (one numpy pass per character position, so the cost is
    ``rows x longest id``), then a splitmix64 finalizer. The hash does not depend on the
    array's width: ``"ab"`` hashes the same in a ``<U2`` and a ``<U36`` array. Two distinct
    ids collide with probability about 2^-64 per pair (for 10^6 log ids and 10^7 rows, about
    5e-7 that any row is wrongly matched).
    """
    text = np.ascontiguousarray(text)
    if text.dtype.kind != "U":
        text = text.astype(str)
    n = text.shape[0]
    width = text.dtype.itemsize // 4
    h = np.full(n, 0xCBF29CE484222325, dtype=np.uint64)
    if n == 0 or width == 0:
        return h
    codes = text.view(np.uint32).reshape(n, width)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(width):
            c = codes[:, j].astype(np.uint64)
            h = np.where(c != 0, (h ^ c) * prime, h)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
    return h


def _id_text(values: np.ndarray) -> np.ndarray:
    """Non-missing id values as text: ints in decimal (integral floats too: an int id column
    with a missing value reads as floats), strings as they are, cut to 256 characters."""
    if values.dtype.kind == "O" and values.size:
        probe = values[:16]
        if any(isinstance(v, (float, np.floating)) for v in probe):
            with contextlib.suppress(TypeError, ValueError):
                values = values.astype(np.float64)
    if values.dtype.kind == "f":
        integral = np.isfinite(values) & (values == np.round(values))
        if integral.all():
            values = values.astype(np.int64)
    if values.dtype.kind == "S":
        values = np.char.decode(values, "utf-8", "replace")
    text = values.astype(str)
    if text.dtype.itemsize > 4 * _MAX_ID_LENGTH:
        text = text.astype(f"<U{_MAX_ID_LENGTH}")
    return text


def served_ids(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(served, hashes)`` for a column of prediction ids (one per row): ``served`` marks the
    rows holding an id (not None/NaN/NA/empty), ``hashes`` are those ids' :func:`hash_ids`.

    ``values`` is anything read as one column (a pandas Series, numpy array, list, an Arrow
    column read by the Parquet reader). No per-row Python: missing values are found by the
    data readers (pandas/Arrow in C, numpy comparisons) and the ids hashed with numpy.
    """
    if isinstance(values, (list, tuple)):
        values = np.asarray(values, dtype=object) if values else np.empty(0, dtype=object)
    dtype = getattr(values, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":  # e.g. int ids with a NaN
        array = np.asarray(values, dtype=np.float64)
        served = ~np.isnan(array)
        return _finish(served, _id_text(array[served]))
    if not isinstance(values, CodedValues):
        column = read_input({"id": values}, categorical=["id"], coded=True).columns
        if len(column) != 1:
            raise ValueError(f"prediction ids: cannot read {type(values).__name__} as one column")
        values = column[0].values
    if isinstance(values, CodedValues):
        served = values.codes >= 0
        categories = np.asarray(values.categories, dtype=object)
        if categories.size == 0:
            return served, np.empty(0, dtype=np.uint64)
        text = _id_text(categories)
        category_hashes = hash_ids(text)
        empty = text == ""
        codes = values.codes[served]
        keep = ~empty[codes]
        if not keep.all():  # "" is no id
            served[np.flatnonzero(served)[~keep]] = False
            codes = codes[keep]
        return served, category_hashes[codes]
    values = np.asarray(values)
    if values.dtype.kind == "O":
        served = np.asarray(values != None, dtype=bool)  # noqa: E711 - elementwise, in C
        if served.shape != values.shape:
            served = np.ones(values.shape, dtype=bool)
    else:
        served = np.ones(values.shape, dtype=bool)
    return _finish(served, _id_text(values[served]))


def _finish(served: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    empty = text == ""
    if empty.any():
        served = served.copy()
        served[np.flatnonzero(served)[empty]] = False
        text = text[~empty]
    return served, hash_ids(text)


# --------------------------------------------------------------------------------------------
# Payload logs: which model served which id


@dataclass
class LogIndex:
    """Hashes of the prediction ids found in ``ml.prediction`` log records, sorted, with the
    (model, version) that served each: ``pairs[pair[i]]`` served ``hashes[i]``."""

    hashes: np.ndarray
    pair: np.ndarray
    pairs: list[tuple[str | None, str | None]]
    n_ids: int
    capped: bool

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(matched, pair)``: which of ``hashes`` the logs hold, and the (model, version)
        index of each matched one."""
        if self.hashes.size == 0 or hashes.size == 0:
            return np.zeros(hashes.shape, dtype=bool), np.empty(0, dtype=np.int64)
        pos = np.searchsorted(self.hashes, hashes)
        pos[pos == self.hashes.size] = 0
        matched = self.hashes[pos] == hashes
        return matched, self.pair[pos[matched]]


def _log_files(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    from mlotel.drift.fleet import telemetry_files

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[str] = []
    for path in paths:
        if not os.path.exists(path):
            raise FileNotFoundError(f"served_by: {os.fspath(path)} does not exist")
        files.extend(telemetry_files(path))
    return files


def read_log_index(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], max_ids: int = DEFAULT_MAX_LOG_IDS
) -> LogIndex:
    """Read the prediction ids of every ``ml.prediction`` log record under ``paths`` (mlotel
    data directories, ``logs*.jsonl`` files, collector file-exporter output): the record's
    ``ml.prediction.id`` and the per-row ``ids`` of its body, with its ``ml.model.name`` and
    ``ml.model.version``. Files are streamed line by line; at most ``max_ids`` ids are kept
    (then reading stops and ``capped`` is set). ``ml.outcome`` records are not predictions
    and are skipped. Raises :class:`FileNotFoundError` for a missing path.
    """
    from mlotel.export.otlp_json import read_otlp_json, to_proto

    ids: list[str] = []
    owners: list[int] = []
    pairs: dict[tuple[str | None, str | None], int] = {}
    capped = False
    for file in _log_files(paths):
        for obj in read_otlp_json(file):
            if "resourceLogs" not in obj and "resource_logs" not in obj:
                continue  # spans and metrics: not decoded
            for rl in to_proto(obj).resource_logs:
                for sl in rl.scope_logs:
                    for record in sl.log_records:
                        found = _record_ids(record)
                        if found is None:
                            continue
                        key, record_ids = found
                        owner = pairs.setdefault(key, len(pairs))
                        room = max_ids - len(ids)
                        if len(record_ids) > room:
                            record_ids, capped = record_ids[:room], True
                        ids.extend(record_ids)
                        owners.extend([owner] * len(record_ids))
                        if capped:
                            break
                    if capped:
                        break
                if capped:
                    break
            if capped:
                break
        if capped:
            break
    text = np.asarray(ids, dtype=str) if ids else np.empty(0, dtype="<U1")
    hashes = hash_ids(_id_text(text)) if ids else np.empty(0, dtype=np.uint64)
    order = np.argsort(hashes, kind="stable")
    return LogIndex(hashes[order], np.asarray(owners, dtype=np.int64)[order], list(pairs), len(ids), capped)


def _record_ids(record: Any) -> tuple[tuple[str | None, str | None], list[str]] | None:
    """``((model, version), ids)`` of one ``ml.prediction`` log record, else None."""
    attributes = {kv.key: kv.value for kv in record.attributes}
    event = getattr(record, "event_name", "")
    if event and event != sc.EVENT_PREDICTION:
        return None
    model = attributes.get(sc.MODEL_NAME)
    if model is None:
        return None
    body_ids: list[str] = []
    body = record.body
    if body.WhichOneof("value") == "kvlist_value":
        keys = {kv.key: kv.value for kv in body.kvlist_value.values}
        if not event and not ({"predictions", "features"} & keys.keys()):
            return None  # without an event name, only a prediction record has these
        listed = keys.get("ids")
        if listed is not None and listed.WhichOneof("value") == "array_value":
            for v in listed.array_value.values:
                kind = v.WhichOneof("value")
                if kind == "string_value":
                    body_ids.append(v.string_value)
                elif kind == "int_value":
                    body_ids.append(str(v.int_value))
    elif not event:
        return None
    out = []
    join = attributes.get(sc.PREDICTION_ID)
    if join is not None:
        kind = join.WhichOneof("value")
        if kind in ("string_value", "int_value"):
            out.append(str(getattr(join, kind)))
    out.extend(body_ids)
    version = attributes.get(sc.MODEL_VERSION)
    key = (
        model.string_value or None,
        version.string_value
        if version is not None and version.WhichOneof("value") == "string_value"
        else None,
    )
    return key, out


_CACHE: dict[tuple, LogIndex] = {}


def cached_log_index(paths: list[str], max_ids: int) -> LogIndex:
    """:func:`read_log_index`, read once per process for unchanged files (each partition of a
    Spark/Dask frame would otherwise read the logs again). Keeps the last two indexes."""
    files = _log_files(paths)
    key = (tuple((f, os.path.getsize(f), os.stat(f).st_mtime_ns) for f in files), max_ids)
    index = _CACHE.get(key)
    if index is None:
        index = read_log_index(files, max_ids)
        while len(_CACHE) >= 2:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = index
    return index


# --------------------------------------------------------------------------------------------
# The builder's state


@dataclass
class LineageCounter:
    """What a reference builder counts for the lineage; merges exactly (sums).

    Options (checked here, so a bad call fails before any data is read): ``source`` in
    :data:`SOURCES` or None; ``model``/``version`` the serving model (``source="served"``
    needs ``model``); ``prediction_id`` the data's id column, or ``ids=True`` when ids are
    given separately; ``served_by`` payload log paths to learn the serving model from.
    """

    source: str | None = None
    model: str | None = None
    version: str | None = None
    prediction_id: str | None = None
    ids: bool = False
    served_by: list[str] | None = None
    max_log_ids: int = DEFAULT_MAX_LOG_IDS
    served: int = 0
    counts: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    log_ids: int | None = None
    log_ids_capped: bool = False

    def __post_init__(self) -> None:
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"source must be one of {list(SOURCES)}, got {self.source!r}")
        for name in ("model", "version", "prediction_id"):
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool) and name == "version":
                value = str(value)
                self.version = value
            if value is not None and (not isinstance(value, str) or not value):
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if isinstance(self.served_by, (str, os.PathLike)):
            self.served_by = [os.fspath(self.served_by)]
        elif self.served_by is not None:
            self.served_by = [os.fspath(p) for p in self.served_by]
        detected = self.detects
        if self.source == "served" and self.model is None and not self.served_by:
            raise ValueError(
                "source='served' needs model=: the name of the model that served these rows "
                "(its ml.model.name), e.g. build_reference(X, source='served', model='fraud', version='3')"
            )
        if self.source == "mixed" and not detected:
            raise ValueError(
                "source='mixed' needs the prediction ids to count the served rows: "
                "prediction_id='COLUMN' (a column of the data) or prediction_ids=[...]"
            )
        if self.source == "training" and detected:
            raise ValueError(
                "source='training' contradicts prediction ids: leave source out to detect served rows"
            )
        if self.version is not None and self.model is None:
            raise ValueError("version= needs model=: the version of which model?")
        if self.model is not None and self.source is None and not detected:
            raise ValueError(
                "model= names the model that served the rows: give source='served' too, or the "
                "prediction ids (prediction_id='COLUMN' or prediction_ids=[...])"
            )
        if self.served_by is not None and not detected:
            raise ValueError(
                "served_by= matches prediction ids: give prediction_id='COLUMN' or prediction_ids=[...]"
            )
        if (
            isinstance(self.max_log_ids, bool)
            or not isinstance(self.max_log_ids, int)
            or self.max_log_ids < 1
        ):
            raise ValueError(f"max_log_ids must be an int >= 1, got {self.max_log_ids!r}")
        if self.served_by is not None:
            _log_files(self.served_by)  # a missing path fails now, not on a worker

    @property
    def detects(self) -> bool:
        """Whether served rows are counted from prediction ids (else declared)."""
        return self.prediction_id is not None or self.ids

    @classmethod
    def from_options(cls, **options: Any) -> LineageCounter | None:
        """A counter for these ``build_reference`` options, or None when none is given."""
        given = {k: v for k, v in options.items() if v is not None and v is not False}
        return cls(**given) if given else None

    def options(self) -> dict[str, Any]:
        """The options (JSON-compatible), as the builder passes them to each partition."""
        out: dict[str, Any] = {}
        for name in ("source", "model", "version", "prediction_id", "served_by"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.ids:
            out["ids"] = True
        if self.max_log_ids != DEFAULT_MAX_LOG_IDS:
            out["max_log_ids"] = self.max_log_ids
        return out

    def update(self, ids: Any, n_rows: int | None = None) -> None:
        """Count one batch's prediction ids (one per row; None/NaN/empty: not served).
        Raises :class:`ValueError` (counting nothing) when there are not ``n_rows`` of them."""
        served, hashes = served_ids(ids)
        if n_rows is not None and served.shape[0] != n_rows:
            raise ValueError(f"prediction ids: {served.shape[0]} ids for {n_rows} rows")
        self.served += int(served.sum())
        own = (self.model, self.version)
        unmatched = hashes.size
        if self.served_by is not None:
            index = cached_log_index(self.served_by, self.max_log_ids)
            self.log_ids, self.log_ids_capped = index.n_ids, index.capped
            matched, pair = index.lookup(hashes)
            for i, n in enumerate(np.bincount(pair, minlength=len(index.pairs)).tolist()):
                if n:
                    key = index.pairs[i]
                    self.counts[key] = self.counts.get(key, 0) + n
            unmatched = int(hashes.size - matched.sum())
        if unmatched:
            self.counts[own] = self.counts.get(own, 0) + unmatched

    def merge(self, other: LineageCounter) -> None:
        self.served += other.served
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        if other.log_ids is not None:
            self.log_ids = max(self.log_ids or 0, other.log_ids)  # every partition read the same logs
            self.log_ids_capped = self.log_ids_capped or other.log_ids_capped

    def state(self) -> dict[str, Any]:
        """The counts (JSON-compatible) for a partial profile; see :meth:`load_state`."""
        return {
            "served": self.served,
            "counts": [[m, v, n] for (m, v), n in self.counts.items()],
            "log_ids": self.log_ids,
            "log_ids_capped": self.log_ids_capped,
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.served = int(state["served"])
        self.counts = {(m, v): int(n) for m, v, n in state["counts"]}
        self.log_ids = state.get("log_ids")
        self.log_ids_capped = bool(state.get("log_ids_capped", False))

    def build(self, n_rows: int) -> Lineage:
        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if not self.detects:
            served = n_rows if self.source == "served" else 0
            counts = {(self.model, self.version): served} if served else {}
            return Lineage(self.source or "training", n_rows, served, "declared", _served_by(counts), created)
        method = "payload_logs" if self.served_by is not None else "prediction_ids"
        return Lineage(
            _source_of(self.served, n_rows, self.source or "training"),
            n_rows,
            self.served,
            method,
            _served_by(self.counts),
            created,
            self.log_ids if self.served_by is not None else None,
            self.log_ids_capped,
        )


# --------------------------------------------------------------------------------------------
# Reporting (mlotel drift)


@dataclass(frozen=True)
class FeedbackReport:
    """What ``mlotel drift`` says about the lineage of both sides: ``lines`` to print,
    ``feedback_loop`` when ``model`` (the model compared) served rows of the reference or
    of the current data itself."""

    reference: Lineage | None
    current: Lineage | None
    model: str | None
    feedback_loop: bool
    lines: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": None if self.reference is None else self.reference.to_dict(),
            "current": None if self.current is None else self.current.to_dict(),
            "model": self.model,
            "feedback_loop": self.feedback_loop,
            "messages": list(self.lines),
        }


def feedback_report(
    reference: Lineage | None, current: Lineage | None, model: str | None
) -> FeedbackReport | None:
    """The lineage lines of a drift report, or None when neither side records a lineage.

    ``model`` is the model being compared (``mlotel drift --model``, or the one fleet
    telemetry holds); None when not known, then the lines say how to check.
    """
    if reference is None and current is None:
        return None
    lines: list[str] = []
    loop = False
    for side, lineage in (("reference", reference), ("current", current)):
        if lineage is None:
            continue
        lines.append(f"{side} lineage: {lineage.describe()}")
        own = lineage.served_ratio(model) if model is not None else 0.0
        if own > 0:
            loop = True
            what = (
                "comparing it against its own outputs hides drift, and retraining on them learns its own bias"
                if side == "reference"
                else "retraining it on this data would learn its own bias"
            )
            lines.append(
                f"WARNING: feedback loop: {100 * own:.1f}% of the {side} rows are predictions model {model!r} "
                f"served itself: {what} (docs/drift.md, Feedback loops)"
            )
        elif model is None and lineage.served_rows:
            lines.append("(pass --model NAME to check whether the model compared served these rows itself)")
    return FeedbackReport(reference, current, model, loop, tuple(lines))


# --------------------------------------------------------------------------------------------
# The monitored model's side


class FeedbackGuard:
    """A monitored model's check of its reference's lineage.

    When the model (by ``ml.model.name``) served some of the reference's rows, one WARN log
    record (and one Python ``logging`` warning) says so when the model's binding is built
    (its first call). Every collection exports ``ml.reference.served.ratio``: the share of
    the reference's rows this model served, a constant read from the lineage (nothing on the
    predict path).
    """

    def __init__(self, runtime: Any, binding: Any, lineage: Lineage) -> None:
        attributes = dict(binding.attributes)
        model = str(attributes.get(sc.MODEL_NAME))
        self.ratio = lineage.served_ratio(model)
        self._instrument = runtime.registry.instrument(
            sc.REFERENCE_SERVED_RATIO,
            "gauge",
            "1",
            "Share of the drift reference's rows that this model served itself (feedback loop).",
        )
        self._attributes = attributes
        runtime.registry.add_listener(self.on_interval)
        if self.ratio > 0:
            self._warn(runtime, binding, model, lineage, attributes)

    def on_interval(self, interval: list, now_ns: int) -> list:
        """Registry listener: the ratio gauge, at every collection (a fresh state each time,
        as readers absorb what they are given)."""
        from mlotel.export._aggregates import GaugeState

        gauge = GaugeState()
        gauge.value = self.ratio
        return [(self._instrument, self._attributes, gauge)]

    def _warn(self, runtime: Any, binding: Any, model: str, lineage: Lineage, attributes: dict) -> None:
        body = (
            f"feedback loop: {100 * self.ratio:.1f}% of the drift reference of model {model!r} are "
            f"predictions {model!r} served itself ({lineage.describe()}): drift against it is hidden "
            "and a model retrained on it learns its own bias; compare with a training-time reference "
            "(docs/drift.md, Feedback loops)"
        )
        warn(runtime.logger, body, {**attributes, sc.REFERENCE_SOURCE: lineage.source})
