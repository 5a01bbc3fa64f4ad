"""The XGBoost versions this instrumentor supports (any one distribution suffices)."""

_instruments = ("xgboost >= 1.6", "xgboost-cpu >= 2.1")
