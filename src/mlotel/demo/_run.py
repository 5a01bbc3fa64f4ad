"""``run_demo``: train, profile, serve simulated traffic with drift halfway, report."""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from mlotel.demo import _model as m
from mlotel.demo._traffic import Tally, Traffic

#: Files an earlier run left in the data directory; moved aside so the report covers this run only.
_OUTPUTS = ("report.html", "reference.json")


@dataclass(frozen=True)
class DemoResult:
    """What a demo run did.

    ``sent`` is what the clients counted. ``data_dir`` is the folder of the local telemetry
    files, None when telemetry went elsewhere (an OTLP endpoint, the application's providers,
    or nowhere). ``report`` is the report's summary (None without local files or plotly).
    """

    sent: Tally
    destination: str
    data_dir: Path | None
    reference_path: Path | None
    report: Any  # mlotel.report.ReportSummary | None
    report_skipped: str | None


def default_export_interval(duration: float) -> float:
    """Seconds between metric exports: 2 s, shorter for short runs so drift has several windows."""
    return min(2.0, max(0.5, duration / 15))


def run_demo(
    *,
    duration: float = 30.0,
    data_dir: str | os.PathLike[str] | None = None,
    threads: int = 4,
    rate: float = 150.0,
    seed: int = 0,
    out: TextIO | None = None,
) -> DemoResult:
    """Run the demo and print its progress and summary to ``out`` (default stdout).

    Telemetry goes where mlotel's configuration says: the embedded default (OTLP JSON files
    in ``data_dir``, else ``$MLOTEL_DATA_DIR``, else ``./mlotel-data``) unless an OTLP
    endpoint or ``OTEL_*_EXPORTER`` is set. The metric export interval is
    :func:`default_export_interval` unless ``OTEL_METRIC_EXPORT_INTERVAL`` is set.
    Telemetry files, ``report.html`` and ``reference.json`` of an earlier run in that folder
    are moved to a subfolder ``earlier-<UTC time>/`` first, never deleted.

    Raises ImportError when scikit-learn is not installed, ValueError for bad arguments.
    """
    import mlotel
    from mlotel import _config, _runtime

    if not (isinstance(duration, int | float) and math.isfinite(duration) and duration > 0):
        raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
    if not (isinstance(threads, int) and 1 <= threads <= 64):
        raise ValueError(f"threads must be an int in [1, 64], got {threads!r}")
    if not (isinstance(rate, int | float) and math.isfinite(rate) and rate > 0):
        raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
    out = out or sys.stdout
    env = os.environ

    def say(line: str = "") -> None:
        print(line, file=out, flush=True)

    started = time.monotonic()
    say("mlotel demo")
    trained = m.train(seed)
    profile = m.build_profile(trained)
    say(
        f"  model      {m.MODEL_NAME} v{m.MODEL_VERSION}: logistic regression on {len(m.FEATURES)} features of "
        f"scikit-learn's breast cancer data ({trained.n_train} training rows, held-out accuracy {trained.accuracy:.1%})"
    )

    interval = None if env.get("OTEL_METRIC_EXPORT_INTERVAL") else default_export_interval(duration)
    service = None if env.get("OTEL_SERVICE_NAME") else "mlotel-demo"
    planned = _config.resolve(service_name=service, export_interval=interval, data_dir=data_dir)
    local = planned.exporters.get("metrics") == "file" and not planned.disabled
    folder = Path(planned.data_dir).resolve()
    reference_path = None
    if local:
        moved = _move_earlier_runs(folder)
        if moved is not None:
            say(f"  note       moved the files of an earlier run to {moved}")
        folder.mkdir(parents=True, exist_ok=True)
        reference_path = folder / "reference.json"
        profile.save(reference_path)
        say(
            f"  reference  {len(profile.features)} features (and a multivariate model of them), labels, "
            f"out-of-fold scores and their calibration -> {reference_path}"
        )

    mlotel.configure(service_name=service, export_interval=interval, data_dir=data_dir)
    runtime = _runtime.active()
    destination = (
        runtime.providers.destination if runtime is not None and runtime.enabled else "nowhere (disabled)"
    )
    owned = runtime is not None and runtime.enabled and runtime.providers.owned
    local = local and owned and getattr(runtime.providers, "owned_parts", (True, True, True))[1]
    say(f"  telemetry  {destination}")
    say(f"  exports    metrics every {runtime.config.export_interval:g} s")

    lookup = random.Random(seed)

    @mlotel.monitor(
        model=m.MODEL_NAME,
        version=m.MODEL_VERSION,
        categorical=[m.CATEGORICAL],
        reference=profile,
        track_outcomes=True,  # the clients report each call's true labels
        task="classification",  # one P(malignant) per row: class 1 above 0.5
    )
    def predict(rows: list[dict[str, Any]]):
        time.sleep(lookup.lognormvariate(math.log(0.003), 0.6))  # the feature-store lookup
        return trained.model.predict_proba(m.to_matrix(rows))[:, 1]

    traffic = Traffic(
        predict, trained.pool, threads=threads, rate=rate, seed=seed, labels=trained.pool_labels
    )
    half = duration / 2
    say(
        f"  traffic    {duration:g} s from {threads} client threads, about {rate:g} requests/s; "
        f"1 in {traffic.error_every} requests malformed; drift injected at {half:g} s"
    )
    t0 = time.monotonic()
    traffic.start()
    drifted = False
    next_progress = 5.0
    while True:
        elapsed = time.monotonic() - t0
        if elapsed >= duration:
            break
        if not drifted and elapsed >= half:
            traffic.inject_drift()
            drifted = True
            say(
                f"  {elapsed:5.1f} s  drift injected: {m.SHIFTED_FEATURE!r} reads {m.SHIFT_FACTOR - 1:.0%} higher, "
                f"new {m.CATEGORICAL} {m.NEW_CLINIC!r} sends {m.NEW_CLINIC_SHARE:.0%} of the rows, "
                f"{m.DECOUPLED_FEATURE!r} no longer matches {m.DECOUPLED_WITH!r} (a join bug)"
            )
        if elapsed >= next_progress:
            now = traffic.progress()
            say(f"  {elapsed:5.1f} s  {now.calls:,} calls, {now.errors:,} errors")
            next_progress += 5.0
        time.sleep(min(0.05, max(0.0, duration - elapsed)))
    sent = traffic.stop()
    mlotel.shutdown()  # the last metric export happens here
    say(
        f"  done       {sent.calls:,} calls ({sent.rows:,} rows), {sent.errors:,} failed, in {time.monotonic() - t0:.1f} s"
    )

    report, skipped = None, None
    if not local:
        skipped = f"telemetry went to {destination}: no local files, so no report (look in your backend)"
    else:
        try:
            from mlotel.report import build_report

            report = build_report(folder, folder / "report.html", reference=profile)
        except ImportError as exc:
            skipped = str(exc)
    say()
    say(_format_summary(sent, report, skipped))
    say(f"(demo took {time.monotonic() - started:.1f} s)")
    return DemoResult(sent, destination, folder if local else None, reference_path, report, skipped)


