"""read_input / read_output on framework tensors (data/_tensors.py).

Torch runs for real on the CPU (CUDA cases: tests/monitor/test_decorator_cuda.py). CuPy,
JAX and TensorFlow are not installed: their paths are exercised with small objects that
implement the same protocols for real (``__array__``, DLPack through numpy's own
``__dlpack__``, ``.get()`` behind ``__cuda_array_interface__``, ``.numpy()``), some
named like the framework's module so that the dispatch by module name is taken.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlotel.data import UnreadableInput, read_input, read_output
from mlotel.data._tensors import is_tensor, to_host, to_host_columns, top_class
from tests.data.conftest import assert_valid_frame

torch = pytest.importorskip("torch")


def numeric(frame) -> np.ndarray:
    """The frame's numeric columns side by side (rows x columns), after validating it."""
    assert_valid_frame(frame)
    assert not any(c.categorical for c in frame.columns)
    return np.column_stack([c.values for c in frame.columns])


def host(tensor) -> np.ndarray:
    return tensor.detach().cpu().float().numpy().astype(np.float64)


def snapshot(tensor):
    return tensor.detach().clone(), tensor.requires_grad, tensor.grad_fn, tensor.data_ptr(), tensor.stride()


def assert_untouched(tensor, before) -> None:
    values, requires_grad, grad_fn, ptr, stride = before
    assert torch.equal(tensor.detach(), values)
    assert (tensor.requires_grad, tensor.grad_fn, tensor.data_ptr(), tensor.stride()) == (
        requires_grad,
        grad_fn,
        ptr,
        stride,
    )


# -- torch -------------------------------------------------------------------------------


def test_requires_grad_input_and_output():
    torch.manual_seed(0)
    x = torch.randn(50, 4, requires_grad=True)
    out = torch.nn.Linear(4, 3)(x)  # carries a graph
    before_x, before_out = snapshot(x), snapshot(out)
    np.testing.assert_array_equal(numeric(read_input(x)), host(x))
    frame = read_output(out)
    assert [c.name for c in frame.columns] == ["0", "1", "2"]
    np.testing.assert_array_equal(numeric(frame), host(out))
    assert_untouched(x, before_x)
    assert_untouched(out, before_out)
    out.sum().backward()  # the graph is intact
    assert x.grad is not None


def test_cpu_tensors_are_viewed_not_copied():
    t = torch.arange(12, dtype=torch.float64).reshape(4, 3).requires_grad_()
    array = to_host(t)
    assert np.shares_memory(array, t.detach().numpy())
    frame = read_output(t[:, 0])  # float64, contiguous rows: the column is a view of the tensor
    assert np.shares_memory(frame.columns[0].values, t.detach().numpy())
    assert not frame.columns[0].values.flags.writeable


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_reads_as_float(dtype):
    t = torch.randn(40, 3).to(getattr(torch, dtype))
    expected = t.float().numpy().astype(np.float64)  # every half value is exact in float32
    np.testing.assert_array_equal(numeric(read_input(t)), expected)
    np.testing.assert_array_equal(numeric(read_output(t)), expected)
    assert t.dtype == getattr(torch, dtype)


def test_non_contiguous_tensors():
    base = torch.randn(30, 8, requires_grad=True)
    transposed = base.T  # 8 rows x 30 columns, column-major
    sliced = base[::3, 1:6]  # strided rows and columns
    for t in (transposed, sliced):
        assert not t.is_contiguous()
        np.testing.assert_array_equal(numeric(read_input(t)), host(t))
        np.testing.assert_array_equal(numeric(read_output(t[:, :4])), host(t[:, :4]))
    negated = torch.randn(5, 2, dtype=torch.complex64).conj().imag  # a lazily negated view
    assert negated.is_neg()
    np.testing.assert_array_equal(numeric(read_input(negated)), negated.resolve_neg().numpy())


def test_integer_class_ids_are_classes_and_integer_inputs_numbers():
    ids = torch.tensor([0, 2, 2, 1, 0], dtype=torch.int64)
    (column,) = read_output(ids).columns
    assert column.categorical and column.values.tolist() == [0, 2, 2, 1, 0]
    labels = read_output((ids, torch.rand(5, 3)))  # (labels, probabilities)
    assert [(c.name, c.categorical) for c in labels.columns] == [
        ("0", True),
        ("1.0", False),
        ("1.1", False),
        ("1.2", False),
    ]
    frame = read_input(torch.tensor([[1, 2], [3, 4]], dtype=torch.int32))
    assert numeric(frame).tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_inference_mode_tensors_read_outside_it():
    with torch.inference_mode():
        x = torch.randn(20, 3)
        out = x @ torch.randn(3, 2)
    assert x.is_inference() and not torch.is_inference_mode_enabled()
    np.testing.assert_array_equal(numeric(read_input(x)), host(x))
    np.testing.assert_array_equal(numeric(read_output(out)), host(out))


