"""Framework tensors as host numpy arrays: the one place mlotel reads a tensor's values.

The input and output adapters and the torch instrumentor all read tensors here, so a
tensor is read the same way whichever path monitors it (docs/inputs.md, "Tensors").

* torch (any device, ``requires_grad``, inference mode, any strides): ``detach()`` (a
  view: the model's tensor keeps its graph), at most one device-to-host copy, and a
  bfloat16 / float8 result widened to float32 on the host (numpy has no such dtypes;
  widening after the copy moves half the bytes and allocates nothing on the device).
  A CPU tensor is not copied at all: numpy gets a read-only view of it.
* CuPy: ``.get()`` (one copy). JAX, TensorFlow: ``__array__`` / ``.numpy()`` (one copy
  for a device array); ml_dtypes results (bfloat16, float8) widened to float32.
* Anything else: numpy's array protocol (``__array__``, ``__array_interface__``,
  ``__array_struct__``), then DLPack (``__dlpack__``; host memory is viewed, device
  memory is copied only if the producer agrees to), then ``.get()`` / ``.copy_to_host()``
  of a ``__cuda_array_interface__`` object, then ``.numpy()``.

Frameworks are recognised by the module of the object's type: nothing here imports
torch, CuPy, JAX or TensorFlow. The tensor handed in is never modified or moved.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from mlotel.data._frame import UnreadableInput

__all__ = ["is_framework_tensor", "is_tensor", "to_host", "to_host_columns", "top_class"]

# DLPack device types whose memory numpy can read in place: kDLCPU, kDLCUDAHost (pinned).
_HOST_DEVICES = (1, 3)


def is_tensor(obj: object) -> bool:
    """Whether ``obj`` is array data :func:`to_host` can try: a framework tensor or an array-protocol object.

    Looks at the type only (no attribute of ``obj`` itself is evaluated).
    """
    cls = type(obj)
    return (
        hasattr(cls, "__array__")
        or hasattr(cls, "__array_interface__")
        or hasattr(cls, "__array_struct__")
        or hasattr(cls, "__dlpack__")
        or hasattr(cls, "__cuda_array_interface__")
        or _framework(obj) is not None
        or (hasattr(cls, "numpy") and hasattr(cls, "shape") and hasattr(cls, "dtype"))
    )


def to_host(obj: Any) -> np.ndarray:
    """``obj``'s values as a numpy array in host memory, with at most one device-to-host copy.

    Raises :class:`UnreadableInput` (and nothing else) when ``obj`` cannot be read
    (a sparse, nested or meta tensor, a producer refusing every protocol).
    """
    return to_host_columns(obj, None)[0]


def to_host_columns(obj: Any, max_columns: int | None) -> tuple[np.ndarray, int]:
    """Like :func:`to_host`, copying only the first ``max_columns`` columns of a 2-D torch or CuPy array.

    Returns the array and the number of columns left out (on the device, never copied).
    """
    kind = _framework(obj)
    try:
        if kind == "torch":
            array, left_out = _torch(obj, max_columns)
        elif kind == "cupy":
            obj, left_out = _first_columns(obj, max_columns)
            array = obj.get()
        elif kind == "tensorflow" and callable(getattr(obj, "numpy", None)):
            array, left_out = obj.numpy(), 0
        elif kind == "jax":
            array, left_out = np.asarray(obj), 0
        else:
            array, left_out = _protocols(obj), 0
        if not isinstance(array, np.ndarray):
            array = np.asarray(array)
        return _numpy_dtype(array), left_out
    except UnreadableInput:
        raise
    except Exception as exc:  # the framework's own error: a fault of this call, not the model's
        raise UnreadableInput(
            f"{type(obj).__name__} could not be copied to a numpy array: {str(exc)[:200]}"
        ) from exc


def top_class(obj: Any, max_columns: int) -> tuple[np.ndarray, np.ndarray, int] | None:
    """For a 2-D float torch tensor of more than ``max_columns`` columns: the row-wise best score and column.

    Computed on the tensor's device, so only those two columns are copied to the host:
    ``(best as float64, its column index, the number of columns)``. ``None`` for any other
    object, which is then read whole. Ties go to the first column, as ``numpy.argmax``.
    """
    if _framework(obj) != "torch":
        return None
    torch = sys.modules["torch"]
    try:
        if (
            obj.layout != torch.strided
            or obj.is_nested
            or obj.is_quantized
            or obj.ndim != 2
            or obj.shape[1] <= max(max_columns, 1)
            or not obj.is_floating_point()
        ):
            return None  # read whole (or refused) by to_host
        scores = obj.detach()
        winner = scores.argmax(dim=1)
        best = scores.gather(1, winner.unsqueeze(1)).squeeze(1)
        return (
            _torch(best, None)[0].astype(np.float64),
            winner.cpu().numpy().astype(np.intp, copy=False),
            int(obj.shape[1]),
        )
    except UnreadableInput:
        raise
    except Exception as exc:
        raise UnreadableInput(
            f"the best class of a {type(obj).__name__} could not be read: {str(exc)[:200]}"
        ) from exc


def is_framework_tensor(obj: object) -> bool:
    """Whether ``obj`` is a torch, CuPy, JAX or TensorFlow array (positional data, no column names)."""
    return _framework(obj) is not None


def _framework(obj: object) -> str | None:
    """'torch', 'cupy', 'jax' or 'tensorflow' when ``obj`` is that framework's array."""
    module = type(obj).__module__
    if module.startswith("torch"):
        return "torch" if _is_torch_tensor(obj) else None
    if module.startswith("cupy"):
        return "cupy"
    if module.startswith(("jax", "jaxlib")):
        return "jax"
    if module.startswith("tensorflow"):
        return "tensorflow"
    # A torch.Tensor subclass defined outside torch; torch is loaded if one exists.
    return "torch" if "torch" in sys.modules and _is_torch_tensor(obj) else None


