"""Per-call extensions of a monitored model, built once per binding from its options.

A hook is ``hook(span, model_input, result, error, args, kwargs) -> None``, called after
the metrics of every call (successful or not), inside mlotel's fault guard. Outcome
tracking and payload logging plug in here, so the hot path pays nothing for features a
model does not use.

Always: the prediction-id collector of :func:`mlotel.prediction_context` (one context
variable read when no block is open). On request: the label-free
performance estimate (a reference with a score calibration), outcome tracking
(``track_outcomes``), prediction/payload logging (``log_predictions``,
``log_payloads``), and the per-call CUDA peak memory when the application uses a
CUDA build of torch (``cuda_memory``, on by default then).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = Callable[[Any, Any, Any, BaseException | None, tuple, dict | None], None]


def build_hooks(runtime: Any, binding: Any, options: Any) -> tuple[Hook, ...]:
    """The hooks ``options`` ask for, in the order they run."""
    # Imported here: these modules import the decorator, which imports this module.
    from mlotel.outcomes._ids import collect_prediction_id

    hooks: list[Hook] = [collect_prediction_id]
    performance = None
    calibration = getattr(options.reference, "performance", None)  # the estimate's score calibration
    if calibration is not None and options.performance_estimate is not False:
        from mlotel.monitor._performance import PerformanceMonitor

        performance = PerformanceMonitor(runtime, binding, calibration, options)
        hooks.append(performance.hook)
    if options.track_outcomes:
        from mlotel.outcomes._record import register
        from mlotel.outcomes._tracker import OutcomeTracker

        tracker = OutcomeTracker(runtime.registry, binding.attributes, options, runtime.generation)
        if performance is not None:
            tracker.on_joined = performance.joined  # realized values next to the estimate
        register(tracker)
        hooks.append(tracker.hook)
    if (options.log_predictions or options.log_payloads > 0) and runtime.logger is not None:
        from mlotel.monitor._payload import PayloadLogger

        hooks.append(PayloadLogger(runtime, binding, options))
    if options.cuda_memory is not False:
        from mlotel.resources._torch import CudaPeakMemory, cuda_torch

        torch = cuda_torch()
        if torch is not None:
            hooks.append(CudaPeakMemory(torch, runtime.registry, binding.attributes, options.max_buckets))
    return tuple(hooks)