def _move_earlier_runs(folder: Path) -> Path | None:
    """Move telemetry files and demo outputs already in ``folder`` to a fresh subfolder."""
    if not folder.is_dir():
        return None
    found = [p for p in folder.iterdir() if p.is_file() and (p.suffix == ".jsonl" or p.name in _OUTPUTS)]
    if not found:
        return None
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = folder / f"earlier-{stamp}"
    n = 1
    while target.exists():
        n += 1
        target = folder / f"earlier-{stamp}-{n}"
    target.mkdir()
    for path in found:
        shutil.move(os.fspath(path), os.fspath(target / path.name))
    return target


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e3:.3g} ms"


def _format_summary(sent: Tally, report: Any, skipped: str | None) -> str:
    if report is None:
        rate = sent.errors / sent.calls if sent.calls else math.nan
        return "\n".join(
            [
                "summary (counted by the clients)",
                f"  calls      {sent.calls:,}, {sent.errors:,} errors ({rate:.2%})",
                f"  report     skipped: {skipped}",
            ]
        )
    lines = [
        "summary (from the exported telemetry)",
        f"  calls      {report.calls:,} (the clients sent {sent.calls:,}), "
        f"{report.errors:,} errors ({report.error_rate:.2%})",
        f"  latency    p50 {_ms(report.p50)}, p95 {_ms(report.p95)}, p99 {_ms(report.p99)}",
    ]
    by_subject: dict[str, list[str]] = {}
    for d in report.drifted:
        value = "alert record" if math.isnan(d.value) else f"{d.value:.3g}"
        by_subject.setdefault(d.feature, []).append(f"{d.method} {value}")
    if not by_subject:
        lines.append("  drift      none at the alert level")
    for i, (subject, methods) in enumerate(by_subject.items()):
        label = "  drift      " if i == 0 else "             "
        lines.append(f"{label}{subject}: {', '.join(methods)}")
    # Accuracy here; the report charts every estimated metric against its realized value.
    for line in getattr(report, "performance", ()):
        if line.metric == "accuracy":
            lines.append(f"  quality    {_performance(line)}")
    lines.append(f"  report     {report.path.resolve()}")
    return "\n".join(lines)


def _performance(line: Any) -> str:
    """``accuracy: estimated 0.91 +/- 0.05 (no labels needed), realized 0.90 (from outcomes)``."""

    def num(x: float) -> str:
        return "-" if math.isnan(x) else f"{x:.3g}"

    error = "" if math.isnan(line.error) else f" +/- {line.error:.2g}"
    return (
        f"{line.metric}: estimated {num(line.estimated)}{error} (from the scores alone), "
        f"realized {num(line.realized)} (from the reported labels)"
    )
