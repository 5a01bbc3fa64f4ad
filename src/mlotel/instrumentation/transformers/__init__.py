"""Hugging Face transformers instrumentation: ``Pipeline.__call__``.

The pipeline's task (``text-classification``, ...) is the operation. Text inputs are
sketched by length (feature ``text_length``: characters per input string); other
inputs give the batch size only. Outputs that are dicts or lists of dicts (``label``,
``score``, ...) are sketched by key; with ``top_k``, the first (best) entry per input.
The model call inside the pipeline (an instrumented ``nn.Module``) is nested: no second
span. A pipeline given a generator or dataset returns an iterator; only its creation is
timed.

Identity: ``ml.model.name`` is the model's ``name_or_path`` when set, else its class;
``ml.model.params.hash`` hashes the pipeline class, the task and the model config.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlotel.instrumentation._base import FrameworkInstrumentor, Patcher, rows_only, subclasses
from mlotel.instrumentation._identity import Identity, attr, params_hash
from mlotel.instrumentation.transformers.package import _instruments

TEXT_LENGTH = "text_length"
_TEXT_KEYS = ("text", "text_pair", "question", "context")


def _lengths(inputs: Any) -> Any:
    """``{"text_length": lengths}`` for text inputs; a row-only stand-in or None otherwise."""
    if isinstance(inputs, str):
        return {TEXT_LENGTH: np.array([len(inputs)])}
    if isinstance(inputs, dict):
        inputs = [inputs]
    if isinstance(inputs, list | tuple) and inputs:
        texts = []
        for item in inputs:
            if isinstance(item, dict):
                item = next((item[k] for k in _TEXT_KEYS if isinstance(item.get(k), str)), None)
            if not isinstance(item, str):
                return rows_only(len(inputs))
            texts.append(len(item))
        return {TEXT_LENGTH: np.array(texts)}
    return None


def _records(result: Any) -> Any:
    if isinstance(result, dict):
        return [result]
    if isinstance(result, list) and result:
        first = result[0]
        if isinstance(first, dict):
            return result
        if isinstance(first, list) and all(
            isinstance(row, list) and row and isinstance(row[0], dict) for row in result
        ):
            return [row[0] for row in result]  # top_k: the best entry per input
    return None


class TransformersInstrumentor(FrameworkInstrumentor):
    """Instruments transformers pipelines (see the module docstring)."""

    framework = "transformers"
    _instruments = _instruments
    _hook_module = "transformers.pipelines"
    _hooked = False

    def _patch(self, patcher: Patcher) -> None:
        from transformers.pipelines.base import Pipeline

        wrappers = {"__call__": self.monitored_wrapper("predict")}
        for cls in subclasses(Pipeline):
            self.patch_methods(patcher, cls, wrappers)

    def identify(self, model: Any, operation: str) -> Identity:
        inner = attr(model, "model")
        config = attr(inner, "config")
        try:
            config_dict = config.to_dict() if config is not None else None
        except Exception:
            config_dict = None
        task = attr(model, "task") or None
        name = (
            attr(config, "name_or_path") or type(inner).__name__
            if inner is not None
            else type(model).__name__
        )
        params = {"pipeline": type(model).__qualname__, "task": task, "config": config_dict}
        return Identity(str(name), params_hash(params), operation=task if isinstance(task, str) else None)

    def read_input(self, model: Any, args: tuple, kwargs: dict) -> Any:
        return _lengths(args[0] if args else next(iter(kwargs.values()), None))

    def read_output(self, model: Any, args: tuple, kwargs: dict, result: Any) -> Any:
        return _records(result)
