"""The PyTorch versions this instrumentor supports."""

_instruments = ("torch >= 2.0",)
