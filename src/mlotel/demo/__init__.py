"""``mlotel demo``: a monitored model under simulated traffic, with drift halfway, then a report.

It trains a logistic regression on scikit-learn's bundled breast cancer data, profiles the
training data as the drift reference, and serves the model through ``@mlotel.monitor`` from
a few client threads: lognormal "feature lookup" latency, 1 in 64 requests malformed (they
raise ``ValueError``), and from halfway one feature shifted and a new category. Telemetry
goes to the embedded default (OTLP JSON files) unless an OTLP endpoint is configured; with
local files it ends with an HTML report and a terminal summary. See docs/demo.md.
"""

from __future__ import annotations

from mlotel.demo._run import DemoResult, default_export_interval, run_demo
from mlotel.demo._traffic import Tally

__all__ = ["DemoResult", "Tally", "default_export_interval", "run_demo"]
