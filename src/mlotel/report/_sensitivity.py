"""The "Sensitivity" section: a sensitivity report (``mlotel sensitivity -o``, or
``SensitivityReport.save``) drawn as charts and a table.

The report is read as its documented JSON (format ``mlotel.sensitivity_report``, version 1,
docs/sensitivity.md), so this layer does not import :mod:`mlotel.sensitivity`: a path, a
mapping, or any object with ``to_dict()`` will do.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlotel.report._figures import ALERT, SERVING, _figure, require_plotly

__all__ = ["TOP_FEATURES", "load_sensitivity", "sensitivity_section"]

FORMAT = "mlotel.sensitivity_report"
FORMAT_VERSION = 1
#: Features drawn with their partial-dependence curve and ICE band, most sensitive first.
TOP_FEATURES = 8
# Features in the bar and interaction charts, most sensitive first.
_BARS = 30
# Outputs (classes) drawn per partial-dependence chart.
_CURVES = 6
_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def load_sensitivity(source: str | os.PathLike[str] | Mapping[str, Any] | Any) -> dict[str, Any]:
    """The report as its JSON dict. Raises :class:`FileNotFoundError` for a missing file and
    :class:`ValueError` for content that is not a sensitivity report of this format version."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(os.fspath(source))
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path.name}: not a JSON sensitivity report ({exc})") from None
        name = path.name
    elif isinstance(source, Mapping):
        d, name = dict(source), "sensitivity report"
    elif callable(getattr(source, "to_dict", None)):
        d, name = source.to_dict(), "sensitivity report"
    else:
        raise TypeError(
            f"sensitivity must be a path, a dict or a SensitivityReport, got {type(source).__name__}"
        )
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"{name}: not an mlotel sensitivity report (format {got!r}, expected {FORMAT!r})")
    if d.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{name}: format_version {d.get('format_version')!r} is not supported (this mlotel reads {FORMAT_VERSION})"
        )
    if not isinstance(d.get("features"), list) or not all(isinstance(f, dict) for f in d["features"]):
        raise ValueError(f"{name}: field 'features' must be an array of objects")
    return d


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _fmt(value: Any, pct: bool = False) -> str:
    x = _num(value)
    if math.isnan(x):
        return "–"
    if pct:
        return f"{x:.1%}"
    return f"{x:.3g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def bars_figure(report: Mapping[str, Any]) -> Any:
    """Mean |Δ prediction| per feature (with the p95 as a marker), most sensitive on top."""
    go = require_plotly()
    features = report["features"][:_BARS][::-1]
    names = [str(f["name"]) for f in features]
    fig = _figure(
        "Sensitivity: mean |Δ prediction| when the feature is resampled",
        height=max(260, 90 + 22 * len(features)),
        hovermode="closest",
        barmode="overlay",
    )
    fig.add_trace(go.Bar(
        x=[_num(f["mean_abs_change"]) for f in features], y=names, orientation="h", name="mean |Δ|",
        marker={"color": SERVING},
        customdata=[[_fmt(f["p95_abs_change"]), _fmt(f.get("label_change_rate"), pct=True), _fmt(f["interaction"])]
                    for f in features],
        hovertemplate="%{y}: mean |Δ| %{x:.3g}<br>p95 |Δ| %{customdata[0]}<br>label changed "
                      "%{customdata[1]}<br>interaction %{customdata[2]}<extra></extra>",
    ))  # fmt: skip
    fig.add_trace(go.Scatter(
        x=[_num(f["p95_abs_change"]) for f in features], y=names, mode="markers", name="p95 |Δ|",
        marker={"color": ALERT, "symbol": "line-ns-open", "size": 12, "line": {"width": 2}}, hoverinfo="skip",
    ))  # fmt: skip
    fig.update_xaxes(rangemode="tozero", title=_delta_title(report))
    return fig


def interaction_figure(report: Mapping[str, Any]) -> Any:
    """Entanglement: each feature's sensitivity against the share of its effect that depends on
    the other features (variance of the centered ICE curves not explained by the partial
    dependence)."""
    go = require_plotly()
    features = [f for f in report["features"][:_BARS] if f.get("interaction") is not None]
    fig = _figure("Entanglement: how much each feature's effect depends on the others", height=360,
                  hovermode="closest")  # fmt: skip
    fig.add_trace(go.Scatter(
        x=[_num(f["mean_abs_change"]) for f in features], y=[_num(f["interaction"]) for f in features],
        text=[str(f["name"]) for f in features], mode="markers+text", textposition="top center",
        textfont={"size": 10}, marker={"color": SERVING, "size": 9}, showlegend=False,
        hovertemplate="%{text}<br>mean |Δ| %{x:.3g}<br>interaction %{y:.2f}<extra></extra>",
    ))  # fmt: skip
    fig.update_xaxes(rangemode="tozero", title=_delta_title(report))
    fig.update_yaxes(range=[-0.05, 1.1], title="interaction share (0 additive, 1 entangled)")
    return fig


