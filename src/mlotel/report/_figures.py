"""Plotly figures of one model's data. Plotly is the optional ``report`` extra, imported lazily."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

import numpy as np

from mlotel.report._analysis import (
    Categories,
    Distribution,
    DriftLine,
    MultivariateLine,
    PerformanceSeries,
    Timeline,
)
from mlotel.sketches import ExponentialHistogram

__all__ = [
    "categories_figure",
    "classes_figure",
    "distribution_figure",
    "drift_figure",
    "error_types_figure",
    "errors_figure",
    "latency_figure",
    "multivariate_figure",
    "performance_figure",
    "require_plotly",
    "throughput_figure",
]

INSTALL_HINT = "mlotel report needs plotly: pip install 'mlotel[report]'"

SERVING = "#1f77b4"
REFERENCE = "#7f7f7f"
WARN = "#ff9900"
ALERT = "#d62728"
REALIZED = "#2ca02c"
BAND = "rgba(31,119,180,0.18)"
_QUANTILE_COLORS = {0.5: "#1f77b4", 0.95: "#ff7f0e", 0.99: "#d62728"}


def require_plotly() -> Any:
    """Import and return ``plotly.graph_objects``; raise ImportError with the install hint."""
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return go


def _figure(title: str, height: int = 320, **layout: Any) -> Any:
    go = require_plotly()
    fig = go.Figure()
    settings = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01, "xanchor": "left"},
        "template": "plotly_white",
        "height": height,
        "margin": {"l": 55, "r": 20, "t": 40, "b": 40},
        "legend": {"orientation": "h", "y": -0.2, "x": 0},
        "hovermode": "x unified",
    }
    settings.update(layout)
    fig.update_layout(**settings)
    return fig


def _times(seconds: np.ndarray) -> list[datetime]:
    # Naive UTC datetimes: plotly.js would drop a timezone anyway; axes say "UTC".
    return [datetime.fromtimestamp(float(s), tz=timezone.utc).replace(tzinfo=None) for s in seconds]


def latency_figure(tl: Timeline) -> Any:
    go = require_plotly()
    fig = _figure("Latency per interval, ms (time in UTC)", yaxis_title="ms", xaxis_title=None)
    x = _times(tl.ends - tl.durations / 2)
    for q, values in tl.quantiles.items():
        fig.add_trace(go.Scatter(x=x, y=values * 1e3, name=f"p{round(q * 100)}", mode="lines+markers",
                                 marker={"size": 4}, line={"color": _QUANTILE_COLORS.get(q)}))  # fmt: skip
    fig.update_yaxes(rangemode="tozero")
    return fig


def throughput_figure(tl: Timeline) -> Any:
    go = require_plotly()
    fig = _figure("Throughput (time in UTC)", yaxis_title="calls/s", xaxis_title=None)
    x = _times(tl.ends - tl.durations / 2)
    fig.add_trace(
        go.Scatter(x=x, y=tl.calls / tl.durations, name="calls/s", mode="lines", line={"color": SERVING})
    )
    if tl.rows is not None:
        fig.add_trace(go.Scatter(x=x, y=tl.rows / tl.durations, name="rows/s", mode="lines",
                                 line={"color": "#2ca02c", "dash": "dot"}, yaxis="y2"))  # fmt: skip
        fig.update_layout(yaxis2={"title": "rows/s", "overlaying": "y", "side": "right", "rangemode": "tozero",
                                  "showgrid": False, "tickmode": "auto"})  # fmt: skip
        fig.update_layout(margin={"r": 55})
    fig.update_yaxes(rangemode="tozero")
    return fig


def errors_figure(tl: Timeline) -> Any:
    go = require_plotly()
    fig = _figure(
        "Errors per interval (time in UTC)", yaxis_title="errors/s", xaxis_title=None, barmode="stack"
    )
    x = _times(tl.ends - tl.durations / 2)
    total = np.zeros_like(tl.calls)
    for etype, counts in tl.errors.items():
        total = total + counts
        fig.add_trace(
            go.Bar(x=x, y=counts / tl.durations, name=etype, opacity=0.75, width=tl.durations * 900)
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(tl.calls > 1e-9, total / tl.calls * 100.0, np.nan)
    fig.add_trace(go.Scatter(x=x, y=rate, name="error rate %", mode="lines+markers", marker={"size": 4},
                             line={"color": ALERT}, yaxis="y2"))  # fmt: skip
    fig.update_layout(
        yaxis2={
            "title": "error rate %",
            "overlaying": "y",
            "side": "right",
            "rangemode": "tozero",
            "showgrid": False,
            "tickmode": "auto",
            "ticksuffix": "%",
        },
        margin={"r": 55},
    )
    return fig


def error_types_figure(errors_by_type: dict[str, float], calls: float) -> Any:
    go = require_plotly()
    items = sorted(errors_by_type.items(), key=lambda kv: kv[1])
    fig = _figure("Errors by error.type", height=max(220, 90 + 28 * len(items)), hovermode="closest")
    fig.add_trace(go.Bar(
        x=[c for _, c in items], y=[k for k, _ in items], orientation="h", marker={"color": ALERT},
        text=[f"{int(c)} ({c / calls:.1%})" if calls else str(int(c)) for _, c in items], textposition="auto",
    ))  # fmt: skip
    fig.update_layout(xaxis_title="failed calls", showlegend=False)
    return fig


# -- distributions -----------------------------------------------------------------------------


def _axis(hists: list[ExponentialHistogram], bins: int) -> tuple[np.ndarray, bool]:
    """Bin edges over the central 99.8% of all ``hists``: log-spaced when every value is positive
    and that range spans more than two decades, equal-width otherwise."""
    combined = hists[0].copy()
    for h in hists[1:]:
        combined.merge(h)
    lo, hi = combined.quantile(0.001), combined.quantile(0.999)
    vmin, vmax = combined.quantile(0.0), combined.quantile(1.0)
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        lo, hi = (vmin, vmax) if vmax > vmin else (vmin - 0.5, vmin + 0.5)
    # Log axis for positive values over many decades, except scores and probabilities in [0, 1].
    if combined.negative.is_empty() and not combined.zero_count and lo > 0 and hi / lo > 100 and vmax > 1:
        return np.geomspace(lo, hi, bins + 1), True
    return np.linspace(lo, hi, bins + 1), False


def distribution_figure(dist: Distribution, title_prefix: str = "") -> Any:
    """Serving (and reference) density over value on common bins.

    Bins are equal-width (density per unit value) or, for positive values spanning more than two
    decades, log-spaced on a log axis (density per unit of log10 value). A bin's mass is the
    difference of :meth:`~mlotel.sketches.ExponentialHistogram.cdf` at its edges: each bucket's
    mass spread log-linearly over the bins it overlaps, nothing outside the observed [min, max].
    """
    go = require_plotly()
    named = [(n, h, c, miss) for n, h, c, miss in (
        ("reference", dist.reference, REFERENCE, dist.reference_missing),
        ("serving", dist.serving, SERVING, dist.missing),
    ) if h is not None and h.count]  # fmt: skip
    fig = _figure(f"{title_prefix}{dist.name}", height=300, hovermode="x unified")
    if not named:
        return fig
    serving_n = dist.serving.count if dist.serving is not None and dist.serving.count else named[0][1].count
    bins = int(min(60, max(10, serving_n / 20)))
    edges, log = _axis([h for _, h, _, _ in named], bins)
    widths = np.diff(np.log10(edges)) if log else np.diff(edges)
    notes = []
    for name, h, color, missing in named:
        density = np.diff(h.cdf(edges)) / widths
        fig.add_trace(go.Scatter(
            x=np.append(edges[:-1], edges[-1]), y=np.append(density, density[-1]),
            name=f"{name} (n={int(h.count):,})", mode="lines", line={"shape": "hv", "color": color, "width": 1.5},
            fill="tozeroy", opacity=0.6,
        ))  # fmt: skip
        if h.zero_count:
            notes.append(f"{name}: {h.zero_count / h.count:.1%} exactly 0")
        if missing:
            notes.append(f"{name}: {int(missing):,} missing")
    fig.update_yaxes(rangemode="tozero", title="density per log10 unit" if log else "density")
    if log:
        fig.update_xaxes(type="log")
    if notes:
        fig.add_annotation(text="; ".join(notes), xref="paper", yref="paper", x=1, y=1.02, showarrow=False,
                           xanchor="right", yanchor="bottom", font={"size": 10, "color": "#555"})  # fmt: skip
    return fig


def _shares(counts: dict[str, float]) -> dict[str, float]:
    n = sum(counts.values())
    return {k: v / n for k, v in counts.items()} if n else {}


def categories_figure(cat: Categories, top: int = 12) -> Any:
    """Share of the most frequent serving (and reference) categories; the rest as "(others)"."""
    go = require_plotly()
    serving, reference = _shares(cat.serving), _shares(cat.reference or {})
    order = sorted(
        set(serving) | set(reference), key=lambda k: (-serving.get(k, 0.0), -reference.get(k, 0.0), k)
    )
    shown = order[:top]
    rest = order[top:]
    fig = _figure(f"{cat.name} (top categories)", height=300, yaxis_title="share", barmode="group",
                  hovermode="closest")  # fmt: skip
    labels = shown + (["(others)"] if rest else [])

    def values(shares: dict[str, float]) -> list[float]:
        return [shares.get(k, 0.0) for k in shown] + ([sum(shares.get(k, 0.0) for k in rest)] if rest else [])

    if reference:
        fig.add_trace(go.Bar(x=labels, y=values(reference), name="reference", marker={"color": REFERENCE}))
    fig.add_trace(go.Bar(x=labels, y=values(serving), name=f"serving (n={int(sum(cat.serving.values())):,})",
                         marker={"color": SERVING}))  # fmt: skip
    fig.update_yaxes(tickformat=".0%")
    return fig


def classes_figure(output: str, counts: dict[str, float], top: int = 15) -> Any:
    go = require_plotly()
    items = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
    n = sum(counts.values())
    fig = _figure(f"Predicted classes: {output}", height=300, yaxis_title="predictions", hovermode="closest")
    fig.add_trace(go.Bar(x=[k for k, _ in items], y=[c for _, c in items], marker={"color": SERVING},
                         text=[f"{c / n:.1%}" for _, c in items], textposition="auto"))  # fmt: skip
    fig.update_layout(showlegend=False)
    return fig


def drift_figure(method: str, lines: list[DriftLine]) -> Any:
    """Drift values of one method over time, one line per feature and window, with the warn
    and alert levels as horizontal lines."""
    go = require_plotly()
    fig = _figure(f"Drift over time: {method} (UTC)", height=340, yaxis_title=method, xaxis_title=None,
                  hovermode="closest")  # fmt: skip
    windows = {line.window for line in lines}
    for line in lines:
        name = line.subject if len(windows) == 1 else f"{line.subject} ({line.window or 'window?'})"
        dash = "dot" if line.window == "interval" and len(windows) > 1 else "solid"
        fig.add_trace(go.Scatter(x=_times(line.times), y=line.values, name=name, mode="lines+markers",
                                 marker={"size": 4}, line={"dash": dash}))  # fmt: skip
    for level, color, label in (
        *((w, WARN, "warn") for w in sorted({ln.warn for ln in lines if ln.warn is not None})),
        *((a, ALERT, "alert") for a in sorted({ln.alert for ln in lines if ln.alert is not None})),
    ):
        fig.add_hline(y=level, line={"color": color, "dash": "dash", "width": 1.5},
                      annotation_text=f"{label} {level:g}", annotation_position="top right",
                      annotation_font={"color": color, "size": 10})  # fmt: skip
    fig.update_yaxes(rangemode="tozero")
    return fig


def _band(fig: Any, x: list[datetime], lo: np.ndarray, hi: np.ndarray, name: str, fill: str) -> None:
    """A shaded band between ``lo`` and ``hi`` (gaps where either is NaN)."""
    go = require_plotly()
    fig.add_trace(go.Scatter(x=x, y=hi, mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip",
                             legendgroup=name))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=fill,
                             name=name, legendgroup=name, hoverinfo="skip"))  # fmt: skip


def multivariate_figure(lines: list[MultivariateLine]) -> Any:
    """``ml.multivariate.drift`` over time: the sliding window's value inside its lower/upper
    band (a value outside it is an alert), the interval values lighter, and 1 (unchanged)."""
    go = require_plotly()
    fig = _figure("Multivariate drift: reconstruction error / reference (UTC)", height=340,
                  yaxis_title="error ratio", xaxis_title=None, hovermode="closest")  # fmt: skip
    for line in sorted(lines, key=lambda ln: ln.window == "sliding"):  # sliding drawn on top
        x = _times(line.times)
        sliding = line.window != "interval"
        label = line.window or "window?"
        if sliding and np.isfinite(line.upper).any():
            _band(fig, x, line.lower, line.upper, f"bounds ({label})", "rgba(214,39,40,0.10)")
        if sliding:
            outside = (line.values > line.upper) | (line.values < line.lower)
            fig.add_trace(go.Scatter(x=x, y=line.values, name=label, mode="lines+markers",
                                     marker={"size": 5, "color": np.where(outside, ALERT, SERVING).tolist()},
                                     line={"color": SERVING}))  # fmt: skip
        else:
            fig.add_trace(go.Scatter(x=x, y=line.values, name=label, mode="markers", opacity=0.45,
                                     marker={"size": 4, "color": SERVING}))  # fmt: skip
    fig.add_hline(y=1.0, line={"color": REFERENCE, "dash": "dot", "width": 1},
                  annotation_text="1 = reference", annotation_position="bottom right",
                  annotation_font={"color": REFERENCE, "size": 10})  # fmt: skip
    fig.update_yaxes(rangemode="tozero")
    return fig


def performance_figure(series: PerformanceSeries) -> Any:
    """One metric over time: the sliding window's estimate with its +/- stated-error band and
    the realized value (from joined outcomes); interval values lighter."""
    go = require_plotly()
    fig = _figure(f"Performance: {series.metric}, estimated vs realized (UTC)", height=340,
                  yaxis_title=series.metric, xaxis_title=None, hovermode="closest")  # fmt: skip
    sliding = "sliding" if "sliding" in series.estimated or "sliding" in series.realized else None
    for window, track in sorted(series.estimated.items(), key=lambda kv: kv[0] == "sliding"):
        x = _times(track.times)
        if window == sliding or sliding is None:
            err = series.error.get(window)
            if err is not None and np.isfinite(err.values).any():
                _band(fig, x, track.values - err.values, track.values + err.values,
                      f"estimate ± error ({window})", BAND)  # fmt: skip
            fig.add_trace(go.Scatter(x=x, y=track.values, name=f"estimated ({window})", mode="lines+markers",
                                     marker={"size": 4}, line={"color": SERVING}))  # fmt: skip
        else:
            fig.add_trace(go.Scatter(x=x, y=track.values, name=f"estimated ({window})", mode="markers",
                                     opacity=0.4, marker={"size": 4, "color": SERVING}))  # fmt: skip
    for window, track in sorted(series.realized.items(), key=lambda kv: kv[0] == "sliding"):
        x = _times(track.times)
        main = window == sliding or sliding is None
        fig.add_trace(go.Scatter(
            x=x, y=track.values, name=f"realized ({window})", mode="lines+markers" if main else "markers",
            opacity=1.0 if main else 0.4, marker={"size": 5 if main else 4, "color": REALIZED, "symbol": "diamond"},
            line={"color": REALIZED},
        ))  # fmt: skip
    if not series.realized:
        fig.add_annotation(text="no realized values (no outcomes joined)", xref="paper", yref="paper", x=1,
                           y=1.02, showarrow=False, xanchor="right", yanchor="bottom",
                           font={"size": 10, "color": "#555"})  # fmt: skip
    return fig
