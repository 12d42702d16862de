"""The QoS dashboard: a call's latency, loss, jitter, bitrate, frame rate and stall rate.

What an operations team watches for every call, drawn from the samples a stats
collector takes every 250 ms (:class:`rtlib.live.stats.StatsSample`, or the plain
dicts of its ``to_dict``).  Six panels share one time axis, so an impairment's marker
lines up with the moment each metric answers it::

    end-to-end delay [ms]   measured glass to glass (a time code in each frame), and the RTT from RTCP
    loss [%]                over the last second, from the receiver's cumulative counters (RFC 3550 6.4.1)
    jitter [ms]             RFC 3550 interarrival jitter (section 6.4.1, A.8), as the receiver reports it
    bitrate [kbit/s]        sent and received
    frame rate [fps]        frames decoded per second
    stall rate [%]          share of the call so far spent frozen (W3C webrtc-stats totalFreezesDuration,
                            plus a freeze still in progress)

- :class:`QosDashboard` is the live view.  Give its :meth:`~QosDashboard.update` to a
  call as ``on_sample``: a sample is appended in microseconds, and the figure is
  redrawn at most every ``refresh_s`` on the house's redraw worker
  (:class:`rtlib.viz.widgets.Redrawer`), off the call's event loop; the figure and its
  lines are made once and only their data change.  With a relay it shows impairment
  sliders beside the figure that set ``relay.set(direction, ...)`` while the call
  runs, and marks each change on every panel (:meth:`~QosDashboard.apply` does the
  same from code, :meth:`~QosDashboard.play` runs a timed list of changes).
- :func:`report_png` and :func:`report_html` turn a finished call (a ``CallStats``, its
  JSON, or the plain dicts) into a figure and a self-contained HTML page (the PNG
  inline, a summary table, no external URL) that an instructor can hand out.
- :func:`summarize` is the table's arithmetic: p50/p95 where a distribution matters.

Stall rate: a freeze is an inter-frame gap longer than max(3 × mean frame duration,
mean + 150 ms) (W3C *Identifiers for WebRTC's Statistics API*, ``freezeCount`` and
``totalFreezesDuration``); the stall rate is the frozen share of the time so far.  A
freeze is counted when the next frame arrives, so an outage's freeze shows when the
picture comes back, not while it is gone.

Used in: notebooks/12_live_call.ipynb.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from rtlib.viz.style import COLORS, HOUSE_STYLE, label_axes, legend

# The fields of a stats sample the dashboard reads (rtlib.live.stats.StatsSample); any may be None.
SAMPLE_FIELDS = ("t_s", "rtt_ms", "jitter_ms", "loss_fraction", "packets_lost", "packets_received", "send_kbps",
                 "recv_kbps", "frames_decoded", "fps", "freeze_count", "freeze_s", "e2e_delay_ms",
                 "audio_concealed_ms")

#: How far back the loss panel looks (s): loss is the share of packets missing in this window.
LOSS_WINDOW_S = 1.0


@dataclass(frozen=True)
class Series:
    key: str      # a derived series name (see derive())
    label: str
    color: str
    style: str = "-"


@dataclass(frozen=True)
class Panel:
    name: str
    ylabel: str
    series: tuple[Series, ...]
    min_top: float  # the y axis shows at least [0, min_top]: noise does not look like a fault, and a
    # clean call never grows an axis (each growth redraws the whole figure, see DashboardFigure)
    max_top: float = math.inf  # and at most [0, max_top] (a share cannot pass 100 %)


PANELS: tuple[Panel, ...] = (
    Panel("latency", "delay [ms]", (Series("e2e_delay_ms", "end-to-end (measured)", COLORS["rtc"]),
                                    Series("rtt_ms", "round trip (RTCP)", COLORS["im"], "--")), 200.0),
    Panel("loss", "loss [%]", (Series("loss_pct", f"last {LOSS_WINDOW_S:g} s", COLORS["bad"]),), 5.0, 100.0),
    Panel("jitter", "jitter [ms]", (Series("jitter_ms", "RFC 3550 jitter", COLORS["good"]),), 10.0),
    Panel("bitrate", "bitrate [kbit/s]", (Series("send_kbps", "sent", COLORS["sky"], "--"),
                                          Series("recv_kbps", "received", COLORS["rtc"])), 2000.0),
    Panel("fps", "frame rate [fps]", (Series("fps", "decoded", COLORS["accent"]),), 40.0),
    Panel("stall", "stall rate [%]", (Series("stall_pct", "frozen so far\n(with a freeze\nin progress)", COLORS["neutral"]),), 5.0, 100.0),
)

#: The sliders beside the live dashboard: parameter -> (label, low, high, step, unit).
SLIDERS = {
    "delay_ms": ("delay", 0.0, 400.0, 10.0, "ms"),
    "jitter_ms": ("jitter", 0.0, 100.0, 5.0, "ms"),
    "loss": ("loss", 0.0, 0.5, 0.01, "fraction"),
    "burst_len": ("mean burst", 1.0, 10.0, 0.5, "packets"),
    "rate_kbps": ("rate cap (0 = none)", 0.0, 3000.0, 50.0, "kbit/s"),
}


# -- samples in, series out ------------------------------------------------------------------

def sample_dict(sample) -> dict:
    """One sample as a plain dict (a ``StatsSample``, anything with ``to_dict``, or a dict)."""
    if isinstance(sample, dict):
        d = sample
    elif hasattr(sample, "to_dict"):
        d = sample.to_dict()
    else:
        raise ValueError(f"a stats sample must be a dict or have to_dict(), got {type(sample).__name__}")
    if d.get("t_s") is None:
        raise ValueError(f"a stats sample needs its time t_s (s since the call started), got {d!r}")
    return d


def _column(samples: list[dict], key: str) -> np.ndarray:
    return np.array([np.nan if s.get(key) is None else float(s[key]) for s in samples], dtype=float)


def derive(samples: list[dict]) -> dict[str, np.ndarray]:
    """The plotted series of a list of sample dicts (one value per sample, NaN when unknown).

    ``loss_pct``: packets missing over the last :data:`LOSS_WINDOW_S`, from the
    cumulative ``packets_lost`` / ``packets_received`` (the receiver's view, RFC 3550
    A.3); where those are unknown, the reported ``loss_fraction``.  ``stall_pct``: the
    cumulative ``freeze_s``, plus a freeze still in progress (:func:`ongoing_freeze_s`),
    over the time so far.
    """
    t = _column(samples, "t_s")
    out = {k: _column(samples, k) for k in ("e2e_delay_ms", "rtt_ms", "jitter_ms", "send_kbps", "recv_kbps", "fps")}
    out["t_s"] = t
    lost, got = _column(samples, "packets_lost"), _column(samples, "packets_received")
    loss = _column(samples, "loss_fraction") * 100.0
    if t.size:
        back = np.searchsorted(t, t - LOSS_WINDOW_S, side="left")
        d_lost, d_got = lost - lost[back], got - got[back]
        total = d_lost + d_got
        with np.errstate(invalid="ignore", divide="ignore"):
            window = np.where(total > 0, 100.0 * np.clip(d_lost, 0, None) / total, np.nan)
        # the first sample has no window behind it: count from the start of the call
        with np.errstate(invalid="ignore", divide="ignore"):
            start = np.where(lost + got > 0, 100.0 * np.clip(lost, 0, None) / (lost + got), np.nan)
        window = np.where(back == np.arange(t.size), start, window)
        loss = np.where(np.isfinite(window), window, loss)
    out["loss_pct"] = loss
    freeze = _column(samples, "freeze_s") + ongoing_freeze_s(t, _column(samples, "frames_decoded"))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["stall_pct"] = np.where(t > 0, 100.0 * freeze / t, np.nan)
    out["freeze_count"] = _column(samples, "freeze_count")
    return out


#: No frame decoded for this long (s) while the call runs: the picture is frozen now.
ONGOING_FREEZE_S = 0.5


def ongoing_freeze_s(t_s: np.ndarray, frames_decoded: np.ndarray) -> np.ndarray:
    """At each sample, how long the picture has been frozen *so far* (0 when it is moving).

    W3C's ``totalFreezesDuration`` counts a freeze when the next frame arrives, so
    during an outage it stays flat and jumps when the picture returns.  A player's
    user sees the freeze while it lasts; so does the dashboard: no new decoded frame
    for :data:`ONGOING_FREEZE_S` or more is a freeze in progress, counted from the
    last sample that brought a frame.  When it ends, W3C's count takes over.
    """
    out = np.zeros(t_s.shape)
    last_t = 0.0
    prev = -math.inf
    for i, (t, f) in enumerate(zip(t_s, frames_decoded)):
        if not math.isfinite(f):
            continue
        if f > prev:
            last_t, prev = t, f
        elif t - last_t >= ONGOING_FREEZE_S:
            out[i] = t - last_t
    return out


def _top(values: np.ndarray, min_top: float) -> float:
    finite = values[np.isfinite(values)]
    peak = float(finite.max()) if finite.size else 0.0
    return max(min_top, peak * 1.15)


def _percentile(x: np.ndarray, q: float) -> float:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else math.nan


def summarize(samples: Iterable) -> dict:
    """A finished call in numbers: the rows of the report's table.

    Durations in s, delays in ms (p50 and p95 over the samples), loss as a fraction
    of the packets (from the last cumulative counters, else the mean reported
    fraction), bitrates in kbit/s (mean), frame rate in fps (mean), freezes as
    counted by the receiver, stall rate = frozen share of the call.
    """
    rows = [sample_dict(s) for s in samples]
    if not rows:
        raise ValueError("summarize needs at least one stats sample")
    d = derive(rows)
    t = d["t_s"]
    last = rows[-1]
    lost, got = last.get("packets_lost"), last.get("packets_received")
    if lost is not None and got is not None and lost + got > 0:
        loss = max(lost, 0) / (lost + got)
    else:
        loss = float(np.nanmean(_column(rows, "loss_fraction"))) if any(r.get("loss_fraction") is not None for r in rows) else math.nan
    freeze_s = last.get("freeze_s")
    duration = float(t[-1]) if t.size else math.nan

    def mean(key):
        v = d[key][np.isfinite(d[key])]
        return float(v.mean()) if v.size else math.nan

    return {
        "duration_s": duration,
        "e2e_delay_p50_ms": _percentile(d["e2e_delay_ms"], 50), "e2e_delay_p95_ms": _percentile(d["e2e_delay_ms"], 95),
        "rtt_p50_ms": _percentile(d["rtt_ms"], 50),
        "jitter_p50_ms": _percentile(d["jitter_ms"], 50), "jitter_p95_ms": _percentile(d["jitter_ms"], 95),
        "loss": float(loss),
        "send_kbps_mean": mean("send_kbps"), "recv_kbps_mean": mean("recv_kbps"),
        "fps_mean": mean("fps"),
        "frames_decoded": last.get("frames_decoded"),
        "freeze_count": last.get("freeze_count"),
        "freeze_s": freeze_s,
        "stall_rate": (freeze_s / duration) if freeze_s is not None and duration > 0 else math.nan,
        "audio_concealed_ms": last.get("audio_concealed_ms"),
    }


# -- the figure: made once, its lines updated ----------------------------------------------

def nice_top(needed: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k at or above ``needed`` (an axis end that reads well)."""
    if not math.isfinite(needed) or needed <= 0:
        return 1.0
    k = math.floor(math.log10(needed))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if m * 10 ** k >= needed * (1 - 1e-9):
            return m * 10 ** k
    return 10.0 ** (k + 1)  # pragma: no cover


