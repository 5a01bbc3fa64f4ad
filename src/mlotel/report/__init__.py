"""``mlotel report``: one self-contained, offline HTML report from OTLP/JSON telemetry.

::

    summary = mlotel.report.build_report("mlotel-data", "report.html", reference="reference.json")
    print(summary.calls, summary.error_rate, summary.p99, summary.drifted)

Per model version the report shows latency quantiles, throughput and errors over time, each
feature's serving distribution against the training reference, drift over time against its
thresholds, multivariate drift against its bounds, the estimated performance against the
realized one, and the prediction distribution. Charts use plotly (the ``report`` extra:
``pip install 'mlotel[report]'``), embedded inline so the file opens without a network.
See docs/report.md.
"""

from __future__ import annotations

from mlotel.report._build import build_report
from mlotel.report._summary import DriftedFeature, ModelSummary, PerformanceLine, ReportSummary

__all__ = ["DriftedFeature", "ModelSummary", "PerformanceLine", "ReportSummary", "build_report"]
