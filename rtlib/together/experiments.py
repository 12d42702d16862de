"""The figures and the widget of chapter 13's watch-together part.

- :func:`watch_together` (a widget): the same session over the IM machine and over
  the RTC data path, the worst follower's |sync error| against time;
- :func:`error_ccdf_figure`: the share of time each machine leaves a viewer more
  than x ms off, pooled over many sessions (its tail is the story);
- :func:`class_table_markdown`: the online class's live lesson under mesh, SFU and MCU.

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

from rtlib.viz.experiments import Param, experiment

NB = "13_capstone"
COLORS = {"im": "#D55E00", "rtc": "#0072B2"}
LABELS = {"im": "IM machine (store and forward)", "rtc": "RTC data path (direct, unreliable)"}
#: |error| values below this are drawn at it (the log axis has no zero)
FLOOR_MS = 0.1
Y_TICKS_MS = (0.1, 1.0, 10.0, 100.0, 1000.0, 10_000.0, 100_000.0, 1_000_000.0)


def plot_watch_together(result: dict):
    from rtlib.viz import label_axes, legend, new_figure

    fig, ax = new_figure(figsize=(8.5, 4.0))
    for path in ("im", "rtc"):
        r = result[path]
        worst = np.maximum(r.abs_error_ms.max(axis=1), FLOOR_MS)
        p = result["percentiles"][path]
        ax.plot(r.t_s, worst, color=COLORS[path], lw=1.1,
                label=f"{LABELS[path]}: p50 {p[50]:.1f} ms, p99 {p[99]:,.0f} ms")
    for t, cmd, arg in result["rtc"].events:
        ax.axvline(t, color="0.5", lw=0.8, ls=":")
        ax.text(t, 3e6, f" {cmd}" if arg is None else f" {cmd} to {arg:.0f} s", fontsize=8, color="0.3",
                ha="left", va="top")
    ax.set_yscale("log")
    ax.set_ylim(FLOOR_MS, 5e6)
    # fixed ticks in plain numbers: a log axis's default minor ticks and mathtext labels double the drawing time
    ax.yaxis.set_major_locator(FixedLocator(Y_TICKS_MS))
    ax.yaxis.set_major_formatter(FixedFormatter([f"{v:g}" if v < 1 else f"{v:,.0f}" for v in Y_TICKS_MS]))
    ax.yaxis.set_minor_locator(NullLocator())
    label_axes(ax, "time [s]", "worst follower's |sync error| [ms]")
    legend(ax, where="below", ncols=1)
    return fig


@experiment(
    "watch_together",
    plot=plot_watch_together,
    notebook=NB,
    loss_pct=Param(2.0, 0.0, 10.0, 0.5, label="loss", unit="%"),
    jitter_ms=Param(10.0, 0.0, 50.0, 5.0, label="jitter", unit="ms"),
    seek_threshold_ms=Param(400.0, 50.0, 2000.0, 50.0, label="seek beyond", unit="ms"),
    max_adjust_pct=Param(5.0, 1.0, 20.0, 1.0, label="rate bound ±", unit="%"),
    seed=Param(0, 0, 9, 1, label="seed", integer=True),
)
def watch_together(loss_pct, jitter_ms, seek_threshold_ms, max_adjust_pct, seed) -> dict:
    """One scripted session (play, seek, pause, play, seek) among four viewers, over each machine."""
    from rtlib.together.session import run_session

    kw = dict(loss=loss_pct / 100, jitter_ms=jitter_ms, seek_threshold_s=seek_threshold_ms / 1000,
              max_adjust=max_adjust_pct / 100, seed=seed)
    out = {path: run_session(path, **kw) for path in ("im", "rtc")}
    out["percentiles"] = {path: out[path].percentiles() for path in ("im", "rtc")}
    out["settle_s"] = {path: out[path].settle_times_s(50.0) for path in ("im", "rtc")}
    return out


def error_ccdf_figure(comparison: dict):
    """Share of samples with |sync error| above x, per machine (pooled sessions), log-log."""
    from rtlib.viz import label_axes, legend, new_figure

    fig, ax = new_figure(figsize=(7.5, 3.8), layout="constrained")
    for path in ("im", "rtc"):
        a = np.concatenate([r.abs_error_ms[r.t_s >= r.events[0][0]].ravel() for r in comparison[path]["runs"]])
        a = np.sort(np.maximum(a, FLOOR_MS))
        share = 1.0 - np.arange(a.size) / a.size
        ax.step(a, share, where="post", color=COLORS[path], label=LABELS[path])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, 1.2)
    ax.axvline(40.0, color="0.5", ls=":", lw=0.8)
    ax.text(40.0, 2e-4, " one frame at 25 fps", fontsize=8, color="0.3")
    label_axes(ax, "|sync error| x [ms]", "share of time above x (fraction)")
    legend(ax, where="below")
    return fig


def class_table_markdown(**kw) -> str:
    """The live lesson's bandwidth, server CPU and egress cost under each topology, as a Markdown table."""
    from rtlib.together.product import lesson_plan

    rows = ["| topology | teacher up [kbit/s] | student down [kbit/s] | server out [Mbit/s] | server CPU [cores] "
            "| egress [GB/h] | cost [$/h] |", "|---|---:|---:|---:|---:|---:|---:|"]
    for topo in ("mesh", "sfu", "mcu"):
        p = lesson_plan(topo, **kw)
        rows.append(f"| {topo} | {p.teacher_up_kbps:,.0f} | {p.student_down_kbps:,.0f} | {p.server_out_kbps / 1000:,.1f} "
                    f"| {p.server_cpu_cores:.2f} | {p.egress_gb_per_hour:.1f} | {p.cost_per_hour:.2f} |")
    return "\n".join(rows)