class DashboardFigure:
    """The six panels, their lines and markers, made once; :meth:`draw` only sets data and limits.

    A plain :class:`matplotlib.figure.Figure` (not pyplot's), so the inline backend
    never shows it by itself, with fixed margins (no layout pass per redraw) and the
    legends outside the axes on the right (:func:`rtlib.viz.legend`), clear of data.

    ``live=True`` makes redraws cheap by blitting: axes, ticks, legends and markers are
    drawn once into a background, and each :meth:`png` only restores it and draws the
    lines and the title over it.  The background is drawn again only when a limit
    grows (axes ends move in steps of :func:`nice_top`, and never shrink during a
    call) or a marker is added.  ``duration_s`` fixes the time axis to the call's
    length; without it the axis grows in steps of 10 s.
    """

    def __init__(self, *, title: str = "QoS dashboard", width_in: float = 9.0, height_in: float = 9.0,
                 dpi: float = 72.0, duration_s: float | None = None, live: bool = False):
        import matplotlib as mpl
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        if duration_s is not None and not (isinstance(duration_s, (int, float)) and 0 < duration_s <= 3600):
            raise ValueError(f"duration_s must be in (0, 3600] s or None, got {duration_s!r}")
        self.live, self.duration_s = live, duration_s
        with mpl.rc_context({**HOUSE_STYLE, "figure.constrained_layout.use": False}):
            self.fig = Figure(figsize=(width_in, height_in), dpi=dpi)
            FigureCanvasAgg(self.fig)
            axes = self.fig.subplots(len(PANELS), 1, sharex=True)
            self.fig.subplots_adjust(left=0.1, right=0.75, top=0.92, bottom=0.06, hspace=0.32)
            self.title = self.fig.suptitle(title, fontsize=13, fontweight="bold", animated=live)
            self.axes = dict(zip((p.name for p in PANELS), axes))
            self.lines: dict[str, Any] = {}
            for panel, ax in zip(PANELS, axes):
                for s in panel.series:
                    (self.lines[s.key],) = ax.plot([], [], s.style, color=s.color, label=s.label, lw=1.6,
                                                   animated=live)
                ax.set_ylim(0, panel.min_top)
                label_axes(ax, "call time [s]" if panel is PANELS[-1] else "", panel.ylabel,
                           unitless=() if panel is PANELS[-1] else ("x",))
                legend(ax, where="outside")
            self.freeze_marks = self.axes["stall"].plot([], [], "x", color=COLORS["bad"], ms=7,
                                                        label="freeze counted", animated=live)[0]
            legend(self.axes["stall"], where="outside")
            self.axes["latency"].set_xlim(0, duration_s or 10.0)
        self.marks: list[tuple[float, str, int]] = []
        self.spans: list[tuple[float, float, str]] = []
        self._tops = {p.name: p.min_top for p in PANELS}
        self._background = None
        self.full_draws = 0  # how often the whole figure was drawn (about 150 ms each; a blit is 5 ms)

    def mark(self, t_s: float, text: str) -> None:
        """A vertical line at ``t_s`` on every panel, ``text`` above the top one (staggered
        in two rows, so neighbouring markers' texts do not overlap)."""
        row = 1 if self.marks and t_s - self.marks[-1][0] < 0.15 * np.diff(self.axes["latency"].get_xlim())[0] \
            and self.marks[-1][2] == 0 else 0
        self.marks.append((float(t_s), str(text), row))
        for ax in self.axes.values():
            ax.axvline(t_s, color=COLORS["neutral"], lw=1, ls=":", zorder=0)
        self.axes["latency"].annotate(
            text, xy=(t_s, 1.0), xycoords=("data", "axes fraction"), xytext=(2, 2 + 11 * row),
            textcoords="offset points", fontsize=8, color=COLORS["neutral"], va="bottom", ha="left",
            annotation_clip=False)
        self._background = None

    def span(self, t0_s: float, t1_s: float, text: str) -> None:
        """A shaded band from ``t0_s`` to ``t1_s`` on every panel (an impairment that was on),
        ``text`` above the top panel at its start."""
        self.spans.append((float(t0_s), float(t1_s), str(text)))
        for ax in self.axes.values():
            ax.axvspan(t0_s, t1_s, color=COLORS["yellow"], alpha=0.25, lw=0, zorder=0)
        self.axes["latency"].annotate(
            text, xy=(t0_s, 1.0), xycoords=("data", "axes fraction"), xytext=(1, 2),
            textcoords="offset points", fontsize=8, color="#333333", va="bottom", ha="left", annotation_clip=False)
        self._background = None

    def draw(self, samples: list[dict], *, title: str | None = None) -> Any:
        """Show ``samples`` (dicts): set each line's data, the limits and the title; returns the figure."""
        d = derive(samples) if samples else {"t_s": np.array([])}
        t = d["t_s"]
        for panel in PANELS:
            need = panel.min_top
            for s in panel.series:
                y = d.get(s.key, np.full(t.shape, np.nan))
                self.lines[s.key].set_data(t, y)
                need = max(need, _top(y, panel.min_top))
            top = min(nice_top(need), panel.max_top)
            if top > self._tops[panel.name] or (not self.live and top != self._tops[panel.name]):
                self._tops[panel.name] = top
                self.axes[panel.name].set_ylim(0, top)
                self._background = None
        if t.size:
            fc = d["freeze_count"]
            new = np.flatnonzero(np.diff(np.nan_to_num(fc, nan=0.0), prepend=0.0) > 0)
            self.freeze_marks.set_data(t[new], d["stall_pct"][new])
            end = float(t[-1])
            right = self.duration_s or 10.0 * math.ceil(max(end, 1e-9) / 10.0)
            if self.duration_s is None and not self.live:
                right = max(end, 1.0)
            if right < end:  # a call that ran longer than announced
                right = 10.0 * math.ceil(end / 10.0)
            if right != self.axes["latency"].get_xlim()[1]:
                self.axes["latency"].set_xlim(0, right)
                self._background = None
        if title is not None:
            self.title.set_text(title)
        return self.fig

    def _animated(self) -> list:
        return [*self.lines.values(), self.freeze_marks]

    def png(self, dpi: float | None = None) -> bytes:
        """The figure as PNG bytes.  Live: blitted over the cached background, at the figure's dpi."""
        return self.image("png", dpi)

    def image(self, fmt: str = "png", dpi: float | None = None) -> bytes:
        """The figure as ``fmt`` ("png" or "jpeg") bytes.  Live, the lines are blitted over the
        cached background; JPEG encodes in a sixth of PNG's time (the live frames use it, the
        final frame is PNG)."""
        from rtlib.viz.widgets import figure_png

        if fmt not in ("png", "jpeg"):
            raise ValueError(f"fmt must be 'png' or 'jpeg', got {fmt!r}")
        if not self.live:
            if dpi is None:
                return figure_png(self.fig)
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png", dpi=dpi)
            return buf.getvalue()
        from PIL import Image

        canvas = self.fig.canvas
        if self._background is None:
            canvas.draw()  # everything but the animated artists
            self.full_draws += 1
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        for ax in self.axes.values():
            for artist in ax.lines:
                if artist.get_animated():
                    ax.draw_artist(artist)
        self.fig.draw_artist(self.title)
        buf = io.BytesIO()
        img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        if fmt == "jpeg":
            img.convert("RGB").save(buf, format="jpeg", quality=92)
        else:
            img.save(buf, format="png", compress_level=1)
        return buf.getvalue()


