"""The dashboard's figure: six panels on one time axis, made once, only their lines updated.

Used in: notebooks/12_live_call.ipynb (through :mod:`rtlib.viz.dashboard.live` and
:mod:`rtlib.viz.dashboard.report`).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rtlib.viz.dashboard.series import LOSS_WINDOW_S, _top, derive
from rtlib.viz.style import COLORS, HOUSE_STYLE, label_axes, legend

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
