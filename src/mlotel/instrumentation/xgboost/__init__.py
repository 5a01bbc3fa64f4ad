"""XGBoost instrumentation: ``Booster.predict``, ``Booster.inplace_predict`` and the
scikit-learn-style ``XGBModel`` methods (``predict``, ``predict_proba``, ``apply``).

``XGBClassifier.predict`` calls its booster: the booster call is nested and gives no
second span. ``XGBModel.fit`` is wrapped quietly. A ``DMatrix`` holds no readable copy
of its data, so ``Booster.predict(dmatrix)`` reports the batch size but sketches no
features; ``inplace_predict`` and the estimator methods sketch the raw input.

Identity: ``ml.model.name`` is the class (``Booster``, ``XGBClassifier``, ...);
``ml.model.params.hash`` hashes ``Booster.save_config()`` (booster) or
``get_params(deep=True)`` (estimator); feature names come from ``feature_names_in_`` or
the booster's ``feature_names``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from mlotel.instrumentation._base import FrameworkInstrumentor, Patcher, rows_only, subclasses
from mlotel.instrumentation._identity import Identity, attr, names, params_hash
from mlotel.instrumentation.sklearn import estimator_identity
from mlotel.instrumentation.xgboost.package import _instruments

MONITORED = ("predict", "predict_proba", "apply")
BOOSTER_MONITORED = ("predict", "inplace_predict")


class XGBoostInstrumentor(FrameworkInstrumentor):
    """Instruments XGBoost boosters and estimators (see the module docstring)."""

    framework = "xgboost"
    _instruments = _instruments
    _hook_module = "xgboost"
    _hooked = False

    def _patch(self, patcher: Patcher) -> None:
        from xgboost.core import Booster

        for name in BOOSTER_MONITORED:
            patcher.wrap(Booster, name, self.monitored_wrapper(name))
        try:
            from xgboost.sklearn import XGBModel
        except ImportError:  # xgboost without scikit-learn
            return
        wrappers = {name: self.monitored_wrapper(name) for name in MONITORED}
        wrappers["fit"] = self.quiet_wrapper()
        for cls in subclasses(XGBModel):
            self.patch_methods(patcher, cls, wrappers)

    def identify(self, model: Any, operation: str) -> Identity:
        if hasattr(model, "get_booster"):  # an XGBModel
            booster = None
            with contextlib.suppress(Exception):  # not fitted
                booster = model.get_booster()
            return estimator_identity(model, operation, names(attr(booster, "feature_names")))
        try:
            config = json.loads(model.save_config())
        except Exception:
            config = None
        # Booster.predict takes a DMatrix, read as a batch size only: no feature names to give it
        features = None if operation == "predict" else names(attr(model, "feature_names"))
        return Identity(type(model).__name__, params_hash(config), features)

    def read_input(self, model: Any, args: tuple, kwargs: dict) -> Any:
        data = args[0] if args else kwargs.get("data", kwargs.get("X"))
        if type(data).__name__ in ("DMatrix", "QuantileDMatrix") and hasattr(data, "num_row"):
            return rows_only(data.num_row())
        return data
