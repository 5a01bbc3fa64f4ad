"""The options of :func:`mlotel.monitor`, validated once at decoration time."""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    max_buckets: int = 160
    top_k: int = 32
    reference: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


ACCEPTED = tuple(f for f in MonitorOptions.__dataclass_fields__ if f != "extra")


def validate(**kwargs: Any) -> MonitorOptions:
    """Check every option; raise ``TypeError``/``ValueError`` naming the bad one and what is accepted."""
    unknown = sorted(set(kwargs) - set(ACCEPTED))
    if unknown:
        raise TypeError(f"monitor() got unknown option(s) {', '.join(unknown)}; accepted: {', '.join(ACCEPTED)}")
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
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not math.isfinite(rate) or not 0 < rate <= 1:
        raise ValueError(f"monitor(): sample_rate must be a number in (0, 1], got {rate!r}")
    opts["sample_rate"] = float(rate)
    opts["max_features"] = _count("max_features", kwargs.get("max_features", 256), 1, 10_000)
    opts["max_buckets"] = _count("max_buckets", kwargs.get("max_buckets", 160), 8, 16_384)
    opts["top_k"] = _count("top_k", kwargs.get("top_k", 32), 1, 1_000)
    reference = kwargs.get("reference")
    if reference is not None and not isinstance(reference, str | os.PathLike) and not hasattr(reference, "features"):
        raise TypeError(f"monitor(): reference must be a path or a ReferenceProfile, got {reference!r}")
    opts["reference"] = reference
    return MonitorOptions(**opts)


def positional_index(params: Sequence[str], input_arg: str | None, is_method: bool) -> int:
    """Where the model input sits in ``args`` (after wrapt removed a bound ``self``/``cls``)."""
    if input_arg is None:
        return 0
    if input_arg not in params:
        raise ValueError(f"monitor(): input_arg={input_arg!r} is not a parameter of the function ({', '.join(params)})")
    index = list(params).index(input_arg)
    if is_method:
        index -= 1
    return index
