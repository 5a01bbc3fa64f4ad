"""The scikit-learn versions this instrumentor supports (any one distribution suffices)."""

_instruments = ("scikit-learn >= 1.0",)
