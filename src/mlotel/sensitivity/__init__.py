"""Offline sensitivity analysis: how much a model's predictions move when each feature varies
within its own (reference) distribution, and how much each feature's effect depends on the
others (the "entanglement" view).

::

    from mlotel.sensitivity import analyze

    report = analyze(model, X_train, categorical=["country"])
    print(report.table())              # features ranked by mean |Δ prediction|
    report.save("sensitivity.json")    # mlotel report ... --sensitivity sensitivity.json

Or from the shell: ``mlotel sensitivity model.pkl train.parquet -o sensitivity.json``.
The method and the JSON format are described in docs/sensitivity.md.
"""

from __future__ import annotations

from mlotel.sensitivity._analyze import MAX_BATCH_ROWS, analyze
from mlotel.sensitivity.report import FORMAT, FORMAT_VERSION, FeatureSensitivity, SensitivityReport

__all__ = ["FORMAT", "FORMAT_VERSION", "MAX_BATCH_ROWS", "FeatureSensitivity", "SensitivityReport", "analyze"]