def test_one_dimensional_and_scalar_tensors_follow_the_array_rules():
    v = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    assert read_input(v).n_rows == 1 and len(read_input(v).columns) == 3  # one sample's features
    assert read_input(v, features=["amount"]).n_rows == 3
    assert read_output(v).columns[0].name == "prediction" and read_output(v).n_rows == 3
    frame = read_input(torch.tensor(2.5, requires_grad=True))
    assert frame.n_rows == 1 and frame.columns[0].values.tolist() == [2.5]
    scalars = read_input({"age": torch.tensor(31.0), "kids": torch.tensor(2)})
    assert [(c.name, c.values.tolist()) for c in scalars.columns] == [("age", [31.0]), ("kids", [2.0])]
    columns = read_input({"a": torch.tensor([1.0, 2.0], requires_grad=True), "b": np.array([3.0, 4.0])})
    assert numeric(columns).tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_only_the_sketched_columns_are_copied():
    wide = torch.randn(6, 300)
    array, left_out = to_host_columns(wide, 10)
    assert array.shape == (6, 10) and left_out == 290
    frame = read_input(wide, max_features=10)
    assert frame.dropped_columns == 290 and [c.name for c in frame.columns] == [f"f{j}" for j in range(10)]
    np.testing.assert_array_equal(numeric(frame), host(wide[:, :10]))
    named = read_input(wide, features=[f"x{j}" for j in range(300)], max_features=10)
    assert [c.name for c in named.columns][-1] == "x9" and named.dropped_columns == 290
    with pytest.raises(UnreadableInput, match="3 feature names given for data with 300 columns"):
        read_input(wide, features=["a", "b", "c"], max_features=10)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_many_classes_keep_the_best_score_and_class(dtype):
    torch.manual_seed(1)
    logits = torch.randn(64, 100).to(getattr(torch, dtype))
    logits[3, 7] = logits[3, 9] = 100.0  # a tie: the first column wins, as numpy.argmax
    best = top_class(logits, 32)
    assert best is not None and best[2] == 100
    expected = read_output(logits.float().numpy())  # the numpy path on a host copy
    frame = read_output(logits)
    assert frame.dropped_columns == expected.dropped_columns == 100
    for got, want in zip(frame.columns, expected.columns, strict=True):
        assert (got.name, got.categorical) == (want.name, want.categorical)
        np.testing.assert_array_equal(got.values, want.values)
    assert frame.columns[1].values[3] == 7
    named = read_output(logits, class_names=[f"c{j}" for j in range(100)])
    assert named.columns[1].values[3] == "c7"
    with pytest.raises(UnreadableInput, match="2 class names"):
        read_output(logits, class_names=["a", "b"])
    assert top_class(logits[:, :32], 32) is None  # within the bound: every column is read


def test_tensor_subclasses_are_read():
    parameter = torch.nn.Parameter(torch.randn(4, 2))
    np.testing.assert_array_equal(numeric(read_input(parameter)), host(parameter))

    class Tagged(torch.Tensor):
        pass

    tagged = torch.randn(3, 2).as_subclass(Tagged)
    assert type(tagged).__module__ == __name__
    np.testing.assert_array_equal(numeric(read_input(tagged)), host(tagged))


def test_unreadable_tensors_raise_unreadable_input_only():
    cases = [
        torch.eye(3).to_sparse(),
        torch.nested.nested_tensor([torch.randn(2), torch.randn(3)]),
        torch.empty(3, 2, device="meta"),
        torch.zeros(2, 3, 4),  # 3-D
    ]
    for t in cases:
        with pytest.raises(UnreadableInput):
            read_input(t)
        with pytest.raises(UnreadableInput):
            read_output(t)


# -- other frameworks, through their protocols ----------------------------------------------