def _live_title(samples: list[dict], name: str) -> str:
    if not samples:
        return f"{name}: waiting for the first sample"
    s = samples[-1]

    def fmt(key, unit, scale=1.0, spec=".0f"):
        v = s.get(key)
        return "–" if v is None else f"{format(v * scale, spec)} {unit}"

    return (f"{name}, t = {s['t_s']:.1f} s: delay {fmt('e2e_delay_ms', 'ms')}, "
            f"{fmt('recv_kbps', 'kbit/s')}, {fmt('fps', 'fps')}")


# -- the live dashboard ---------------------------------------------------------------------

def _blit_redrawer():
    from rtlib.viz.widgets import _DRAW_LOCK, Redrawer, png_bundle

    class BlitRedrawer(Redrawer):
        """The house redrawer (coalescing, off the caller's thread, errors shown), drawing by blit:
        ``plot(values)`` returns a :class:`DashboardFigure` whose :meth:`~DashboardFigure.png` is used."""

        def _draw(self, values: dict) -> None:
            import traceback

            try:
                with _DRAW_LOCK:
                    dash = self._plot(values)
                    title = dash.title.get_text()
                    if values.get("final"):
                        bundle = png_bundle(dash.png(), title)
                    else:  # a live frame: JPEG, a sixth of PNG's encoding time on the worker
                        bundle = {"image/jpeg": base64.b64encode(dash.image("jpeg")).decode("ascii"),
                                  "text/plain": f"<Figure: {title}>"}
            except Exception as exc:
                self._error(f"{type(exc).__name__}: {exc}\n\n" + traceback.format_exc(limit=-3))
                raise
            self.draws += 1
            self._show(bundle)
            self._error("")

    return BlitRedrawer


