"""``mlotel.record_outcome``: ground truth for earlier predictions, joined in-process and logged.

The outcome goes two ways:

* in this process, to the :class:`~mlotel.outcomes._tracker.OutcomeTracker` of every
  matching model that tracks outcomes, which joins it with the cached prediction and
  updates the quality metrics (or counts it in ``ml.outcome.unmatched``);
* always, as an OTLP log record (event ``ml.outcome``) carrying the prediction id, so
  a backend can join it with the predictions of any process.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any

from opentelemetry._logs import SeverityNumber

from mlotel import _faults, _runtime
from mlotel import _semconv as sc
from mlotel.outcomes._cache import REASON_RANK, UNKNOWN
from mlotel.outcomes._ids import is_id_sequence, normalize_id
from mlotel.outcomes._tracker import OutcomeTracker
from mlotel.outcomes._values import to_any_value

#: Rows per ``ml.outcome`` log record when a batch of outcomes is recorded at once.
LOG_CHUNK = 1000

_lock = threading.Lock()
# (model, version, operation) -> tracker; weak, so a model that is gone takes its cache with it.
_trackers: weakref.WeakValueDictionary[tuple[str, str | None, str], OutcomeTracker] = (
    weakref.WeakValueDictionary()
)


def register(tracker: OutcomeTracker) -> None:
    """Make ``tracker`` the one :func:`record_outcome` joins outcomes of its model with."""
    a = tracker.attributes
    key = (a[sc.MODEL_NAME], a.get(sc.MODEL_VERSION), a[sc.OPERATION_NAME])
    with _lock:
        _trackers[key] = tracker


def trackers(generation: int, model: str | None = None, version: str | None = None) -> list[OutcomeTracker]:
    """The trackers of runtime ``generation`` matching ``model`` and ``version`` (None: any)."""
    with _lock:
        found = list(_trackers.items())
    return [
        t
        for (name, ver, _), t in found
        if t.generation == generation
        and (model is None or name == model)
        and (version is None or ver == version)
    ]


def _forget_all() -> None:
    # After fork the child starts with no cached predictions: the parent's are not its own.
    global _lock
    _lock = threading.Lock()
    for tracker in list(_trackers.values()):
        tracker.cache.clear()
    _trackers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_all)


def record_outcome(
    prediction_id: Any,
    actual: Any,
    *,
    model: str | None = None,
    version: str | int | None = None,
) -> None:
    """Record the ground truth (``actual``) of an earlier prediction.

    Args:
        prediction_id: the id of the prediction: :func:`mlotel.current_prediction_id` /
            ``prediction_context().prediction_id`` (``ml.prediction.id``), or one of your own
            ids given through ``id_arg``/``id_function``; str or int. A list, tuple, 1-D array
            or Series of ids records one outcome per id, with ``actual`` of the same length.
        actual: the true label (classification) or value (regression). For a batch call known
            by one id, a sequence with one value per row of the batch.
        model, version: restrict the join to this model (and version); by default the id is
            looked up in every model of this process that tracks outcomes.

    In this process, the outcome is joined with the cached prediction of each model that
    has ``track_outcomes=True`` and updates its quality metrics; ids that are not found are
    counted in ``ml.outcome.unmatched`` (reason ``unknown``, ``late`` or ``duplicate``) and
    never raise. An OTLP log record (event ``ml.outcome``) is emitted in any case, for
    joins across processes in the backend.

    Raises:
        ValueError: ``prediction_id`` is a sequence and ``actual`` is not one of the same length.
        TypeError: ``model`` or ``version`` is not a str.
        Nothing else: telemetry problems are counted in ``mlotel.fault.count``.
    """
    if model is not None and not isinstance(model, str):
        raise TypeError(f"record_outcome(): model must be a str, got {model!r}")
    if isinstance(version, int) and not isinstance(version, bool):
        version = str(version)
    if version is not None and not isinstance(version, str):
        raise TypeError(f"record_outcome(): version must be a str, got {version!r}")
    if is_id_sequence(prediction_id):
        raw_ids = prediction_id.tolist() if hasattr(prediction_id, "tolist") else list(prediction_id)
        if not is_id_sequence(actual) or len(actual) != len(raw_ids):
            raise ValueError(
                f"record_outcome(): {len(raw_ids)} prediction ids need a sequence of as many actual values"
            )
        ids = [normalize_id(v) for v in raw_ids]
        actuals = actual.tolist() if hasattr(actual, "tolist") else list(actual)
        single = False
    else:
        ids = [normalize_id(prediction_id)]
        actuals = [actual]
        single = True
    try:
        runtime = _runtime.active()
        if runtime is None or not runtime.enabled:
            return
        _join(runtime, ids, actuals, model, version)
        if runtime.logger is not None:
            _log(runtime.logger, ids, actuals, single, model, version)
    except Exception as exc:
        _faults.record_fault("outcome", exc)


def _join(
    runtime: Any, ids: list[str | None], actuals: list[Any], model: str | None, version: str | None
) -> None:
    found = trackers(runtime.generation, model, version)
    if not found:
        return  # nothing in this process tracks outcomes: the log record is the whole story
    now = time.monotonic()
    if len(found) == 1:
        unmatched = found[0].resolve(ids, actuals, now)
        attributes = found[0].attributes
    else:
        # An id is unmatched only when no model had it; the most telling reason is kept.
        unmatched: list[str | None] = [UNKNOWN] * len(ids)
        for tracker in found:
            for i, reason in enumerate(tracker.resolve(ids, actuals, now)):
                current = unmatched[i]
                if current is None:
                    continue
                if reason is None or REASON_RANK[reason] > REASON_RANK[current]:
                    unmatched[i] = reason
        attributes = {}
        if model is not None:
            attributes[sc.MODEL_NAME] = model
        if version is not None:
            attributes[sc.MODEL_VERSION] = version
    tally: dict[str, int] = {}
    for reason in unmatched:
        if reason is not None:
            tally[reason] = tally.get(reason, 0) + 1
    if tally:
        counter = runtime.registry.instrument(
            sc.OUTCOME_UNMATCHED,
            "counter",
            "{outcome}",
            "Outcomes with no cached prediction to join: unknown id, late (expired or evicted), or duplicate.",
        )
        for reason, count in tally.items():
            counter.series({**attributes, sc.OUTCOME_UNMATCHED_REASON: reason}).add(count)


def _log(
    logger: Any,
    ids: list[str | None],
    actuals: list[Any],
    single: bool,
    model: str | None,
    version: str | None,
) -> None:
    attributes: dict[str, Any] = {}
    if model is not None:
        attributes[sc.MODEL_NAME] = model
    if version is not None:
        attributes[sc.MODEL_VERSION] = version
    now = time.time_ns()
    if single:
        if ids[0] is None:
            return
        logger.emit(
            timestamp=now,
            severity_number=SeverityNumber.INFO,
            body={"actual": to_any_value(actuals[0])},
            attributes={**attributes, sc.PREDICTION_ID: ids[0]},
            event_name=sc.EVENT_OUTCOME,
        )
        return
    for start in range(0, len(ids), LOG_CHUNK):
        logger.emit(
            timestamp=now,
            severity_number=SeverityNumber.INFO,
            body={
                "ids": list(ids[start : start + LOG_CHUNK]),
                "actuals": to_any_value(actuals[start : start + LOG_CHUNK]),
            },
            attributes=attributes,
            event_name=sc.EVENT_OUTCOME,
        )
