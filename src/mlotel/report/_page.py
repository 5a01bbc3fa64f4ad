"""The HTML page: summary table, then one section of charts per model version.

Self-contained: plotly.js is inlined once (the first chart), no other script, font or style is
fetched, so the file opens offline and can be mailed or attached to a ticket.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from mlotel.report import _figures as figs
from mlotel.report._analysis import ModelData, performance_lines
from mlotel.report._sensitivity import sensitivity_section
from mlotel.version import __version__

__all__ = ["render_page"]

_CSS = """
body{font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:0;
     background:#f4f5f7;color:#222}
header{background:#1d2b3a;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0;font-size:12px;color:#c9d3de}
main{padding:12px 24px 40px}
h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #1d2b3a;padding-bottom:4px}
h3{font-size:14px;margin:18px 0 6px;color:#333}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:6px 0}
th,td{border:1px solid #dde1e6;padding:5px 9px;text-align:right;vertical-align:top}
th{background:#eef1f4} td.l,th.l{text-align:left}
td.bad{color:#b3261e;font-weight:600} td.ok{color:#1e7d32}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:10px}
.card{background:#fff;border:1px solid #dde1e6;border-radius:4px;padding:4px;min-width:0}
.note{font-size:12px;color:#555;margin:4px 0}
"""
_CONFIG = {"displaylogo": False, "responsive": True}


def _ms(seconds: float) -> str:
    return "–" if not math.isfinite(seconds) else f"{seconds * 1e3:.3g}"


def _pct(x: float) -> str:
    return "–" if not math.isfinite(x) else f"{x:.2%}"


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


class _Charts:
    """Turns figures into HTML divs; the first one carries plotly.js."""

    def __init__(self) -> None:
        self.first = True

    def card(self, fig: Any) -> str:
        div = fig.to_html(full_html=False, include_plotlyjs=self.first, config=_CONFIG, default_width="100%")
        self.first = False
        return f'<div class="card">{div}</div>'


def _accuracy_cell(m: ModelData) -> str:
    line = next((p for p in performance_lines(m) if p.metric == "accuracy"), None)
    if line is None:
        return '<td class="l">–</td>'
    estimate = (
        f"{_fmt(line.estimated)} ± {_fmt(line.error)}" if math.isfinite(line.error) else _fmt(line.estimated)
    )
    return f'<td class="l">{estimate} / {_fmt(line.realized)}</td>'


def _summary_table(models: Sequence[ModelData]) -> str:
    performance = any(m.performance for m in models)
    rows = []
    for m in models:
        drifted = (
            ", ".join(f"{html.escape(d.feature)} ({d.method} {d.value:.3g})" for d in m.drifted) or "none"
        )
        rows.append(
            "<tr>"
            f'<td class="l"><a href="#{_anchor(m)}">{html.escape(m.model)}</a></td>'
            f'<td class="l">{html.escape(m.version) or "–"}</td>'
            f"<td>{_num(m.calls)}</td><td>{_num(m.rows)}</td><td>{_num(m.errors)}</td>"
            f'<td class="{"bad" if m.errors else "ok"}">{_pct(m.error_rate)}</td>'
            f"<td>{_ms(m.quantiles.get(0.5, math.nan))}</td><td>{_ms(m.quantiles.get(0.95, math.nan))}</td>"
            f"<td>{_ms(m.quantiles.get(0.99, math.nan))}</td>"
            f'<td class="l {"bad" if m.drifted else "ok"}">{drifted}</td>'
            + (_accuracy_cell(m) if performance else "")
            + "</tr>"
        )
    return (
        "<table><tr><th class='l'>model</th><th class='l'>version</th><th>calls</th><th>rows</th><th>errors</th>"
        "<th>error rate</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th class='l'>drifted (method value)</th>"
        + ("<th class='l'>accuracy estimated / realized</th>" if performance else "")
        + "</tr>"
        + "".join(rows)
        + "</table>"
    )


def _anchor(m: ModelData) -> str:
    return "model-" + "".join(c if c.isalnum() else "-" for c in f"{m.model}-{m.version}")


def _alerts_table(m: ModelData, limit: int = 50) -> str:
    rows = []
    for rec in sorted(m.alerts, key=lambda r: r.time_ns, reverse=True)[:limit]:
        a = rec.attributes
        when = datetime.fromtimestamp(rec.time_ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(
            f'<tr><td class="l">{when}</td><td class="l">{html.escape(_alert_subject(a))}</td>'
            f'<td class="l">{html.escape(str(a.get("ml.drift.method", "")))}</td>'
            f"<td>{html.escape(str(a.get('ml.drift.value', '')))}</td>"
            f"<td>{html.escape(str(a.get('ml.drift.threshold', '')))}</td>"
            f'<td class="l">{html.escape(rec.body)}</td></tr>'
        )
    more = f'<p class="note">latest {limit} of {len(m.alerts)} shown</p>' if len(m.alerts) > limit else ""
    return (
        "<table><tr><th class='l'>time (UTC)</th><th class='l'>feature</th><th class='l'>method</th>"
        "<th>value</th><th>threshold</th><th class='l'>message</th></tr>" + "".join(rows) + "</table>" + more
    )


def _alert_subject(a: Mapping[str, Any]) -> str:
    for key in ("ml.feature.name", "ml.output.name"):
        if key in a:
            return str(a[key])
    return "multivariate" if a.get("ml.drift.method") == "reconstruction" else ""


def _fmt(x: float, spec: str = ".3f") -> str:
    return "–" if not math.isfinite(x) else format(x, spec)


def _performance_table(m: ModelData) -> str:
    rows = "".join(
        f'<tr><td class="l">{html.escape(p.metric)}</td><td>{_fmt(p.estimated)}</td><td>{_fmt(p.error)}</td>'
        f"<td>{_fmt(p.realized)}</td>"
        f"<td>{_fmt(p.realized - p.estimated, '+.3f')}</td></tr>"
        for p in performance_lines(m)
    )
    return (
        "<table><tr><th class='l'>metric</th><th>estimated</th><th>± error</th><th>realized</th>"
        "<th>realized − estimated</th></tr>" + rows + "</table>"
    )


def _faults_table(faults: dict[tuple[str, str], float]) -> str:
    rows = "".join(
        f'<tr><td class="l">{html.escape(kind)}</td><td class="l">{html.escape(err)}</td><td>{_num(n)}</td></tr>'
        for (kind, err), n in sorted(faults.items())
    )
    return (
        "<p class='note'>Faults inside mlotel were caught and skipped; the model calls were unaffected.</p>"
        "<table><tr><th class='l'>mlotel.fault.kind</th><th class='l'>error.type</th><th>count</th></tr>"
        + rows + "</table>"
    )  # fmt: skip


def _resolution_table(m: ModelData) -> str:
    """Per numeric feature and output: the achieved scale of the merged sketch and the relative
    error bound it gives quantiles, so a user sees where ``max_buckets`` should grow."""
    rows = []
    named = [(f.name, f.serving) for f in m.features] + [(f"{o.name} (output)", o.serving) for o in m.outputs]
    for name, h in named:
        if h is None:
            continue
        buckets = len(h.positive) + len(h.negative)
        scale, bound = (str(h.scale), f"{h.relative_error:.2%}") if buckets else ("–", "exact")
        rows.append(
            f'<tr><td class="l">{html.escape(name)}</td><td>{_num(h.count)}</td><td>{scale}</td>'
            f"<td>{buckets}</td><td>{bound}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<h3>Sketch resolution</h3>"
        '<p class="note">Scale of each merged exponential histogram and the bound on the relative '
        "error of its quantiles: (base − 1) / (base + 1) with base = 2^(2^−scale), for mlotel's estimate "
        "(the harmonic mean of the bucket bounds). More buckets give a finer scale: <code>max_buckets</code> "
        "per feature, see docs/accuracy.md.</p>"
        "<table><tr><th class='l'>feature</th><th>values</th><th>scale</th><th>buckets</th>"
        "<th>relative error ≤</th></tr>" + "".join(rows) + "</table>"
    )


def _model_section(m: ModelData, charts: _Charts, max_features: int) -> str:
    out = [f'<h2 id="{_anchor(m)}">{html.escape(m.label)}</h2>']
    source = "spans (no duration metric found)" if m.latency_source == "spans" else "ml.prediction.duration"
    out.append(
        f'<p class="note">{_num(m.calls)} calls, {_num(m.errors)} failed ({_pct(m.error_rate)}); '
        f"latency p50 {_ms(m.quantiles.get(0.5, math.nan))} ms, p95 {_ms(m.quantiles.get(0.95, math.nan))} ms, "
        f"p99 {_ms(m.quantiles.get(0.99, math.nan))} ms (from {source}).</p>"
    )
    cards = []
    if m.timeline is not None:
        cards += [
            charts.card(figs.latency_figure(m.timeline)),
            charts.card(figs.throughput_figure(m.timeline)),
        ]
        if m.timeline.errors:
            cards.append(charts.card(figs.errors_figure(m.timeline)))
    if m.errors_by_type:
        cards.append(charts.card(figs.error_types_figure(m.errors_by_type, m.calls)))
    if cards:
        out.append("<h3>Calls</h3>")
        if not m.errors_by_type:
            out.append('<p class="note">No failed calls.</p>')
        out.append(f'<div class="grid">{"".join(cards)}</div>')

    if m.drift or m.alerts or m.multivariate:
        out.append("<h3>Drift</h3>")
        methods: dict[str, list] = {}
        for line in m.drift:
            methods.setdefault(
                f"{line.method}" + (" (predictions)" if line.kind == "prediction" else ""), []
            ).append(line)
        if methods or m.multivariate:
            out.append('<div class="grid">')
            out += [charts.card(figs.drift_figure(name, lines)) for name, lines in sorted(methods.items())]
            if m.multivariate:
                out.append(charts.card(figs.multivariate_figure(m.multivariate)))
            out.append("</div>")
        if m.multivariate:
            out.append(
                '<p class="note">Multivariate drift (<code>ml.multivariate.drift</code>): the mean '
                "reconstruction error of the served rows over the reference's, 1 = unchanged; outside "
                "the bounds (<code>ml.multivariate.drift.lower</code> / <code>.upper</code>, wider for "
                "fewer rows) the relations between features changed (docs/drift.md).</p>"
            )
        if m.alert_count or m.alerts:
            out.append(f'<p class="note">Drift alerts: {_num(max(m.alert_count, len(m.alerts)))}.</p>')
        if m.alerts:
            out.append(_alerts_table(m))

    if m.performance:
        out.append("<h3>Performance: estimated vs realized</h3>")
        out.append(
            '<p class="note">Estimate from the scores alone (<code>ml.performance.estimated</code>, band '
            "± <code>ml.performance.estimated_error</code>) and the realized value from the outcomes "
            "joined (<code>ml.performance.realized</code>), which lags by the label delay; latest "
            "sliding-window values below (docs/performance.md).</p>"
        )
        out.append(_performance_table(m))
        out.append(
            f'<div class="grid">{"".join(charts.card(figs.performance_figure(s)) for s in m.performance)}</div>'
        )

    drifted = {d.feature for d in m.drifted}
    features = sorted(m.features, key=lambda f: (f.name not in drifted, f.name))
    if features or m.categories:
        out.append("<h3>Features: serving vs reference</h3>")
        if not any(f.reference is not None for f in features) and not any(c.reference for c in m.categories):
            out.append(
                '<p class="note">No reference profile given (<code>--reference</code>): serving only.</p>'
            )
        shown = features[:max_features]
        cards = [charts.card(figs.distribution_figure(f)) for f in shown]
        cards += [charts.card(figs.categories_figure(c)) for c in m.categories[:max_features]]
        out.append(f'<div class="grid">{"".join(cards)}</div>')
        hidden = len(features) - len(shown) + max(0, len(m.categories) - max_features)
        if hidden > 0:
            out.append(f'<p class="note">{hidden} more features not drawn (limit {max_features}).</p>')

    if m.outputs or m.classes:
        out.append("<h3>Predictions</h3>")
        cards = [charts.card(figs.distribution_figure(o, "Prediction: ")) for o in m.outputs]
        cards += [
            charts.card(figs.classes_figure(name, counts)) for name, counts in sorted(m.classes.items())
        ]
        out.append(f'<div class="grid">{"".join(cards)}</div>')

    resolution = _resolution_table(m)
    if resolution:
        out.append(resolution)

    if m.faults:
        out.append("<h3>mlotel faults</h3>" + _faults_table(m.faults))
    return "\n".join(out)


def render_page(
    models: Sequence[ModelData],
    loose_faults: dict[tuple[str, str], float],
    *,
    sources: Sequence[str],
    time_range: tuple[float, float] | None,
    reference: str | None,
    notes: Sequence[str] = (),
    max_features: int = 100,
    sensitivity: Mapping[str, Any] | None = None,
) -> str:
    """The whole HTML document; ``sensitivity`` (a sensitivity report's JSON dict) adds its section."""
    charts = _Charts()
    sections = [_model_section(m, charts, max_features) for m in models]
    when = ""
    if time_range is not None:
        fmt = "%Y-%m-%d %H:%M:%S"
        start, end = (datetime.fromtimestamp(t, tz=timezone.utc).strftime(fmt) for t in time_range)
        when = f" · data {start} – {end} UTC"
    src = ", ".join(html.escape(s) for s in sources)
    ref = f" · reference {html.escape(reference)}" if reference else ""
    body = [
        f"<header><h1>mlotel report</h1><p>{src}{ref}{when} · generated "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC by mlotel {__version__}</p></header><main>"
    ]
    body.append("<h2>Summary</h2>")
    body += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    if models or sources:
        body.append(_summary_table(models) if models else "<p>No model telemetry found.</p>")
    body += sections
    if sensitivity is not None:
        body.append(sensitivity_section(sensitivity, charts.card))
    if loose_faults:
        body.append("<h2>mlotel faults (no model)</h2>" + _faults_table(loose_faults))
    body.append(
        '<p class="note" style="margin-top:30px">Latency quantiles are estimated from the explicit histogram '
        "buckets of ml.prediction.duration (linear within a bucket) and include failed calls. Rates per "
        "interval come from differences of consecutive cumulative points. Feature densities are exact "
        "on the exponential-histogram buckets shown.</p></main>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mlotel report</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
