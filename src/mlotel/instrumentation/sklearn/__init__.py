"""scikit-learn instrumentation: ``predict``, ``predict_proba``, ``predict_log_proba``,
``decision_function`` and ``transform`` of every estimator, ``Pipeline`` and
``ColumnTransformer`` included.

Usage::

    from mlotel.instrumentation.sklearn import SklearnInstrumentor

    SklearnInstrumentor().instrument()
    model.predict(X)  # one span, latency, batch size, feature and prediction sketches

Each method is wrapped in the class that defines it (a mixin included), for every
estimator class that exists when scikit-learn is instrumented; classes defined later
(user subclasses, modules imported later) are wrapped as they are created, through
``BaseEstimator.__init_subclass__``. ``fit``, ``fit_transform``, ``fit_predict``,
``partial_fit`` and ``score`` are wrapped quietly: the predictions and transforms they
make inside are not monitored. Estimators of xgboost and lightgbm are left to their own
instrumentors.

Identity: ``ml.model.name`` is the estimator class (or ``register_model``'s name);
``ml.model.params.hash`` hashes ``get_params(deep=True)`` (pipeline steps included);
feature names come from ``feature_names_in_``, class names (for ``predict_proba`` and
the like) from ``classes_``.
"""

from __future__ import annotations

from typing import Any

from mlotel import _faults
from mlotel.instrumentation._base import FrameworkInstrumentor, Patcher, subclasses
from mlotel.instrumentation._identity import Identity, attr, names, params_hash
from mlotel.instrumentation.sklearn.package import _instruments

MONITORED = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")
QUIET = ("fit", "fit_transform", "fit_predict", "partial_fit", "score")
_SCORES = ("predict_proba", "predict_log_proba", "decision_function")
#: Estimators of these packages are instrumented by their own instrumentors.
OTHER_FRAMEWORKS = ("xgboost", "lightgbm")


def _foreign(cls: type) -> bool:
    return any(getattr(base, "__module__", "").split(".")[0] in OTHER_FRAMEWORKS for base in cls.__mro__)


class SklearnInstrumentor(FrameworkInstrumentor):
    """Instruments scikit-learn estimators (see the module docstring)."""

    framework = "sklearn"
    _instruments = _instruments
    _hook_module = "sklearn.base"
    _hooked = False

    def _patch(self, patcher: Patcher) -> None:
        from sklearn.base import BaseEstimator

        wrappers = {name: self.monitored_wrapper(name) for name in MONITORED}
        wrappers.update({name: self.quiet_wrapper() for name in QUIET})
        self._wrappers = wrappers
        for cls in subclasses(BaseEstimator):
            self._patch_class(patcher, cls)
        patcher.replace(BaseEstimator, "__init_subclass__", self._subclass_hook(BaseEstimator))

    def _patch_class(self, patcher: Patcher, cls: type) -> None:
        if not _foreign(cls):
            self.patch_methods(patcher, cls, self._wrappers)

    def _subclass_hook(self, base: type) -> classmethod:
        previous = base.__dict__.get("__init_subclass__")
        instrumentor = self

        def __init_subclass__(cls: type, **kwargs: Any) -> None:
            if previous is not None:
                previous.__get__(None, cls)(**kwargs)
            else:
                super(base, cls).__init_subclass__(**kwargs)
            if instrumentor.active:
                try:
                    with instrumentor._lock:
                        instrumentor._patch_class(instrumentor._patcher, cls)
                except Exception as exc:
                    _faults.record_fault("instrumentation", exc)

        return classmethod(__init_subclass__)

    def identify(self, model: Any, operation: str) -> Identity:
        return estimator_identity(model, operation)


def estimator_identity(model: Any, operation: str, features: tuple[str, ...] | None = None) -> Identity:
    """Identity of a scikit-learn-style estimator: class, ``get_params(deep=True)``, names."""
    try:
        params = model.get_params(deep=True)
    except Exception:
        params = None
    class_names = None
    if operation in _SCORES:
        classes = names(attr(model, "classes_"))
        # decision_function of a binary classifier has one column, not one per class
        if classes is not None and (operation != "decision_function" or len(classes) > 2):
            class_names = classes
    return Identity(
        type(model).__name__,
        params_hash({"class": type(model).__qualname__, "params": params}),
        names(attr(model, "feature_names_in_")) or features,
        class_names,
    )