def _BlitRedrawer(*args):
    return _blit_redrawer()(*args)


class QosDashboard:
    """A live QoS dashboard for one call; ``on_sample=dash.update`` feeds it.

    ``relay`` (a :class:`rtlib.live.relay.UdpRelay`, optional) adds impairment sliders
    for ``direction`` ("forward", "backward" or "both") beside the figure.
    ``refresh_s`` is the shortest time between two redraws (samples arriving faster are
    only stored); ``duration_s`` (the call's planned length) fixes the time axis, so
    the figure's background is drawn once and each redraw only blits the lines
    (:class:`DashboardFigure` with ``live=True``: about 20 ms, against 150 ms for a full draw).
    ``show=False`` builds the widgets without displaying them (tests, benchmarks), and
    ``render=False`` never draws while the call runs (the benchmark's control case).

    The call is never waited on: :meth:`update` appends the sample and, when a redraw
    is due, hands a snapshot to the redraw worker thread and returns.
    """

    def __init__(self, relay=None, *, direction: str = "forward", name: str = "live call",
                 refresh_s: float = 0.5, duration_s: float | None = None, show: bool = True, render: bool = True,
                 sliders: Iterable[str] = ("delay_ms", "jitter_ms", "loss", "rate_kbps")):
        if direction not in ("forward", "backward", "both"):
            raise ValueError(f"direction must be 'forward', 'backward' or 'both', got {direction!r}")
        if not (isinstance(refresh_s, (int, float)) and 0.05 <= refresh_s <= 60):
            raise ValueError(f"refresh_s must be in [0.05, 60] s, got {refresh_s!r}")
        unknown = set(sliders) - set(SLIDERS)
        if unknown:
            raise ValueError(f"unknown slider(s) {sorted(unknown)}; known: {sorted(SLIDERS)}")
        self.relay, self.direction, self.name = relay, direction, name
        self.refresh_s, self.render = float(refresh_s), render
        self.samples: list[dict] = []
        self.figure = DashboardFigure(title=_live_title([], name), duration_s=duration_s, live=True)
        self._lock = threading.Lock()
        self._last_request = -math.inf
        self._last_sample_clock: float | None = None
        self._syncing = False
        self.update_s: list[float] = []  # time spent inside update() per sample (the call's share)
        self.widget, self._out, self.controls = self._build(tuple(sliders) if relay is not None else ())
        self._redrawer = _BlitRedrawer(self._plot, self._show, lambda _text: None, self._set_error)
        self._error_text = ""
        if show:
            from IPython.display import display

            display(self.widget)
        self.refresh(wait=True)

    # widgets
    def _build(self, names: tuple[str, ...]):
        import ipywidgets as w

        out = w.Output(layout=w.Layout(min_width="560px"))
        self._error = w.HTML()
        controls: dict[str, Any] = {}
        style = {"description_width": "initial"}
        imp = None if self.relay is None else (self.relay.backward if self.direction == "backward" else self.relay.forward)
        for pname in names:
            label, low, high, step, unit = SLIDERS[pname]
            value = getattr(imp, pname)
            if pname == "rate_kbps" and value is None:
                value = 0.0
            controls[pname] = w.FloatSlider(value=float(value), min=low, max=high, step=step,
                                            description=f"{label} [{unit}]", style=style, continuous_update=False,
                                            readout_format=".2f" if step < 1 else ".0f")
        if names:
            controls["outage"] = w.ToggleButton(value=bool(imp.outage), description="outage", icon="ban",
                                                tooltip="drop every packet while pressed")
        for pname, ctl in controls.items():
            ctl.observe(lambda change, p=pname: self._on_control(p, change["new"]), names="value")
        side = [w.HTML(f"<b>impairment, {html.escape(self.direction)}</b>"), *controls.values()] if controls else []
        box = w.HBox([out, w.VBox(side)] if side else [out])
        box.add_class("rtlib-dashboard")
        return w.VBox([box, self._error]), out, controls

    def _show(self, bundle: dict) -> None:
        self._out.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _set_error(self, text: str) -> None:
        from rtlib.viz.widgets import error_html

        self._error_text = text
        if self._error.value != error_html(text):
            self._error.value = error_html(text)

    def _plot(self, values: dict):
        # always the latest samples: a draw that was queued earlier must not show an older state
        with self._lock:
            samples = list(self.samples)
        self.figure.draw(samples, title=_live_title(samples, self.name))
        return self.figure

    # the call's side
    def update(self, sample) -> None:
        """Store one sample (a ``StatsSample`` or dict); redraw if ``refresh_s`` has passed."""
        t0 = time.perf_counter()
        d = sample_dict(sample)
        with self._lock:
            self.samples.append(d)
            self._last_sample_clock = time.monotonic()
            due = self.render and t0 - self._last_request >= self.refresh_s
            if due:
                self._last_request = t0
        if due:
            self._redrawer.request({"n": len(self.samples)}, wait=False)
        self.update_s.append(time.perf_counter() - t0)

    __call__ = update

    def refresh(self, wait: bool = True) -> None:
        """Redraw now with every sample so far (``wait``: in this thread, before returning, as PNG)."""
        self._redrawer.request({"n": len(self.samples), "final": wait}, wait=wait)

    def finish(self, timeout_s: float = 5.0) -> None:
        """The call has ended: let a redraw in flight end, then draw the final figure here."""
        deadline = time.monotonic() + timeout_s
        while getattr(self._redrawer, "_busy", False) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.refresh(wait=True)

    @property
    def marks(self) -> list[tuple[float, str]]:
        """Where impairments changed: ``(t_s, text)`` pairs (give them to :func:`report_png`)."""
        return [(t, text) for t, text, _row in self.figure.marks]

    @property
    def spans(self) -> list[tuple[float, float, str]]:
        """Impairments switched on and off by :meth:`play`: ``(on_s, off_s, text)``."""
        return list(self.figure.spans)

    def report_png(self, path, **kwargs) -> Path:
        """The finished call's report figure, with this dashboard's markers and bands."""
        return report_png(self.samples, path, **{"title": self.name, "marks": self.marks, "spans": self.spans,
                                                 **kwargs})

    @property
    def draws(self) -> int:
        """How many figures were drawn (far fewer than samples while a call runs)."""
        return self._redrawer.draws

    def now_s(self) -> float:
        """The call's time now, estimated from the latest sample (0 before the first)."""
        with self._lock:
            if not self.samples:
                return 0.0
            return self.samples[-1]["t_s"] + (time.monotonic() - self._last_sample_clock)

    # impairments
    def mark(self, text: str, t_s: float | None = None) -> None:
        """A vertical marker at ``t_s`` (default: now in the call) on every panel."""
        from rtlib.viz.widgets import _DRAW_LOCK

        with _DRAW_LOCK:  # the redraw worker may be drawing the figure right now
            self.figure.mark(self.now_s() if t_s is None else t_s, text)

    def apply(self, direction: str | None = None, *, mark: bool = True, **params) -> None:
        """Change the relay's impairment now (``relay.set``), mark it, and move the sliders to match."""
        if self.relay is None:
            raise ValueError("this dashboard has no relay: QosDashboard(relay=...) to change impairments")
        direction = direction or self.direction
        self.relay.set(direction, **params)
        if mark:
            self.mark(describe_change(params))
        if direction == self.direction:
            self._syncing = True
            try:
                for k, v in params.items():
                    if k in self.controls:
                        self.controls[k].value = (0.0 if v is None else v) if k != "outage" else bool(v)
            finally:
                self._syncing = False

    def _on_control(self, pname: str, value) -> None:
        if self._syncing:
            return
        if pname == "rate_kbps":
            value = None if value <= 0 else float(value)
        try:
            self.apply(self.direction, **{pname: value})
        except ValueError as exc:
            self._set_error(str(exc))

    def run_in_background(self, call):
        """Run ``call`` (a coroutine, e.g. ``run_rtlib_call(..., on_sample=dash.update)``) on the
        kernel's event loop and return at once, so the sliders answer while it runs (a cell
        that awaits a call holds the kernel: slider moves would wait until it ends).

        Returns the :class:`asyncio.Task`; when it ends the final figure is drawn and an
        error, if any, is shown under the dashboard.  ``await task`` gives the call's result.
        """
        import asyncio

        task = asyncio.ensure_future(call)

        def done(t):
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                self._set_error(f"the call ended with {type(exc).__name__}: {exc}")
            self.refresh(wait=False)

        task.add_done_callback(done)
        self.task = task
        return task

    async def play(self, steps: Iterable[tuple], *, direction: str | None = None) -> None:
        """Apply ``steps`` at their call times: ``(t_s, {param: value, ...})`` is one change
        (marked by a line), ``(on_s, off_s, {params on}, {params off})`` an impairment that is
        switched on and off again (marked by a shaded band, labelled with what was switched on).

        Times are on the samples' clock (the call's ``t_s``), so the marks land where
        the panels show them; run it beside the call with ``asyncio.gather``.
        """
        import asyncio

        from rtlib.viz.widgets import _DRAW_LOCK

        changes = []  # (t_s, params, what to mark: None, "line" or (off_s, text))
        for step in steps:
            if len(step) == 2:
                changes.append((float(step[0]), step[1], "line"))
            elif len(step) == 4:
                on_s, off_s, on, off = step
                if not on_s < off_s:
                    raise ValueError(f"a window's on time must come before its off time, got {on_s!r}, {off_s!r}")
                changes.append((float(on_s), on, (float(off_s), describe_change(on))))
                changes.append((float(off_s), off, None))
            else:
                raise ValueError(f"a step is (t_s, params) or (on_s, off_s, params_on, params_off), got {step!r}")
        for t_s, params, how in sorted(changes, key=lambda c: c[0]):
            while self.now_s() < t_s or not self.samples:
                await asyncio.sleep(min(0.02, max(0.005, t_s - self.now_s())))
            self.apply(direction, mark=how == "line", **params)
            if isinstance(how, tuple):
                with _DRAW_LOCK:
                    self.figure.span(self.now_s(), how[0], how[1])