def dependence_figure(report: Mapping[str, Any], feature: Mapping[str, Any]) -> Any:
    """Partial dependence of the analysed outputs on one feature, with the band of the rows'
    individual curves (10th-90th percentile around it)."""
    go = require_plotly()
    outputs = [str(o) for o in report.get("outputs", [])]
    grid = list(feature.get("grid", []))
    numeric = feature.get("kind") == "numeric"
    x = grid if numeric else [str(g) for g in grid]
    title = f"{feature['name']}: partial dependence, ICE band 10–90%"
    fig = _figure(title, height=300, hovermode="x unified", xaxis_title=str(feature["name"]),
                  yaxis_title=_y_title(report))  # fmt: skip
    curves = list(zip(feature["partial_dependence"], feature["band_low"], feature["band_high"]))[:_CURVES]
    for i, (pd, low, high) in enumerate(curves):
        color = _COLORS[i % len(_COLORS)]
        name = outputs[i] if i < len(outputs) else f"output {i}"
        label = f"P({name})" if report.get("task") == "classification" else name
        pd_, low_, high_ = ([_num(v) for v in seq] for seq in (pd, low, high))
        if numeric:
            fig.add_trace(go.Scatter(x=x, y=high_, mode="lines", line={"width": 0, "color": color},
                                     showlegend=False, hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=x, y=low_, mode="lines", line={"width": 0, "color": color}, fill="tonexty",
                                     fillcolor=_rgba(color, 0.18), name=f"{label} ICE 10–90%", hoverinfo="skip"))  # fmt: skip
            fig.add_trace(go.Scatter(x=x, y=pd_, mode="lines+markers", line={"color": color}, marker={"size": 5},
                                     name=f"{label} mean"))  # fmt: skip
        else:
            fig.add_trace(go.Scatter(
                x=x, y=pd_, mode="markers", marker={"color": color, "size": 9}, name=f"{label} mean",
                error_y={"type": "data", "symmetric": False, "array": [h - p for h, p in zip(high_, pd_)],
                         "arrayminus": [p - lo for p, lo in zip(pd_, low_)], "color": color},
            ))  # fmt: skip
    note = f"interaction {_fmt(feature.get('interaction'))}; mean |Δ| {_fmt(feature.get('mean_abs_change'))}"
    if feature.get("missing"):
        note += f"; {int(feature['missing']):,} sampled rows missing"
    fig.add_annotation(text=note, xref="paper", yref="paper", x=1, y=1.02, showarrow=False, xanchor="right",
                       yanchor="bottom", font={"size": 10, "color": "#555"})  # fmt: skip
    return fig


def _rgba(color: str, alpha: float) -> str:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _delta_title(report: Mapping[str, Any]) -> str:
    return "|Δ probability|" if report.get("task") == "classification" else "|Δ prediction|"


def _y_title(report: Mapping[str, Any]) -> str:
    return "mean probability" if report.get("task") == "classification" else "mean prediction"


def _table(report: Mapping[str, Any]) -> str:
    classifier = report.get("task") == "classification"
    head = ["rank", "feature", "kind", "mean |Δ|", "p95 |Δ|", *(["label Δ"] if classifier else []),
            "PD range", "interaction", "missing"]  # fmt: skip
    rows = []
    for i, f in enumerate(report["features"], 1):
        cells = [str(i), f'<td class="l">{html.escape(str(f["name"]))}</td>', f'<td class="l">{html.escape(str(f["kind"]))}</td>',
                 _fmt(f["mean_abs_change"]), _fmt(f["p95_abs_change"])]  # fmt: skip
        if classifier:
            cells.append(_fmt(f.get("label_change_rate"), pct=True))
        inter = _num(f["interaction"])
        cells += [
            _fmt(f["pd_range"]),
            "–" if math.isnan(inter) else f"{inter:.2f}",
            str(int(f.get("missing", 0))),
        ]
        rows.append("<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "".join(f'<th class="l">{h}</th>' if h in ("feature", "kind") else f"<th>{h}</th>" for h in head)
    return f'<table class="sensitivity"><tr>{header}</tr>{"".join(rows)}</table>'


def sensitivity_section(report: Mapping[str, Any], card: Any, top: int = TOP_FEATURES) -> str:
    """The section's HTML; ``card(fig)`` turns a figure into an HTML card."""
    features: Sequence[Mapping[str, Any]] = report["features"]
    outputs = ", ".join(str(o) for o in report.get("outputs", []))
    out = ['<h2 id="sensitivity">Sensitivity</h2>']
    out.append(
        f'<p class="note">{html.escape(str(report.get("model", "model")))} '
        f"({html.escape(str(report.get('response_method', '')))}: {html.escape(outputs)}), "
        f"{int(report.get('n_sample', 0)):,} of {int(report.get('n_rows', 0)):,} reference rows, grid "
        f"{report.get('grid_size')}, seed {report.get('seed')}. Δ is the change of each row's "
        f"{'predicted probabilities (total variation)' if report.get('task') == 'classification' else 'prediction'} "
        "when the feature is replaced by a permutation of itself (resampled from its own distribution); "
        "the interaction share is the part of the rows' centered individual curves the partial dependence "
        "does not explain (docs/sensitivity.md).</p>"
    )
    if not features:
        out.append('<p class="note">No features analysed.</p>')
        return "\n".join(out)
    cards = [card(bars_figure(report)), card(interaction_figure(report))]
    cards += [card(dependence_figure(report, f)) for f in features[:top] if f.get("grid")]
    out.append(f'<div class="grid">{"".join(cards)}</div>')
    if len(features) > top:
        out.append(
            f'<p class="note">Partial dependence drawn for the top {top} of {len(features)} features.</p>'
        )
    out.append(_table(report))
    return "\n".join(out)