def _is_torch_tensor(obj: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _first_columns(obj: Any, max_columns: int | None) -> tuple[Any, int]:
    """A view of the first ``max_columns`` columns of a 2-D array, and how many it leaves out."""
    if max_columns is None or obj.ndim != 2 or obj.shape[1] <= max_columns:
        return obj, 0
    return obj[:, :max_columns], int(obj.shape[1]) - max_columns


def _torch(tensor: Any, max_columns: int | None) -> tuple[np.ndarray, int]:
    torch = sys.modules["torch"]
    if tensor.layout != torch.strided:
        raise UnreadableInput(f"a {tensor.layout} tensor is not read (densify it yourself if meaningful)")
    if tensor.is_nested:
        raise UnreadableInput("a nested tensor has no rows-by-columns reading")
    # detach() is a view without autograd history: the model's tensor keeps requires_grad
    # and its graph; slicing is a view too. Nothing is written or moved.
    tensor, left_out = _first_columns(tensor.detach(), max_columns)
    if tensor.is_quantized:
        tensor = tensor.dequantize()
    if tensor.device.type != "cpu":
        tensor = tensor.cpu()  # the one device-to-host copy (CUDA, MPS, XPU, ...)
    if tensor.is_floating_point() and tensor.dtype not in (torch.float16, torch.float32, torch.float64):
        tensor = tensor.float()  # bfloat16, float8: no numpy dtype; widened on the host copy
    return tensor.resolve_conj().resolve_neg().numpy(), left_out


def _protocols(obj: Any) -> np.ndarray:
    cls = type(obj)
    error: BaseException | None = None
    if hasattr(cls, "__array__") or hasattr(cls, "__array_interface__") or hasattr(cls, "__array_struct__"):
        try:
            return np.asarray(obj)
        except Exception as exc:  # e.g. device memory behind __array__: try the other protocols
            error = exc
    if hasattr(cls, "__dlpack__") and hasattr(cls, "__dlpack_device__"):
        try:
            device_type = int(obj.__dlpack_device__()[0])
            if device_type in _HOST_DEVICES:
                return np.from_dlpack(obj)  # a view: no copy
            # Device memory: DLPack 1.0 producers may copy it to the host on request.
            return np.from_dlpack(obj, device="cpu")
        except Exception as exc:
            error = error or exc
    if hasattr(cls, "__cuda_array_interface__"):
        for method in ("get", "copy_to_host"):  # CuPy-like, Numba device arrays
            copy = getattr(obj, method, None)
            if callable(copy):
                return np.asarray(copy())
    numpy_method = getattr(obj, "numpy", None)
    if callable(numpy_method) and hasattr(cls, "shape") and hasattr(cls, "dtype"):
        return np.asarray(numpy_method())  # TensorFlow-like eager tensors
    raise UnreadableInput(f"{cls.__name__} offers no readable array protocol") from error


def _numpy_dtype(array: np.ndarray) -> np.ndarray:
    # ml_dtypes' bfloat16 / float8 (JAX, TensorFlow) are opaque 'V' dtypes to the sketches.
    if array.dtype.kind == "V" and array.dtype.names is None:
        try:
            return array.astype(np.float32)
        except (TypeError, ValueError):
            return array
    return array
