"""The process-wide state behind the public API: providers, tracer, metric registry.

Resolution is lazy: the first monitored call (or an explicit ``configure()``) picks the
providers. Providers the application or ``opentelemetry-instrument`` already installed
globally are used as they are; otherwise mlotel builds its own from the configuration
and installs them globally, so the application's other instrumentation shares them.

Readers of :func:`active` on the hot path pay one global load and one attribute check.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from opentelemetry import _logs, metrics, trace

from mlotel import _config, _faults
from mlotel import _semconv as sc
from mlotel.export import _bridge
from mlotel.export._aggregates import Registry
from mlotel.export._setup import Providers, build_providers, set_drop_sink, set_exiting
from mlotel.version import __version__

_logger = logging.getLogger("mlotel")


class Runtime:
    """Everything a monitored call needs. Replaced (never mutated) on re-configuration and after fork."""

    def __init__(
        self,
        config: _config.Config,
        providers: Providers | None,
        generation: int,
        inherit: Runtime | None = None,
    ) -> None:
        self.config = config
        self.providers = providers
        self.generation = generation
        self.enabled = providers is not None and not config.disabled
        self.registry = Registry()
        self.tracer: Any = None
        self.logger: Any = None
        if self.enabled and inherit is not None:
            # After fork: the same tracer and logger, without taking SDK locks a parent thread may have held.
            self.tracer, self.logger = inherit.tracer, inherit.logger
        elif self.enabled:
            self.tracer = providers.tracer_provider.get_tracer(
                sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL
            )
            self.logger = providers.logger_provider.get_logger(
                sc.SCOPE_NAME, __version__, schema_url=sc.SCHEMA_URL
            )
        if self.enabled:
            _bridge.attach(providers.meter_provider, self.registry)
            if config.resource_metrics and inherit is None:  # after fork: enabled already, per provider
                try:
                    from mlotel import resources

                    resources.enable(providers.meter_provider)
                except Exception as exc:
                    _faults.record_fault("resources", exc)
        fault_counter = self.registry.instrument(
            sc.FAULT_COUNT,
            "counter",
            "{fault}",
            "Faults inside mlotel, caught and skipped; the model call was unaffected.",
        )
        series_cache: dict[tuple[str, str], Any] = {}

        def sink(kind: str, error_type: str) -> None:
            series = series_cache.get((kind, error_type))
            if series is None:
                series = series_cache.setdefault(
                    (kind, error_type), fault_counter.series({sc.FAULT_KIND: kind, sc.ERROR_TYPE: error_type})
                )
            series.add(1)

        self.fault_sink = sink
        dropped = self.registry.instrument(
            sc.EXPORT_DROPPED_COUNT,
            "counter",
            "{item}",
            "Telemetry items (spans, log records, metric points) mlotel's exporters could not deliver.",
        )

        def drop_sink(signal: str, error_type: str, count: int) -> None:
            dropped.series({sc.SIGNAL: signal, sc.ERROR_TYPE: error_type}).add(count)

        self.drop_sink = drop_sink


_lock = threading.RLock()
_runtime: Runtime | None = None
_generation = 0
_atexit_registered = False


def active() -> Runtime | None:
    """The current runtime, resolving it from the environment on first use. Never raises."""
    runtime = _runtime
    if runtime is not None:
        return runtime
    try:
        return _resolve(None)
    except Exception as exc:
        _faults.record_fault("configuration", exc, "telemetry is disabled for this process")
        return _disable()


def _disable() -> Runtime:
    global _runtime, _generation
    with _lock:
        _generation += 1
        _runtime = Runtime(_config.Config(disabled=True), None, _generation)
        return _runtime


def configure(config: _config.Config, explicit: dict[str, Any] | None = None) -> Runtime:
    """Install a runtime for ``config``, shutting down the providers mlotel owned before.

    ``explicit`` may name ``tracer_provider``/``meter_provider``/``logger_provider`` to use
    as they are (never installed globally, never shut down by mlotel).
    """
    global _runtime
    with _lock:
        old = _runtime
        if old is not None:
            _release(old)
            _runtime = None
        return _resolve(config, explicit or None)


def _resolve(config: _config.Config | None, explicit: dict[str, Any] | None = None) -> Runtime:
    global _runtime, _generation, _atexit_registered
    with _lock:
        if _runtime is not None and config is None:
            return _runtime
        if config is None:
            config = _config.resolve()
        _generation += 1
        providers = None if config.disabled else _providers_for(config, explicit or {})
        runtime = Runtime(config, providers, _generation)
        _faults.set_sink(runtime.fault_sink)
        set_drop_sink(runtime.drop_sink)
        _runtime = runtime
        if not _atexit_registered:
            atexit.register(_at_exit)
            _atexit_registered = True
        return runtime


#: Set on providers mlotel built and shut down (re-configuration): they can not be used again.
_RELEASED = "_mlotel_released"


def _is_unset(provider: Any, proxy_type: type) -> bool:
    return (
        isinstance(provider, proxy_type)
        or type(provider).__name__.startswith(("NoOp", "Proxy", "_Proxy"))
        or getattr(provider, _RELEASED, False)
    )


def _providers_for(config: _config.Config, explicit: dict[str, Any]) -> Providers:
    """Use explicit or globally installed providers; build (and install) ours for signals that have none."""
    from opentelemetry._logs._internal import ProxyLoggerProvider
    from opentelemetry.metrics._internal import _ProxyMeterProvider
    from opentelemetry.trace import ProxyTracerProvider

    found_tracer = explicit.get("tracer_provider") or trace.get_tracer_provider()
    found_meter = explicit.get("meter_provider") or metrics.get_meter_provider()
    found_logger = explicit.get("logger_provider") or _logs.get_logger_provider()
    need = (
        _is_unset(found_tracer, ProxyTracerProvider),
        _is_unset(found_meter, _ProxyMeterProvider),
        _is_unset(found_logger, ProxyLoggerProvider),
    )
    if not any(need):
        _logger.info("mlotel: using the OpenTelemetry providers the application configured")
        return Providers(
            found_tracer, found_meter, found_logger, owned=False, destination="application providers"
        )
    built = build_providers(config)
    # Install ours only where nothing was installed; keep the application's elsewhere. A global
    # provider of an earlier configure() was shut down; the API allows no replacement of it, so
    # mlotel's own telemetry uses the new providers directly.
    replaced = False
    for unset, found, new, install in (
        (need[0], found_tracer, built.tracer_provider, trace.set_tracer_provider),
        (need[1], found_meter, built.meter_provider, metrics.set_meter_provider),
        (need[2], found_logger, built.logger_provider, _logs.set_logger_provider),
    ):
        if unset and getattr(found, _RELEASED, False):
            replaced = True
        elif unset:
            install(new)
    if replaced:
        _logger.info(
            "mlotel: re-configured; mlotel's telemetry uses new providers (the global ones stay as set)"
        )
    providers = Providers(
        built.tracer_provider if need[0] else found_tracer,
        built.meter_provider if need[1] else found_meter,
        built.logger_provider if need[2] else found_logger,
        owned=True,
        destination=built.destination,
    )
    providers.owned_parts = need  # type: ignore[attr-defined]
    if "file" in config.exporters.values():
        _logger.warning(
            "mlotel: no OTLP endpoint configured; telemetry goes to local files: %s", built.destination
        )
    else:
        _logger.info("mlotel: telemetry -> %s", built.destination)
    return providers


def _bounded(label: str, func, timeout: float) -> bool:
    """Run ``func`` in a daemon thread and wait at most ``timeout`` seconds (exporters may retry for long)."""
    done = threading.Event()

    def run() -> None:
        try:
            func()
        except Exception as exc:
            _logger.debug("mlotel: %s failed: %s", label, exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"mlotel-{label}", daemon=True).start()
    if not done.wait(timeout):
        _logger.warning(
            "mlotel: %s did not finish within %.1f s; pending telemetry is dropped", label, timeout
        )
        return False
    return True


def force_flush(timeout: float | None = None) -> bool:
    """Export everything pending now. Bounded by ``timeout`` seconds (default: the shutdown timeout)."""
    runtime = _runtime
    if runtime is None or not runtime.enabled:
        return True
    timeout = runtime.config.shutdown_timeout if timeout is None else timeout
    providers = runtime.providers
    millis = int(timeout * 1000)

    def flush() -> None:
        for provider in (providers.tracer_provider, providers.meter_provider, providers.logger_provider):
            flush_one = getattr(provider, "force_flush", None)
            if flush_one is not None:
                flush_one(millis)

    return _bounded("flush", flush, timeout)


def _flush_all(providers: list[Any], millis: int) -> None:
    for provider in providers:
        flush = getattr(provider, "force_flush", None)
        if flush is not None and not getattr(provider, "_shutdown", False):
            try:
                flush(millis)
            except Exception as exc:  # one provider's failed flush must not skip the others
                _logger.debug("mlotel: flushing %s failed: %s", type(provider).__name__, exc)


def _release(runtime: Runtime, flush_theirs: bool = False, keep_attached: bool = False) -> None:
    """Stop using ``runtime``'s providers: shut down the ones mlotel built, leave the others running.

    ``flush_theirs``: export what is pending in the application's providers first (mlotel's
    metrics are attached to its readers). ``keep_attached``: leave mlotel's metrics on the
    application's readers, for their own final collection at exit.
    """
    providers = runtime.providers
    if providers is None:
        return
    owned = getattr(providers, "owned_parts", (True, True, True)) if providers.owned else (False,) * 3
    every = (providers.tracer_provider, providers.meter_provider, providers.logger_provider)
    mine = [p for p, is_mine in zip(every, owned, strict=True) if is_mine]
    theirs = [p for p, is_mine in zip(every, owned, strict=True) if not is_mine]
    for provider in mine:
        setattr(provider, _RELEASED, True)
    timeout = runtime.config.shutdown_timeout

    def stop() -> None:
        if flush_theirs:
            _flush_all(theirs, int(timeout * 1000))
        for provider in mine:
            provider.shutdown()

    if mine or (flush_theirs and theirs):
        _bounded("shutdown", stop, timeout)
    if not owned[1] and not keep_attached:
        _bridge.detach(providers.meter_provider)


def shutdown() -> None:
    """Flush and stop the providers mlotel created. Bounded by the shutdown timeout. Idempotent."""
    global _runtime
    with _lock:
        runtime = _runtime
        if runtime is None or not runtime.enabled:
            return
        _release(runtime, flush_theirs=True)
        # Keep a disabled runtime: calls after shutdown pass straight through.
        _runtime = Runtime(_config.Config(disabled=True), None, runtime.generation + 1)


def _at_exit() -> None:
    """Interpreter exit: export everything mlotel gathered, whoever owns the providers.

    atexit runs handlers last-in first-out, so this one runs before the exit handler of
    any provider that existed when mlotel first resolved (the SDK's ``shutdown_on_exit``,
    as ``opentelemetry-instrument`` sets up). The application's providers are flushed here
    with mlotel's shutdown timeout (the SDK's own last metric collection at exit is bounded
    by the export *interval*, too short for a first connection on a busy machine), and
    mlotel's metrics stay attached to their readers so that last collection has them too.
    """
    set_exiting()
    with _lock:
        runtime = _runtime
        if runtime is None or not runtime.enabled:
            return
        _release(runtime, flush_theirs=True, keep_attached=True)


def _reset_for_tests() -> None:
    """Forget the runtime without shutting anything down (tests install fresh global providers)."""
    global _runtime
    with _lock:
        _runtime = None
    _faults.reset()


def _after_fork_in_child() -> None:
    # The child must not report the parent's aggregated data again: fresh registry, fresh
    # series bindings (generation bump), same providers (the SDK re-creates its threads).
    global _runtime, _generation, _lock
    _lock = threading.RLock()  # a parent thread may have held it at fork: it would never be released here
    _faults.after_fork()
    runtime = _runtime
    if runtime is None or not runtime.enabled:
        return
    _generation += 1
    _runtime = Runtime(runtime.config, runtime.providers, _generation, inherit=runtime)
    _faults.set_sink(_runtime.fault_sink)
    set_drop_sink(_runtime.drop_sink)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
