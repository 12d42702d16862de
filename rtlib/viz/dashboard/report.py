"""A finished call: its figure, a PNG, a self-contained HTML page, and calls side by side.

Used in: notebooks/12_live_call.ipynb.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Iterable

import numpy as np

from rtlib.viz.dashboard.figure import PANELS, DashboardFigure
from rtlib.viz.dashboard.series import LOSS_WINDOW_S, derive, sample_dict, summarize
from rtlib.viz.style import COLORS, HOUSE_STYLE, label_axes, legend

# -- a finished call: PNG and HTML report ---------------------------------------------------

def load_call(stats) -> tuple[list[dict], dict, dict | None]:
    """``(samples, config, summary)`` of a finished call given as a ``CallStats`` (or anything
    with ``samples``), its JSON text, a path to that JSON, a dict with ``samples``, or a list of samples."""
    summary = None
    if isinstance(stats, Path) or (isinstance(stats, str) and not stats.lstrip().startswith("{")):
        stats = json.loads(Path(stats).read_text())
    elif isinstance(stats, str):
        stats = json.loads(stats)
    if isinstance(stats, dict):
        if "samples" not in stats:
            raise ValueError(f"a call's stats need a 'samples' list; got keys {sorted(stats)}")
        samples, config, summary = stats["samples"], stats.get("config") or {}, stats.get("summary")
    elif isinstance(stats, (list, tuple)):
        samples, config = stats, {}
    elif hasattr(stats, "samples"):
        samples, config = stats.samples, getattr(stats, "config", None) or {}
        if callable(getattr(stats, "summary", None)):
            try:
                summary = stats.summary()
            except Exception:  # noqa: BLE001 - the report has its own table
                summary = None
    else:
        raise ValueError(f"cannot read a call's stats from {type(stats).__name__}")
    rows = [sample_dict(s) for s in samples]
    if not rows:
        raise ValueError("the call has no stats samples")
    if hasattr(config, "to_dict"):
        config = config.to_dict()
    return rows, dict(config), summary


def report_figure(stats, *, title: str | None = None, marks: Iterable[tuple[float, str]] = (),
                  spans: Iterable[tuple[float, float, str]] = ()):
    """The report's figure of a finished call (the dashboard's panels, 120 dpi save resolution)."""
    samples, config, _ = load_call(stats)
    name = title or config.get("name") or config.get("stack") and f"{config['stack']} call" or "call"
    s = summarize(samples)
    dash = DashboardFigure(title=name, dpi=100, width_in=9.0, height_in=10.0, duration_s=s["duration_s"])
    dash.draw(samples, title=f"{name}: {s['duration_s']:.1f} s")
    for m in marks:
        dash.mark(m[0], m[1])
    for t0_s, t1_s, text in spans:
        dash.span(t0_s, t1_s, text)
    return dash.fig


def report_png(stats, path, *, title: str | None = None, marks: Iterable[tuple[float, str]] = (),
               spans: Iterable[tuple[float, float, str]] = ()) -> Path:
    """Write the report figure of a finished call as PNG (``marks``: lines, ``spans``: shaded
    impairment windows, as :meth:`QosDashboard.marks` / :meth:`QosDashboard.spans` give them)."""
    fig = report_figure(stats, title=title, marks=marks, spans=spans)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=HOUSE_STYLE["savefig.dpi"])
    return path


_ROWS = (  # (key, label, unit, scale, format)
    ("duration_s", "duration", "s", 1, ".1f"),
    ("e2e_delay_p50_ms", "end-to-end delay, median", "ms", 1, ".0f"),
    ("e2e_delay_p95_ms", "end-to-end delay, 95th percentile", "ms", 1, ".0f"),
    ("rtt_p50_ms", "round-trip time (RTCP), median", "ms", 1, ".0f"),
    ("jitter_p50_ms", "jitter (RFC 3550), median", "ms", 1, ".1f"),
    ("jitter_p95_ms", "jitter (RFC 3550), 95th percentile", "ms", 1, ".1f"),
    ("loss", "packets lost", "%", 100, ".1f"),
    ("send_kbps_mean", "bitrate sent, mean", "kbit/s", 1, ".0f"),
    ("recv_kbps_mean", "bitrate received, mean", "kbit/s", 1, ".0f"),
    ("fps_mean", "frame rate, mean", "fps", 1, ".1f"),
    ("frames_decoded", "frames decoded", "frames", 1, ".0f"),
    ("freeze_count", "freezes", "", 1, ".0f"),
    ("freeze_s", "time frozen", "s", 1, ".2f"),
    ("stall_rate", "stall rate (time frozen / duration)", "%", 100, ".1f"),
    ("audio_concealed_ms", "audio concealed", "ms", 1, ".0f"),
)


def summary_rows(summary: dict) -> list[tuple[str, str]]:
    """The summary as (label, "value unit") pairs; unknown values read "–"."""
    rows = []
    for key, label, unit, scale, spec in _ROWS:
        v = summary.get(key)
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            text = "–"
        else:
            text = f"{format(v * scale, spec)} {unit}".strip()
        rows.append((label, text))
    return rows


def _config_rows(config: dict) -> list[tuple[str, str]]:
    rows = []
    for k, v in config.items():
        if isinstance(v, dict):
            v = ", ".join(f"{a}={b}" for a, b in v.items())
        rows.append((str(k), str(v)))
    return rows


def report_html(stats, path, *, title: str | None = None, marks: Iterable[tuple[float, str]] = (),
                spans: Iterable[tuple[float, float, str]] = ()) -> Path:
    """Write a self-contained HTML report of a finished call: the figure inline, the summary table.

    No external URL: the PNG is embedded as base64, the style inline, so the file can
    be mailed or handed out as it is.
    """
    samples, config, _ = load_call(stats)
    fig = report_figure({"samples": samples, "config": config}, title=title, marks=marks, spans=spans)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=HOUSE_STYLE["savefig.dpi"])
    png = base64.b64encode(buf.getvalue()).decode("ascii")
    name = title or config.get("name") or "call"
    table = "".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>"
                    for a, b in summary_rows(summarize(samples)))
    conf = "".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td></tr>" for a, b in _config_rows(config))
    conf_html = f"<h2>Configuration</h2><table>{conf}</table>" if conf else ""
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>QoS report: {html.escape(name)}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}th,td{{padding:3px 12px;border-bottom:1px solid #ddd;text-align:left}}
td{{text-align:right;font-variant-numeric:tabular-nums}}img{{max-width:100%}}</style></head>
<body><h1>QoS report: {html.escape(name)}</h1>
<p>{len(samples)} samples, one every {_step_ms(samples):.0f} ms. Delay is measured end to end from time codes in the
video frames; loss, jitter and round-trip time follow RFC 3550; freezes follow W3C webrtc-stats
(an inter-frame gap longer than max(3 &times; mean frame duration, mean + 150 ms)).</p>
<h2>Summary</h2><table>{table}</table>
{conf_html}
<h2>Time series</h2><img alt="QoS time series of the call" src="data:image/png;base64,{png}">
</body></html>
"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


def _step_ms(samples: list[dict]) -> float:
    t = [s["t_s"] for s in samples]
    return 1000.0 * float(np.median(np.diff(t))) if len(t) > 1 else math.nan



def compare_figure(calls: dict, keys: Iterable[str] = ("e2e_delay_ms", "loss_pct", "jitter_ms", "recv_kbps"), *,
                   title: str = "Two runs of one scenario"):
    """Calls side by side, one panel per series of ``keys`` (names of :func:`derive`'s series):
    ``calls`` maps a label ("live", "simulated") to a call (anything :func:`load_call` reads)."""
    from rtlib.viz.style import new_figure

    keys = list(keys)
    ylabels = {s.key: (p.ylabel, s.label) for p in PANELS for s in p.series}
    ylabels.update({"e2e_delay_ms": ("end-to-end [ms]", ""), "rtt_ms": ("RTT [ms]", ""),
                    "send_kbps": ("sent [kbit/s]", ""), "recv_kbps": ("received [kbit/s]", ""),
                    "loss_pct": (f"loss, last {LOSS_WINDOW_S:g} s [%]", "")})
    unknown = [k for k in keys if k not in ylabels]
    if unknown:
        raise ValueError(f"unknown series {unknown}; known: {sorted(ylabels)}")
    fig, axes = new_figure(len(keys), 1, sharex=True, figsize=(8.0, 1.7 * len(keys) + 0.8))
    axes = np.atleast_1d(axes)
    styles = [(COLORS["rtc"], "-"), (COLORS["im"], "--"), (COLORS["good"], ":"), (COLORS["accent"], "-.")]
    series = {label: derive(load_call(call)[0]) for label, call in calls.items()}
    for i, (ax, key) in enumerate(zip(axes, keys)):
        for (label, d), (color, style) in zip(series.items(), styles):
            ax.plot(d["t_s"], d[key], style, color=color, label=label)
        ax.set_ylim(bottom=0)
        label_axes(ax, "call time [s]" if i == len(keys) - 1 else "", ylabels[key][0],
                   unitless=() if i == len(keys) - 1 else ("x",))
        legend(ax)
    axes[0].set_title(title)
    return fig
