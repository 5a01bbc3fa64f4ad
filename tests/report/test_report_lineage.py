"""``mlotel report --reference``: the reference's lineage, and a feedback-loop note for a model
that served the reference's rows itself."""

from __future__ import annotations

import pytest

import mlotel
from tests.drift.test_lineage import _frame, _serve

pytest.importorskip("plotly")


def test_report_notes_the_lineage_and_the_feedback_loop(tmp_path):
    from mlotel.report import build_report

    data_dir = tmp_path / "mlotel-data"
    _serve(data_dir, "fraud", "3", [_frame(50, s) for s in range(3)])
    reference = mlotel.build_reference(_frame(400, 9), source="served", model="fraud", version="2")
    reference.save(tmp_path / "ref.json")
    build_report(data_dir, tmp_path / "report.html", reference=tmp_path / "ref.json")
    page = (tmp_path / "report.html").read_text()
    assert (
        "Reference lineage: served predictions: 400 of 400 rows (100.0%) by model &#x27;fraud&#x27; version 2"
        in page
    )
    assert (
        "Feedback loop: 100.0% of the reference rows are predictions model &#x27;fraud&#x27; served itself"
        in page
    )

    plain = tmp_path / "plain.json"
    mlotel.build_reference(_frame(400, 9)).save(plain)
    build_report(data_dir, tmp_path / "plain.html", reference=plain)
    assert "Reference lineage" not in (tmp_path / "plain.html").read_text()
