"""PyTorch instrumentation: the top-level ``nn.Module`` call.

``torch.nn.Module.__call__`` is wrapped once; the outermost module call is monitored
and every submodule it calls passes straight through (no span, no sketch, one context
variable lookup). Grad mode, ``torch.no_grad`` and inference mode are left as they are.

Data: tensors are handed to the sketches as they are and read after the call, only when
sketched, by :mod:`mlotel.data` (``data/_tensors.py``, shared with ``@mlotel.monitor``):
``detach()`` and at most one host copy each (CPU tensors none), nothing before the model
runs. Read: the input (the first positional argument, else the first keyword argument)
when it has at most 2 dimensions, and the outputs (a tensor, or the tensors of a tuple,
list or dict such as a ``ModelOutput``) with at most 2 dimensions. Inputs of more
dimensions (images, sequences of embeddings) and sparse ones give the batch size only.

Identity: ``ml.model.name`` is the module class; ``ml.model.params.hash`` hashes the
module's ``repr`` (its architecture and layer hyper-parameters) with the names, shapes
and dtypes of its parameters.
"""

from __future__ import annotations

import sys
from typing import Any

from mlotel.instrumentation._base import FrameworkInstrumentor, Patcher, rows_only
from mlotel.instrumentation._identity import Identity, params_hash
from mlotel.instrumentation.torch.package import _instruments

_MAX_DIMS = 2
_MAX_OUTPUTS = 32


def sketchable(value: Any) -> Any:
    """What the sketches read of a model argument or output.

    A strided tensor of at most 2 dimensions: the tensor itself (``mlotel.data`` copies it
    to the host once, after the call, and only if it is sketched). A tensor of more
    dimensions, or a sparse one: a row-only stand-in (batch size, no columns). Anything
    else: unchanged.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    if value.ndim > _MAX_DIMS or value.layout != torch.strided:
        return rows_only(value.shape[0]) if value.ndim else None
    return value


def _outputs(result: Any) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(result, torch.Tensor):
        return sketchable(result)
    if isinstance(result, dict):  # ModelOutput is an OrderedDict
        items = [(str(k), v) for k, v in list(result.items())[:_MAX_OUTPUTS]]
    elif isinstance(result, tuple | list):
        items = [(str(i), v) for i, v in enumerate(result[:_MAX_OUTPUTS])]
    else:
        return result
    out = {}
    for key, value in items:
        if (
            torch is not None
            and isinstance(value, torch.Tensor)
            and value.ndim <= _MAX_DIMS
            and value.layout == torch.strided
        ):
            out[key] = value
    return out or None


class TorchInstrumentor(FrameworkInstrumentor):
    """Instruments the top-level ``torch.nn.Module`` call (see the module docstring)."""

    framework = "torch"
    _instruments = _instruments
    _hook_module = "torch"
    _hooked = False

    def _patch(self, patcher: Patcher) -> None:
        from torch.nn import Module

        patcher.wrap(Module, "__call__", self.monitored_wrapper("forward"))

    def identify(self, model: Any, operation: str) -> Identity:
        try:
            parameters = [(name, list(p.shape), str(p.dtype)) for name, p in model.named_parameters()]
        except Exception:
            parameters = None
        return Identity(type(model).__name__, params_hash({"module": repr(model), "parameters": parameters}))

    def read_input(self, model: Any, args: tuple, kwargs: dict) -> Any:
        value = args[0] if args else next(iter(kwargs.values()), None)
        return sketchable(value)

    def read_output(self, model: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        return _outputs(result)
