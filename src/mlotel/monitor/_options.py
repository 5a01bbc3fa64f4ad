"""The options of :func:`mlotel.monitor`, validated once at decoration time."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mlotel._buckets import DEFAULT_BUCKETS, parse_buckets
from mlotel.data import names_its_columns

MAX_NAME_LENGTH = 128


def _name(label: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # version=3 is common and harmless
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"monitor(): {label} must be a non-empty str, got {value!r}")
    return value[:MAX_NAME_LENGTH]


def _names(label: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Collection):
        raise TypeError(f"monitor(): {label} must be a list of str, got {value!r}")
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f"monitor(): every item of {label} must be a str, got {value!r}")
    return tuple(value)


def _count(label: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"monitor(): {label} must be an int in [{low}, {high}], got {value!r}")
    return value


@dataclass(frozen=True)
class MonitorOptions:
    """Validated per-model options. See docs/configuration.md for each."""

    model: str | None = None
    version: str | None = None
    operation: str = "predict"
    features: tuple[str, ...] | None = None
    categorical: tuple[str, ...] = ()
    input_arg: str | None = None
    class_names: tuple[str, ...] | None = None
    sketch_inputs: bool = True
    sketch_outputs: bool = True
    sample_rate: float = 1.0
    max_features: int = 256
    max_buckets: int = DEFAULT_BUCKETS
    top_k: int = 32
    reference: Any = None
    drift_thresholds: Any = None
    drift_window: int = 10
    #: The label-free performance estimate: None = when the reference has a score calibration.
    performance_estimate: bool | None = None
    # Outcomes and quality (docs/outcomes.md).
    track_outcomes: bool = False
    task: str | None = None
    id_arg: str | None = None
    id_function: Callable[[tuple, dict], Any] | None = None
    outcome_cache_size: int = 10_000
    outcome_ttl: float = 3600.0
    outcome_window: int = 1000
    # Prediction and payload logging (docs/outcomes.md), off by default.
    log_predictions: bool = False
    log_payloads: float = 0.0
    payload_fields: tuple[str, ...] | None = None
    payload_exclude: tuple[str, ...] = ()
    payload_redact: Callable[[dict], dict] | None = None
    payload_max_bytes: int = 8192
    # Resources (docs/resources.md): None = when torch's CUDA is in use.
    cuda_memory: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: The model's own feature names (set by an instrumentor): they name positional inputs only.
    model_features: tuple[str, ...] | None = None
    #: Per input feature buckets from a ``max_buckets`` mapping; ``max_buckets`` is then its ``"*"``.
    feature_buckets: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: Where ``id_arg`` sits in the wrapper's ``args`` (set by the decorator, see :func:`with_id_index`).
    id_index: int | None = None

    def features_for(self, model_input: Any) -> tuple[str, ...] | None:
        """The names to read ``model_input`` with: the user's, else the model's for positional data."""
        if self.features is None and self.model_features is not None and not names_its_columns(model_input):
            return self.model_features
        return self.features

    def buckets_for(self, feature: str) -> int:
        """Buckets per sign of the ``ml.feature.value`` sketch of input ``feature``."""
        return self.feature_buckets.get(feature, self.max_buckets)


_INTERNAL_FIELDS = ("extra", "id_index", "model_features", "feature_buckets")
ACCEPTED = tuple(f for f in MonitorOptions.__dataclass_fields__ if f not in _INTERNAL_FIELDS)
TASKS = ("classification", "regression")
MAX_PAYLOAD_BYTES = 1 << 20


def validate(**kwargs: Any) -> MonitorOptions:
    """Check every option; raise ``TypeError``/``ValueError`` naming the bad one and what is accepted."""
    unknown = sorted(set(kwargs) - set(ACCEPTED))
    if unknown:
        raise TypeError(
            f"monitor() got unknown option(s) {', '.join(unknown)}; accepted: {', '.join(ACCEPTED)}"
        )
    opts: dict[str, Any] = {}
    opts["model"] = _name("model", kwargs.get("model"))
    opts["version"] = _name("version", kwargs.get("version"))
    opts["operation"] = _name("operation", kwargs.get("operation", "predict")) or "predict"
    opts["features"] = _names("features", kwargs.get("features"))
    opts["categorical"] = _names("categorical", kwargs.get("categorical")) or ()
    opts["input_arg"] = _name("input_arg", kwargs.get("input_arg"))
    opts["class_names"] = _names("class_names", kwargs.get("class_names"))
    for flag in ("sketch_inputs", "sketch_outputs"):
        value = kwargs.get(flag, True)
        if not isinstance(value, bool):
            raise TypeError(f"monitor(): {flag} must be a bool, got {value!r}")
        opts[flag] = value
    rate = kwargs.get("sample_rate", 1.0)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 < rate <= 1
    ):
        raise ValueError(f"monitor(): sample_rate must be a number in (0, 1], got {rate!r}")
    opts["sample_rate"] = float(rate)
    opts["max_features"] = _count("max_features", kwargs.get("max_features", 256), 1, 10_000)
    opts["max_buckets"], opts["feature_buckets"] = parse_buckets(
        kwargs.get("max_buckets", DEFAULT_BUCKETS), "monitor(): max_buckets"
    )
    unknown_sizes = sorted(set(opts["feature_buckets"]) - set(opts["features"] or opts["feature_buckets"]))
    if unknown_sizes:  # features= names every column: a key outside it is a typo
        raise ValueError(
            f"monitor(): max_buckets names {', '.join(map(repr, unknown_sizes))}, not in "
            f"features={list(opts['features'])}"
        )
    opts["top_k"] = _count("top_k", kwargs.get("top_k", 32), 1, 1_000)
    reference = kwargs.get("reference")
    if (
        reference is not None
        and not isinstance(reference, str | os.PathLike)
        and not hasattr(reference, "features")
    ):
        raise TypeError(f"monitor(): reference must be a path or a ReferenceProfile, got {reference!r}")
    if isinstance(reference, str | os.PathLike):
        from mlotel.drift import ReferenceProfile

        reference = ReferenceProfile.load(reference)  # a damaged file fails here, at decoration time
    opts["reference"] = reference
    opts["drift_window"] = _count("drift_window", kwargs.get("drift_window", 10), 1, 1_000)
    drift_thresholds = kwargs.get("drift_thresholds")
    if drift_thresholds is not None:
        from mlotel.drift.thresholds import resolve_thresholds

        resolve_thresholds(drift_thresholds, "")  # validates field names and values
    opts["drift_thresholds"] = drift_thresholds
    estimate = kwargs.get("performance_estimate")
    if estimate is not None and not isinstance(estimate, bool):
        raise TypeError(f"monitor(): performance_estimate must be a bool or None, got {estimate!r}")
    if estimate and getattr(reference, "performance", None) is None:
        raise ValueError(
            "monitor(): performance_estimate=True needs a reference with a score calibration: "
            "build_reference(X, target=labels, predictions=model.predict_proba(X), performance_estimate=True)"
        )
    opts["performance_estimate"] = estimate
    _validate_outcomes(kwargs, opts)
    _validate_payloads(kwargs, opts)
    cuda = kwargs.get("cuda_memory")
    if cuda is not None and not isinstance(cuda, bool):
        raise TypeError(f"monitor(): cuda_memory must be a bool or None, got {cuda!r}")
    opts["cuda_memory"] = cuda
    return MonitorOptions(**opts)


def _flag(kwargs: dict[str, Any], name: str) -> bool:
    value = kwargs.get(name, False)
    if not isinstance(value, bool):
        raise TypeError(f"monitor(): {name} must be a bool, got {value!r}")
    return value


def _callable(kwargs: dict[str, Any], name: str) -> Any:
    value = kwargs.get(name)
    if value is not None and not callable(value):
        raise TypeError(f"monitor(): {name} must be a callable or None, got {value!r}")
    return value


def _validate_outcomes(kwargs: dict[str, Any], opts: dict[str, Any]) -> None:
    opts["track_outcomes"] = _flag(kwargs, "track_outcomes")
    task = kwargs.get("task")
    if task is not None and task not in TASKS:
        raise ValueError(
            f"monitor(): task must be one of {', '.join(TASKS)} or None (inferred), got {task!r}"
        )
    opts["task"] = task
    opts["id_arg"] = _name("id_arg", kwargs.get("id_arg"))
    opts["id_function"] = _callable(kwargs, "id_function")
    if opts["id_arg"] is not None and opts["id_function"] is not None:
        raise ValueError("monitor(): give id_arg or id_function, not both")
    opts["outcome_cache_size"] = _count(
        "outcome_cache_size", kwargs.get("outcome_cache_size", 10_000), 1, 10_000_000
    )
    ttl = kwargs.get("outcome_ttl", 3600.0)
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int | float)
        or not math.isfinite(ttl)
        or not 0 < ttl <= 30 * 86400
    ):
        raise ValueError(
            f"monitor(): outcome_ttl must be a number of seconds in (0, 2592000] (30 days), got {ttl!r}"
        )
    opts["outcome_ttl"] = float(ttl)
    opts["outcome_window"] = _count("outcome_window", kwargs.get("outcome_window", 1000), 1, 1_000_000)


def _validate_payloads(kwargs: dict[str, Any], opts: dict[str, Any]) -> None:
    opts["log_predictions"] = _flag(kwargs, "log_predictions")
    rate = kwargs.get("log_payloads", 0.0)
    if (
        isinstance(rate, bool)
        or not isinstance(rate, int | float)
        or not math.isfinite(rate)
        or not 0 <= rate <= 1
    ):
        raise ValueError(
            f"monitor(): log_payloads must be a number in [0, 1] (share of calls logged), got {rate!r}"
        )
    opts["log_payloads"] = float(rate)
    opts["payload_fields"] = _names("payload_fields", kwargs.get("payload_fields"))
    opts["payload_exclude"] = _names("payload_exclude", kwargs.get("payload_exclude")) or ()
    opts["payload_redact"] = _callable(kwargs, "payload_redact")
    opts["payload_max_bytes"] = _count(
        "payload_max_bytes", kwargs.get("payload_max_bytes", 8192), 256, MAX_PAYLOAD_BYTES
    )


def with_id_index(options: MonitorOptions, params: Sequence[str], skip_first: bool) -> MonitorOptions:
    """``options`` with :attr:`MonitorOptions.id_index` resolved against the function's parameters.

    Raises ``ValueError`` when ``id_arg`` is not a parameter of the function.
    """
    if options.id_arg is None:
        return options
    if options.id_arg not in params:
        raise ValueError(
            f"monitor(): id_arg={options.id_arg!r} is not a parameter of the function ({', '.join(params)})"
        )
    index = list(params).index(options.id_arg) - (1 if skip_first else 0)
    return dataclasses.replace(options, id_index=index)


def positional_index(params: Sequence[str], input_arg: str | None, is_method: bool) -> int:
    """Where the model input sits in ``args`` (after wrapt removed a bound ``self``/``cls``)."""
    if input_arg is None:
        return 0
    if input_arg not in params:
        raise ValueError(
            f"monitor(): input_arg={input_arg!r} is not a parameter of the function ({', '.join(params)})"
        )
    index = list(params).index(input_arg)
    if is_method:
        index -= 1
    return index
