"""Sizes of exponential histograms: ``max_buckets`` as an int or per feature.

One rule for ``monitor(max_buckets=...)``, ``build_reference(max_size=...)`` and
``mlotel profile --max-buckets``: an int sizes every sketch; a mapping ``{feature: buckets}``
sizes the features it names, and its optional ``"*"`` key every other one.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["DEFAULT_BUCKETS", "MAX_BUCKETS", "MIN_BUCKETS", "OTHER_FEATURES", "parse_buckets"]

#: Buckets per sign of a serving sketch by default, and the range every value of
#: ``max_buckets`` (model-wide or per feature) must lie in: at most 16,384 buckets a side,
#: 256 KiB of counts per sketch, about 20-40 KB per exported OTLP point.
DEFAULT_BUCKETS = 160
MIN_BUCKETS, MAX_BUCKETS = 8, 16_384
#: The key of a ``max_buckets`` mapping that sets the size of every sketch it does not name.
OTHER_FEATURES = "*"


def parse_buckets(
    value: Any, label: str = "max_buckets", default: int = DEFAULT_BUCKETS
) -> tuple[int, Mapping[str, int]]:
    """``(default, {feature: buckets})`` from an int or a ``{feature: buckets}`` mapping whose
    optional ``"*"`` key is the default (else ``default``).

    Raises ``TypeError`` for another type or a key that is not a non-empty str, and
    ``ValueError`` for a count outside ``[MIN_BUCKETS, MAX_BUCKETS]``, naming the feature.
    """
    if isinstance(value, Mapping):
        sizes: dict[str, int] = {}
        for key, count in value.items():
            if not isinstance(key, str) or not key:
                raise TypeError(
                    f"{label}: every key must be a feature name (non-empty str) or '*', got {key!r}"
                )
            sizes[key] = _buckets_count(f"{label}[{key!r}]", count)
        default = sizes.pop(OTHER_FEATURES, default)
        return default, MappingProxyType(sizes)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{label} must be an int or a mapping {{feature: int}} (key '*' for the rest), got {value!r}"
        )
    return _buckets_count(label, value), MappingProxyType({})


def _buckets_count(label: str, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not MIN_BUCKETS <= value <= MAX_BUCKETS
    ):
        raise ValueError(f"{label} must be an int in [{MIN_BUCKETS}, {MAX_BUCKETS}], got {value!r}")
    return int(value)
