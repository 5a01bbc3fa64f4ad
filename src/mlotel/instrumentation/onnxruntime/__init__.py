"""ONNX Runtime instrumentation: ``InferenceSession.run``.

The model's input names are the feature sources: an input of shape ``(n,)`` or
``(n, 1)`` is the feature of that name; one of shape ``(n, k)`` gives features
``name[0]`` .. ``name[k-1]``; inputs of more dimensions are not sketched. The outputs
are sketched by output name (a list of per-row dicts, such as skl2onnx's
probabilities, gives ``name.<key>``).

Identity: ``ml.model.name`` is the model file's stem, else the ONNX graph name;
``ml.model.params.hash`` hashes the model's metadata (producer, graph, domain, version,
custom metadata) and its input and output signature.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from mlotel.instrumentation._base import FrameworkInstrumentor, Patcher, rows_only
from mlotel.instrumentation._identity import Identity, params_hash
from mlotel.instrumentation.onnxruntime.package import _instruments


def _signature(nodes: Any) -> list[tuple[str, Any, str]]:
    return [
        (node.name, list(node.shape) if node.shape is not None else None, str(node.type)) for node in nodes
    ]


def _static_width(shape: Any) -> int | None:
    if shape is None or len(shape) != 2 or not isinstance(shape[1], int):
        return None
    return shape[1]


class OnnxRuntimeInstrumentor(FrameworkInstrumentor):
    """Instruments ``onnxruntime.InferenceSession.run`` (see the module docstring)."""

    framework = "onnxruntime"
    _instruments = _instruments
    _hook_module = "onnxruntime"
    _hooked = False

    def _patch(self, patcher: Patcher) -> None:
        from onnxruntime.capi.onnxruntime_inference_collection import Session

        patcher.wrap(Session, "run", self.monitored_wrapper("predict"))

    def identify(self, model: Any, operation: str) -> Identity:
        meta = model.get_modelmeta()
        inputs = model.get_inputs()
        path = getattr(model, "_model_path", None)
        name = os.path.splitext(os.path.basename(path))[0] if isinstance(path, str) and path else None
        params = {
            "producer": meta.producer_name,
            "graph": meta.graph_name,
            "domain": meta.domain,
            "version": meta.version,
            "metadata": dict(meta.custom_metadata_map),
            "inputs": _signature(inputs),
            "outputs": _signature(model.get_outputs()),
        }
        features = None
        if len(inputs) == 1:  # a single matrix input: its columns, named after it when its width is known
            width = _static_width(inputs[0].shape)
            if width is not None:
                features = (
                    (inputs[0].name,) if width == 1 else tuple(f"{inputs[0].name}[{j}]" for j in range(width))
                )
        return Identity(name or meta.graph_name or type(model).__name__, params_hash(params), features)

    def read_input(self, model: Any, args: tuple, kwargs: dict) -> Any:
        feed = args[1] if len(args) > 1 else kwargs.get("input_feed")
        if not isinstance(feed, dict) or not feed:
            return None
        if len(feed) == 1:
            value = next(iter(feed.values()))
            if isinstance(value, np.ndarray) and value.ndim == 2:
                return value  # named by the identity's features when the model fixes its width
        columns: dict[str, Any] = {}
        n_rows = None
        for name, value in feed.items():
            if not isinstance(value, np.ndarray) or value.ndim == 0:
                continue
            n_rows = value.shape[0] if n_rows is None else n_rows
            if value.ndim == 1 or (value.ndim == 2 and value.shape[1] == 1):
                columns[str(name)] = value.reshape(-1)
            elif value.ndim == 2:
                for j in range(value.shape[1]):
                    columns[f"{name}[{j}]"] = value[:, j]
        if not columns:
            return rows_only(n_rows) if n_rows is not None else None
        return columns

    def read_output(self, model: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        if not isinstance(result, list | tuple):
            return result
        names = args[0] if args else kwargs.get("output_names")
        if not names:
            names = [node.name for node in model.get_outputs()]
        return {str(name): value for name, value in zip(names, result)}