def describe_change(params: dict) -> str:
    """A marker's text: ``{"loss": 0.1}`` → "loss 10 %", ``{"rate_kbps": 300}`` → "cap 300 kbit/s"."""
    parts = []
    for k, v in params.items():
        if k == "loss":
            parts.append(f"loss {100 * v:g} %")
        elif k == "rate_kbps":
            parts.append("no cap" if v is None else f"cap {v:g} kbit/s")
        elif k == "outage":
            parts.append("outage" if v else "outage over")
        elif k.endswith("_ms"):
            parts.append(f"{k[:-3]} {v:g} ms")
        else:
            parts.append(f"{k} {v}")
    return ", ".join(parts)


# -- which metric answers an impairment, and when ------------------------------------------

#: series -> (direction, absolute step, relative step): a sample "responds" when it leaves the
#: median of the second before the change by more than both steps, in that direction.
RESPONSE_RULES = {
    "e2e_delay_ms": ("up", 20.0, 0.3),
    "rtt_ms": ("up", 20.0, 0.3),
    "loss_pct": ("up", 2.0, 0.0),
    "jitter_ms": ("up", 3.0, 0.5),
    "recv_kbps": ("either", 100.0, 0.25),
    "fps": ("down", 5.0, 0.2),
    "stall_pct": ("up", 1.0, 0.0),
}
#: what the response table calls each series
RESPONSE_NAMES = {"e2e_delay_ms": "end-to-end delay", "rtt_ms": "RTT", "loss_pct": "loss", "jitter_ms": "jitter",
                  "recv_kbps": "received bitrate", "fps": "frame rate", "stall_pct": "stall rate"}