class DLPackOnly:
    """Host memory offered through DLPack only (numpy's own ``__dlpack__`` does the work)."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape, self.ndim = self._data.shape, self._data.ndim

    def __dlpack__(self, **kwargs):
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()


class DeviceDLPack(DLPackOnly):
    """Device memory behind DLPack: exported only when the consumer asks for a host copy."""

    def __init__(self, data):
        super().__init__(data)
        self.requests = []

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        self.requests.append(dl_device)
        if dl_device is None or tuple(dl_device) != (1, 0):
            raise BufferError("data on device cuda:0")
        return self._data.copy().__dlpack__(max_version=max_version)

    def __dlpack_device__(self):
        return (2, 0)  # kDLCUDA


class CudaArray:
    """CuPy-like: ``__array__`` refuses implicit conversion, ``.get()`` copies to the host."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape, self.ndim = self._data.shape, self._data.ndim
        self.copied = []

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self._data.dtype.str, "data": (0, False), "version": 3}

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed")

    def __getitem__(self, key):
        view = type(self)(self._data[key])
        view.copied = self.copied  # one log for the array and its views
        return view

    def get(self):
        self.copied.append(self.shape)
        return self._data.copy()


class CupyNamed(CudaArray):
    pass


CupyNamed.__module__ = "cupy._core.core"


class EagerTensor:
    """TensorFlow-like: ``.numpy()``, ``shape``, ``dtype``, no array protocol."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.calls = 0

    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    def numpy(self):
        self.calls += 1
        return self._data.copy()


class TensorflowNamed(EagerTensor):
    def __array__(self, dtype=None, copy=None):
        raise AssertionError("TensorFlow tensors are read with .numpy()")


TensorflowNamed.__module__ = "tensorflow.python.framework.ops"


class JaxNamed:
    """JAX-like: ``__array__`` copies the device buffer to the host (here: a bfloat16 one)."""

    def __init__(self, data):
        self._data = np.asarray(data)
        self.shape, self.ndim = self._data.shape, self._data.ndim

    def __array__(self, dtype=None, copy=None):
        return self._data if dtype is None else self._data.astype(dtype)


JaxNamed.__module__ = "jaxlib.xla_extension"

DATA = np.array([[1.5, -2.0, 3.25], [0.0, 4.5, -1.0], [7.0, 8.0, 9.5]])


def test_dlpack_host_memory_is_viewed():
    source = DLPackOnly(DATA)
    assert is_tensor(source)
    assert np.shares_memory(to_host(source), DATA)
    assert numeric(read_input(source)).tolist() == DATA.tolist()
    assert numeric(read_output(DLPackOnly(DATA[:, 0]))).ravel().tolist() == DATA[:, 0].tolist()


def test_dlpack_device_memory_is_requested_as_a_host_copy():
    source = DeviceDLPack(DATA)
    assert numeric(read_input(source)).tolist() == DATA.tolist()
    assert source.requests == [(1, 0)]  # asked once, for the CPU


@pytest.mark.parametrize("cls", [CudaArray, CupyNamed])
def test_cuda_array_interface_objects_are_copied_once(cls):
    source = cls(DATA)
    assert numeric(read_input(source)).tolist() == DATA.tolist()
    assert source.copied == [(3, 3)]
    labels = cls(np.array([1, 0, 1]))
    (column,) = read_output(labels).columns
    assert column.categorical and column.values.tolist() == [1, 0, 1]


def test_cupy_copies_only_the_sketched_columns():
    source = CupyNamed(np.arange(40.0).reshape(4, 10))
    frame = read_input(source, max_features=3)
    assert source.copied == [(4, 3)] and frame.dropped_columns == 7
    assert numeric(frame).tolist() == np.arange(40.0).reshape(4, 10)[:, :3].tolist()


@pytest.mark.parametrize("cls", [EagerTensor, TensorflowNamed])
def test_numpy_method_tensors(cls):
    source = cls(DATA)
    assert numeric(read_input(source)).tolist() == DATA.tolist()
    assert source.calls == 1


def test_jax_bfloat16_reads_as_float():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    values = DATA.astype(ml_dtypes.bfloat16)
    frame = read_input(JaxNamed(values))
    np.testing.assert_array_equal(numeric(frame), values.astype(np.float32).astype(np.float64))


def test_objects_refusing_every_protocol_are_unreadable():
    class Refuses(CudaArray):
        get = None  # nothing to copy with

    with pytest.raises(UnreadableInput, match="Refuses"):
        read_input(Refuses(DATA))
    assert not is_tensor(object()) and not is_tensor([1, 2]) and not is_tensor("text")
