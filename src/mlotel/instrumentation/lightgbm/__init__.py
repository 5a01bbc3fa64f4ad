"""LightGBM instrumentation: ``Booster.predict`` and the scikit-learn-style ``LGBMModel``
methods (``predict``, ``predict_proba``).

``LGBMClassifier.predict`` calls ``predict_proba`` which calls the booster: only the
outermost call is monitored. ``LGBMModel.fit`` is wrapped quietly. A file path given
to ``Booster.predict`` is not read: no batch size, no feature sketch.

Identity: ``ml.model.name`` is the class (``Booster``, ``LGBMClassifier``, ...);
``ml.model.params.hash`` hashes ``Booster.params`` (booster) or ``get_params(deep=True)``
(estimator); feature names come from ``feature_names_in_`` or ``Booster.feature_name()``.
"""

from __future__ import annotations

import os
from typing import Any

from mlotel.instrumentation._base import FrameworkInstrumentor, Patcher, subclasses
from mlotel.instrumentation._identity import Identity, attr, names, params_hash
from mlotel.instrumentation.lightgbm.package import _instruments
from mlotel.instrumentation.sklearn import estimator_identity

MONITORED = ("predict", "predict_proba")


def _feature_names(booster: Any) -> tuple[str, ...] | None:
    try:
        return names(booster.feature_name())
    except Exception:
        return None


class LightGBMInstrumentor(FrameworkInstrumentor):
    """Instruments LightGBM boosters and estimators (see the module docstring)."""

    framework = "lightgbm"
    _instruments = _instruments
    _hook_module = "lightgbm"
    _hooked = False

    def _patch(self, patcher: Patcher) -> None:
        from lightgbm.basic import Booster

        patcher.wrap(Booster, "predict", self.monitored_wrapper("predict"))
        try:
            from lightgbm.sklearn import LGBMModel
        except ImportError:
            return
        wrappers = {name: self.monitored_wrapper(name) for name in MONITORED}
        wrappers["fit"] = self.quiet_wrapper()
        for cls in subclasses(LGBMModel):
            self.patch_methods(patcher, cls, wrappers)

    def identify(self, model: Any, operation: str) -> Identity:
        if hasattr(model, "get_params"):  # an LGBMModel
            booster = attr(model, "booster_")
            return estimator_identity(
                model, operation, _feature_names(booster) if booster is not None else None
            )
        return Identity(type(model).__name__, params_hash(attr(model, "params")), _feature_names(model))

    def read_input(self, model: Any, args: tuple, kwargs: dict) -> Any:
        data = args[0] if args else kwargs.get("data", kwargs.get("X"))
        if isinstance(data, str | os.PathLike):
            return None  # a data file: not ours to read
        return data
