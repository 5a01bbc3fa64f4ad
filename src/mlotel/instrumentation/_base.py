"""The base of mlotel's framework instrumentors: dependency checks, lazy patching, exact restore.

Each framework's instrumentor is a :class:`FrameworkInstrumentor`, an
``opentelemetry-instrumentation`` ``BaseInstrumentor``. It differs from most
instrumentors in three ways:

* **Its own dependency check, always.** ``opentelemetry-instrument`` checks the
  ``instruments`` extra of the *distribution* (mlotel declares none there, as one
  distribution serves six frameworks) and then calls ``instrument(skip_dep_check=True)``.
  We ignore ``skip_dep_check`` and check the instrumentor's own ``_instruments``
  (any one of them suffices, e.g. ``onnxruntime`` or ``onnxruntime-gpu``): a framework
  that is not installed is skipped quietly (a DEBUG log), one of an unsupported version
  is skipped with an ERROR log, as the auto-loader does.
* **Lazy patching.** ``instrument()`` imports no framework: the methods are patched
  when the framework's module is imported (at once if it already is), through a
  ``wrapt`` post-import hook. So ``opentelemetry-instrument`` or ``mlotel.instrument()``
  costs nothing for frameworks the application never imports.
* **Exact restore.** :class:`Patcher` records each class attribute it replaced and
  ``uninstrument()`` puts back the very objects (``Pipeline.__dict__["predict"] is
  original``). A wrapper that someone else wrapped again meanwhile cannot be taken
  out; it is left in place and passes calls straight through.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from typing import Any, ClassVar

import numpy as np
import wrapt
from opentelemetry.instrumentation.dependencies import (
    DependencyConflict,
    DependencyConflictError,
    get_dependency_conflicts,
)
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor

from mlotel import _config, _faults, _runtime
from mlotel import _semconv as sc
from mlotel.instrumentation._context import monitored, quiet
from mlotel.instrumentation._identity import Identity, IdentityCache, registration_of
from mlotel.monitor._decorator import Monitor
from mlotel.monitor._options import validate

_LOG = logging.getLogger("mlotel.instrumentation")
_MISSING = object()


class _Patched(wrapt.FunctionWrapper):
    """A method wrapped by mlotel's instrumentation (``isinstance`` tells ours from others)."""


class Patcher:
    """Replaces class attributes and puts the originals back, exactly."""

    def __init__(self) -> None:
        self._patches: dict[tuple[type, str], tuple[Any, Any]] = {}

    def __len__(self) -> int:
        return len(self._patches)

    def wrap(self, owner: type, name: str, wrapper: Callable[..., Any]) -> bool:
        """Wrap ``owner.__dict__[name]`` (the raw attribute: descriptors stay descriptors)."""
        if (owner, name) in self._patches or name not in owner.__dict__:
            return False
        original = owner.__dict__[name]
        if isinstance(original, _Patched):
            return False
        return self.replace(owner, name, _Patched(original, wrapper))

    def replace(self, owner: type, name: str, value: Any) -> bool:
        """Set ``owner.name = value``, remembering what was in ``owner.__dict__`` (or that nothing was)."""
        if (owner, name) in self._patches:
            return False
        original = owner.__dict__.get(name, _MISSING)
        try:
            setattr(owner, name, value)
        except (TypeError, AttributeError) as exc:  # an extension type: leave it alone
            _faults.record_fault("instrumentation", exc, f"cannot patch {owner.__qualname__}.{name}")
            return False
        self._patches[(owner, name)] = (original, value)
        return True

    def is_patched(self, owner: type, name: str) -> bool:
        return (owner, name) in self._patches

    def restore(self) -> None:
        """Put back every original that is still ours to replace; forget all patches."""
        for (owner, name), (original, value) in reversed(list(self._patches.items())):
            if owner.__dict__.get(name, _MISSING) is not value:
                continue  # replaced again by someone else: ours stays, inert
            try:
                if original is _MISSING:
                    delattr(owner, name)
                else:
                    setattr(owner, name, original)
            except (TypeError, AttributeError) as exc:
                _faults.record_fault("instrumentation", exc, f"cannot restore {owner.__qualname__}.{name}")
        self._patches.clear()


