"""PyTorch instrumentation: the top-level ``nn.Module`` call.

``torch.nn.Module.__call__`` is wrapped once; the outermost module call is monitored
and every submodule it calls passes straight through (no span, no sketch, one context
variable lookup). Grad mode, ``torch.no_grad`` and inference mode are left as they are.

Data: tensors are read with ``detach()`` and copied to the host at most once each
(CPU tensors not at all): the input (the first positional argument, else the first
keyword argument) when it has at most 2 dimensions, and the outputs (a tensor, or the
tensors of a tuple, list or dict such as a ``ModelOutput``) with at most 2 dimensions.
Inputs of more dimensions (images, sequences of embeddings) give the batch size only.

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


def to_host(value: Any) -> Any:
    """A tensor of at most 2 dimensions as a numpy array (one host copy at most); others as they are.

    A tensor of more dimensions, or a sparse one, becomes a row-only stand-in.
    """
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return value
    if value.ndim > _MAX_DIMS or value.layout != torch.strided:
        return rows_only(value.shape[0]) if value.ndim else None
    tensor = value.detach()
    if tensor.dtype in (torch.bfloat16, torch.float16):
        tensor = tensor.float()  # numpy has no bfloat16; converted on the device, before the copy
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()
    return tensor.resolve_conj().resolve_neg().numpy()


def _outputs(result: Any) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(result, torch.Tensor):
        return to_host(result)
    if isinstance(result, dict):  # ModelOutput is an OrderedDict
        items = [(str(k), v) for k, v in list(result.items())[:_MAX_OUTPUTS]]
    elif isinstance(result, tuple | list):
        items = [(str(i), v) for i, v in enumerate(result[:_MAX_OUTPUTS])]
    else:
        return result
    out = {}
    for key, value in items:
        if torch is not None and isinstance(value, torch.Tensor) and value.ndim <= _MAX_DIMS:
            out[key] = to_host(value)
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
        return to_host(value)

    def read_output(self, model: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        return _outputs(result)