def first_response(samples, at_s: float, until_s: float, *, baseline_s: float = 1.0,
                   grace_s: float = 0.5) -> dict[str, float | None]:
    """For each series of :data:`RESPONSE_RULES`: seconds from ``at_s`` (an impairment switched
    on) to the first sample that leaves its baseline, looking until ``until_s + grace_s``; None
    if it never does.  The baseline is the median of the ``baseline_s`` before ``at_s``.

    A sample is taken every 250 ms, so a response reads "within 0.25 s" at best.  A series
    unknown before the change (no baseline) or after it (the delay of frames that never
    arrive) never "responds".
    """
    rows = [sample_dict(s) for s in samples]
    d = derive(rows)
    t = d["t_s"]
    base = (t >= at_s - baseline_s) & (t <= at_s)
    after = (t > at_s) & (t <= until_s + grace_s)
    out: dict[str, float | None] = {}
    for key, (direction, step, rel) in RESPONSE_RULES.items():
        y = d[key]
        b = y[base][np.isfinite(y[base])]
        out[key] = None
        if not b.size:
            continue
        ref = float(np.median(b))
        limit = max(step, rel * abs(ref))
        for ti, yi in zip(t[after], y[after]):
            if not math.isfinite(yi):
                continue
            up, down = yi - ref > limit, ref - yi > limit
            if (direction == "up" and up) or (direction == "down" and down) or (direction == "either" and (up or down)):
                out[key] = float(ti - at_s)
                break
    return out


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


