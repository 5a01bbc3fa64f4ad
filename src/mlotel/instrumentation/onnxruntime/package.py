"""The ONNX Runtime versions this instrumentor supports (any one distribution suffices)."""

_instruments = (
    "onnxruntime >= 1.14",
    "onnxruntime-gpu >= 1.14",
    "onnxruntime-directml >= 1.14",
    "onnxruntime-openvino >= 1.14",
)
