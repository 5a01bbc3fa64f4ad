"""``mlotel report`` states each feature's achieved scale and quantile relative-error bound."""

from __future__ import annotations

import html
import json
import re
import textwrap

import numpy as np
import pytest

from mlotel.report import build_report
from mlotel.sketches import ExponentialHistogram
from tests.apps import run_app
from tests.report.otlp_lines import attrs, exponential_line, write_lines

pytest.importorskip("plotly")


def _bound(scale: int) -> float:
    base = 2.0 ** (2.0**-scale)
    return (base - 1) / (base + 1)


def _rows(page: str) -> dict[str, list[str]]:
    """Cells of the "Sketch resolution" table, by feature."""
    section = page.split("<h3>Sketch resolution</h3>", 1)[1].split("</table>", 1)[0]
    out = {}
    for row in re.findall(r"<tr>(.*?)</tr>", section)[1:]:
        cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        out[cells[0]] = cells[1:]
    return out


def _point(values: np.ndarray, size: int, **attributes: str) -> dict:
    h = ExponentialHistogram(max_size=size)
    h.update(values)
    return {
        "attributes": attrs(**attributes),
        "startTimeUnixNano": "1700000000000000000",
        "timeUnixNano": "1700000060000000000",
        "count": str(h.count),
        "sum": h.sum,
        "scale": h.scale,
        "zeroCount": str(h.zero_count),
        "positive": {"offset": h.positive.offset, "bucketCounts": [str(c) for c in h.positive.counts]},
        "negative": {"offset": h.negative.offset, "bucketCounts": [str(c) for c in h.negative.counts]},
        "min": h.min,
        "max": h.max,
    }


def test_scale_and_bound_per_feature_from_written_points(tmp_path):
    rng = np.random.default_rng(2)
    wide, narrow = rng.normal(size=10_000), rng.uniform(1, 2, 10_000)
    model = {"ml_model_name": "fraud", "ml_model_version": "1"}
    points = [
        _point(wide, 160, ml_feature_name="wide", **model),
        _point(wide, 640, ml_feature_name="wide_fine", **model),
        _point(narrow, 160, ml_feature_name="narrow", **model),
    ]
    lines = write_lines(tmp_path / "metrics.jsonl", [exponential_line("ml.feature.value", points)])
    build_report(lines, tmp_path / "r.html")
    rows = _rows((tmp_path / "r.html").read_text(encoding="utf-8"))
    for name, values, size in (("wide", wide, 160), ("wide_fine", wide, 640), ("narrow", narrow, 160)):
        h = ExponentialHistogram(max_size=size)
        h.update(values)
        count, scale, buckets, bound = rows[name]
        assert (count, int(scale), int(buckets)) == ("10,000", h.scale, len(h.positive) + len(h.negative))
        assert bound == f"{_bound(h.scale):.2%}"
    assert int(rows["wide_fine"][1]) > int(rows["wide"][1])  # 640 buckets: a finer scale


def test_report_of_a_monitored_model_with_per_feature_buckets(tmp_path):
    app = textwrap.dedent(
        """
        import numpy as np
        import mlotel

        @mlotel.monitor(model="m", features=["income", "age"], max_buckets={"income": 640})
        def predict(X):
            return X[:, 1]

        rng = np.random.default_rng(0)
        for _ in range(20):
            predict(rng.normal(size=(500, 2)))
        """
    )
    data = tmp_path / "data"
    run_app(app, {"MLOTEL_DATA_DIR": str(data)}, timeout=120)
    # The scales exported, read straight from the OTLP/JSON lines.
    exported = {}
    for line in (data / "metrics.jsonl").read_text().splitlines():
        for rm in json.loads(line)["resourceMetrics"]:
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    if m["name"] == "ml.feature.value":
                        for p in m["exponentialHistogram"]["dataPoints"]:
                            name = next(
                                a["value"]["stringValue"]
                                for a in p["attributes"]
                                if a["key"] == "ml.feature.name"
                            )
                            exported[name] = p.get("scale", 0)
    build_report(data, tmp_path / "r.html")
    rows = _rows((tmp_path / "r.html").read_text(encoding="utf-8"))
    assert int(rows["income"][1]) == exported["income"] > int(rows["age"][1]) == exported["age"]
    assert rows["income"][3] == f"{_bound(exported['income']):.2%}"
    assert "prediction (output)" in rows