def synthetic_samples(seconds: float = 6.0, *, step_s: float = 0.25, delay_ms: float = 60.0,
                      events: Iterable[tuple[float, float, str]] = (), seed: int = 0) -> list[dict]:
    """Made-up samples of a call with ``events`` = ``[(start_s, end_s, kind), ...]``, kind one of
    "loss", "outage", "cap", "jitter": for tests and the benchmark's control case, not a model."""
    rng = np.random.default_rng(seed)
    out, lost, got, frames, freezes, frozen = [], 0, 0, 0, 0, 0.0
    events = list(events)
    for i in range(1, int(round(seconds / step_s)) + 1):
        t = i * step_s
        active = {k for a, b, k in events if a <= t < b}
        pk = 0 if "outage" in active else int(step_s * 100)
        lo = int(rng.binomial(int(step_s * 100), 0.2)) if "loss" in active else 0
        got, lost = got + max(pk - lo, 0), lost + lo + (int(step_s * 100) if "outage" in active else 0)
        fps = 0.0 if "outage" in active else (12.0 if "cap" in active else 30.0)
        frames += int(fps * step_s)
        if any(b <= t < b + step_s and k == "outage" for a, b, k in events):
            freezes += 1
            frozen += sum(b - a for a, b, k in events if b <= t < b + step_s and k == "outage")
        out.append({
            "t_s": t, "rtt_ms": 2 * delay_ms + rng.normal(0, 2), "jitter_ms": (15.0 if "jitter" in active else 1.5)
            + abs(rng.normal(0, 0.5)), "loss_fraction": lo / max(pk, 1), "packets_lost": lost,
            "packets_received": got, "send_kbps": 600.0, "recv_kbps": 0.0 if "outage" in active else
            (280.0 if "cap" in active else 590.0), "frames_decoded": frames, "fps": fps, "freeze_count": freezes,
            "freeze_s": frozen, "e2e_delay_ms": None if "outage" in active else delay_ms + 25 + (
                250.0 if "cap" in active else 0.0) + rng.normal(0, 3), "audio_concealed_ms": None,
        })
    return out


__all__ = ["DashboardFigure", "PANELS", "QosDashboard", "compare_figure", "describe_change", "derive", "first_response", "load_call",
           "report_figure",
           "report_html", "report_png", "summarize", "summary_rows", "synthetic_samples"]
