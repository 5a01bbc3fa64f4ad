"""Zero-code instrumentation of ML frameworks: scikit-learn, XGBoost, LightGBM, PyTorch,
ONNX Runtime and Hugging Face transformers.

``mlotel.instrument()`` instruments every supported framework that is installed;
``mlotel.instrument("sklearn", "torch")`` just those. Each framework is also an
``opentelemetry-instrumentation`` instrumentor registered under the
``opentelemetry_instrumentor`` entry-point group, so ``opentelemetry-instrument python
app.py`` instruments them with no code change. Frameworks are patched when the
application imports them, not before. See docs/instrumentation.md.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from opentelemetry.instrumentation.environment_variables import OTEL_PYTHON_DISABLED_INSTRUMENTATIONS

from mlotel.instrumentation._identity import register_model

__all__ = ["FRAMEWORKS", "instrument", "instrumentor", "register_model", "uninstrument"]

_LOG = logging.getLogger("mlotel.instrumentation")

#: Framework name (also the entry-point name) -> "module:class" of its instrumentor.
FRAMEWORKS: dict[str, str] = {
    "sklearn": "mlotel.instrumentation.sklearn:SklearnInstrumentor",
    "xgboost": "mlotel.instrumentation.xgboost:XGBoostInstrumentor",
    "lightgbm": "mlotel.instrumentation.lightgbm:LightGBMInstrumentor",
    "torch": "mlotel.instrumentation.torch:TorchInstrumentor",
    "onnxruntime": "mlotel.instrumentation.onnxruntime:OnnxRuntimeInstrumentor",
    "transformers": "mlotel.instrumentation.transformers:TransformersInstrumentor",
}


def instrumentor(framework: str) -> Any:
    """The (singleton) instrumentor of ``framework``; ``ValueError`` for an unknown name."""
    target = FRAMEWORKS.get(framework)
    if target is None:
        raise ValueError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)()


def _selected(frameworks: tuple[str, ...]) -> list[str]:
    for framework in frameworks:
        if framework not in FRAMEWORKS:
            raise ValueError(f"unknown framework {framework!r}; known: {', '.join(FRAMEWORKS)}")
    return list(dict.fromkeys(frameworks)) if frameworks else list(FRAMEWORKS)


def _disabled() -> set[str]:
    value = os.environ.get(OTEL_PYTHON_DISABLED_INSTRUMENTATIONS, "")
    return {name.strip() for name in value.split(",") if name.strip()}


def instrument(*frameworks: str, tracer_provider: Any = None, meter_provider: Any = None) -> list[str]:
    """Instrument the named frameworks (default: all supported); return those now instrumented.

    Names are those of :data:`FRAMEWORKS` (``"sklearn"``, ``"xgboost"``, ``"lightgbm"``,
    ``"torch"``, ``"onnxruntime"``, ``"transformers"``). A framework that is not installed,
    or is of an unsupported version, is skipped (logged at DEBUG, resp. ERROR); one named
    in ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS`` (or all, for ``*``) is skipped even when
    named here. Calling it again is harmless. ``tracer_provider``/``meter_provider``, when
    given, are used as by :func:`mlotel.configure`.

    Raises:
        ValueError: an unknown framework name.
    """
    selected = _selected(frameworks)
    disabled = _disabled()
    done = []
    for framework in selected:
        if "*" in disabled or framework in disabled:
            _LOG.debug(
                "mlotel: %s instrumentation disabled by %s", framework, OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
            )
            continue
        try:
            inst = instrumentor(framework)
            if not inst.is_instrumented_by_opentelemetry:
                inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        except Exception:  # a broken framework install must not stop the others, nor the application
            _LOG.exception("mlotel: instrumenting %s failed; skipped", framework)
            continue
        if inst.is_instrumented_by_opentelemetry:
            done.append(framework)
        elif frameworks:
            _LOG.warning("mlotel: %s is not installed in a supported version; not instrumented", framework)
    return done


def uninstrument(*frameworks: str) -> list[str]:
    """Undo :func:`instrument` for the named frameworks (default: all); return those uninstrumented.

    The frameworks' original methods are put back (the very same objects).

    Raises:
        ValueError: an unknown framework name.
    """
    done = []
    for framework in _selected(frameworks):
        inst = instrumentor(framework)
        if inst.is_instrumented_by_opentelemetry:
            inst.uninstrument()
            done.append(framework)
    return done
