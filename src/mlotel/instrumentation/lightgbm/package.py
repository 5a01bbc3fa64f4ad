"""The LightGBM versions this instrumentor supports."""

_instruments = ("lightgbm >= 3.3",)