def subclasses(root: type) -> Iterator[type]:
    """``root`` and every class derived from it that exists now."""
    stack, seen = [root], set()
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        yield cls
        stack.extend(type.__subclasses__(cls))


class FrameworkMonitor(Monitor):
    """A :class:`Monitor` whose model input is read by the framework's instrumentor."""

    def __init__(self, options: Any, model_name: str, attributes: dict[str, Any], read_input: Any, key: Any):
        super().__init__(options, model_name, attributes=attributes)
        self._read_input = read_input
        self.key = key

    def model_input(self, instance: Any, args: tuple, kwargs: dict) -> Any:
        return self._read_input(instance, args, kwargs)


def use_providers(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Make mlotel use these providers (``instrument(tracer_provider=..., meter_provider=...)``).

    Does nothing when none is given or mlotel already uses them; otherwise calls
    :func:`mlotel.configure`, keeping the other providers an application gave earlier.
    """
    if tracer_provider is None and meter_provider is None:
        return
    runtime = _runtime._runtime
    current = runtime.providers if runtime is not None else None
    if (
        current is not None
        and (tracer_provider is None or current.tracer_provider is tracer_provider)
        and (meter_provider is None or current.meter_provider is meter_provider)
    ):
        return
    kept = current is not None and not current.owned  # ours would be shut down by configure()
    explicit = {
        "tracer_provider": tracer_provider or (current.tracer_provider if kept else None),
        "meter_provider": meter_provider or (current.meter_provider if kept else None),
        "logger_provider": current.logger_provider if kept else None,
    }
    # As mlotel.configure(**explicit): export settings from the environment.
    _runtime.configure(_config.resolve(), {k: v for k, v in explicit.items() if v is not None})


def rows_only(n_rows: Any) -> np.ndarray | None:
    """A stand-in model input with ``n_rows`` rows and no columns: a batch size, no feature sketch."""
    try:
        return np.empty((int(n_rows), 0), dtype=object)
    except Exception:
        return None


def _first_arg(model: Any, args: tuple, kwargs: dict) -> Any:
    if args:
        return args[0]
    return next(iter(kwargs.values()), None)


class FrameworkInstrumentor(BaseInstrumentor):
    """One framework's instrumentation. Subclasses set the class attributes and :meth:`_patch`.

    ``instrument(tracer_provider=None, meter_provider=None)`` patches the framework (now
    or when it is imported); ``uninstrument()`` restores every original. Instrumented
    calls report ``ml.model.framework`` = :attr:`framework`.
    """

    framework: ClassVar[str] = ""
    #: Requirement strings, any one of which must be installed (``package.py``).
    _instruments: ClassVar[tuple[str, ...]] = ()
    #: The module whose import makes the framework patchable.
    _hook_module: ClassVar[str] = ""
    _hooked: ClassVar[bool] = False

    active = False

    def _state(self) -> None:
        if "_patcher" not in self.__dict__:
            self._patcher = Patcher()
            self._lock = threading.RLock()
            self._cache = IdentityCache(self._build)
            self._done = False

    # -- dependencies ----------------------------------------------------------------------
    def instrumentation_dependencies(self) -> Collection[str]:
        """The supported framework distributions; any one of them suffices."""
        return self._instruments

    def _check_dependency_conflicts(self) -> DependencyConflict | None:
        found = None
        for requirement in self._instruments:
            conflict = get_dependency_conflicts([requirement])
            if conflict is None:
                return None
            if found is None or (conflict.found and not found.found):
                found = conflict
        return found

    def instrument(self, **kwargs: Any) -> Any:
        """Instrument the framework; quietly nothing if it is not installed. See the class docstring."""
        kwargs.pop(
            "skip_dep_check", None
        )  # the auto-loader checked mlotel's distribution, not this framework
        raise_on_conflict = kwargs.pop("raise_exception_on_conflict", False)
        conflict = self._check_dependency_conflicts()
        if conflict is not None:
            if not conflict.found:
                _LOG.debug("mlotel: %s is not installed; not instrumented", self.framework)
                return None
            if raise_on_conflict:
                raise DependencyConflictError(conflict)
            _LOG.error("mlotel: %s", conflict._format_message(type(self).__name__))
            return None
        return super().instrument(skip_dep_check=True, **kwargs)

    def _instrument(self, **kwargs: Any) -> None:
        self._state()
        use_providers(kwargs.get("tracer_provider"), kwargs.get("meter_provider"))
        with self._lock:
            self.active = True
            if not type(self)._hooked:
                type(self)._hooked = True  # hooks cannot be removed: one per class, checking ``active``
                wrapt.register_post_import_hook(self._on_import, self._hook_module)  # runs now if imported
            elif self._hook_module in sys.modules:
                self._on_import(sys.modules[self._hook_module])

    def _uninstrument(self, **kwargs: Any) -> None:
        self._state()
        with self._lock:
            self.active = False
            self._patcher.restore()
            self._cache.clear()
            self._done = False

    def _on_import(self, module: Any) -> None:
        with self._lock:
            if not self.active or self._done:
                return
            self._done = True
            try:
                self._patch(self._patcher)
            except Exception as exc:  # all or nothing: a half-patched framework is worse than none
                _faults.record_fault("instrumentation", exc, f"{self.framework} could not be instrumented")
                self._patcher.restore()

    def _patch(self, patcher: Patcher) -> None:
        """Wrap the framework's methods with :meth:`monitored_wrapper` / :meth:`quiet_wrapper`."""
        raise NotImplementedError

    # -- wrappers --------------------------------------------------------------------------
    def monitored_wrapper(self, operation: str) -> Callable[..., Any]:
        return monitored(self, operation)

    def quiet_wrapper(self) -> Callable[..., Any]:
        return quiet(self)

    def patch_methods(
        self,
        patcher: Patcher,
        cls: type,
        wrappers: dict[str, Callable[..., Any]],
        skip: Callable[[type], bool] = lambda owner: False,
    ) -> None:
        """Wrap each named method where ``cls`` finds it: in the class of its MRO that defines it."""
        for name, wrapper in wrappers.items():
            for owner in cls.__mro__:
                if name in owner.__dict__:
                    if owner is not object and not skip(owner):
                        patcher.wrap(owner, name, wrapper)
                    break

    # -- per-model identity and data -----------------------------------------------------------
    def monitor_for(self, model: Any, operation: str) -> Monitor | None:
        return self._cache.get(model, operation)

    def _build(self, model: Any, operation: str, previous: FrameworkMonitor | None) -> FrameworkMonitor:
        identity = self.identify(model, operation)
        registration = registration_of(model)
        key = (identity, registration)
        if previous is not None and previous.key == key:
            return previous
        options = dict(registration.options) if registration is not None else {}
        if identity.class_names is not None:
            options.setdefault("class_names", identity.class_names)
        name = registration.name if registration is not None and registration.name else identity.name
        validated = validate(
            model=name,
            version=registration.version if registration is not None else None,
            operation=identity.operation or operation,
            **options,
        )
        if identity.features is not None:
            validated = dataclasses.replace(validated, model_features=identity.features)
        attributes = {sc.MODEL_FRAMEWORK: self.framework}
        if identity.params_hash is not None:
            attributes[sc.MODEL_PARAMS_HASH] = identity.params_hash
        return FrameworkMonitor(validated, validated.model or name, attributes, self.read_input, key)

    def identify(self, model: Any, operation: str) -> Identity:
        """The model's identity for ``operation``; by default its class name only."""
        return Identity(type(model).__name__)

    def read_input(self, model: Any, args: tuple, kwargs: dict) -> Any:
        """The call's model input, as the sketches should see it. Default: the first argument."""
        return _first_arg(model, args, kwargs)

    def read_output(self, model: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        """The call's result, as the sketches should see it. Default: the result itself."""
        return result
