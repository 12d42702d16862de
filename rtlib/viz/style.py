"""The house style for the course's figures.

One call, :func:`set_style`, at the top of a notebook.  Figures are meant to be read
on their own: a title, both axes labelled with units, a legend when there is more
than one line.  The helpers make the right thing the default, so a new figure gets it
for free:

- :func:`label_axes` refuses an axis label without a unit in brackets or parentheses;
- :func:`legend` puts the legend outside the axes (right, or ``where="below"``), or
  inside only after :func:`legend_overlaps_data` finds it clear of lines, markers,
  bars, images and text;
- :func:`colorbar` refuses a colour scale without a unit;
- :func:`spectrogram` draws levels in dB re full scale (:func:`spectrogram_dbfs`: a
  full-scale sine reads 0 dB), for a colour bar labelled :data:`DBFS_LABEL`.

Used in: every notebook (the legend, colour-bar and spectrogram helpers first in
chapters 01, 04, 05 and 06 and their experiment modules).
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib as mpl

# Colour-blind-safe palette (Okabe & Ito, "Color Universal Design", 2008).
COLORS = {
    "rtc": "#0072B2",  # blue: real-time media
    "im": "#E69F00",  # orange: instant messaging
    "good": "#009E73",
    "bad": "#D55E00",
    "neutral": "#555555",
    "accent": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
}

_CYCLE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

HOUSE_STYLE = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=_CYCLE),
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.constrained_layout.use": True,
}

_UNIT = re.compile(r"[\[(].+[\])]")


def set_style() -> None:
    """Apply the house style to matplotlib (call once per notebook)."""
    mpl.rcParams.update(HOUSE_STYLE)


def label_axes(ax, xlabel: str, ylabel: str, title: str | None = None, *, unitless: tuple[str, ...] = ()):
    """Label both axes; each label must carry a unit in [..] or (..).

    Name an axis in ``unitless`` ("x" or "y") when its quantity truly has none
    (a count, a probability is still given as "(fraction)" or "[%]").
    """
    for axis, text in (("x", xlabel), ("y", ylabel)):
        if axis not in unitless and not _UNIT.search(text):
            raise ValueError(
                f"{axis}label {text!r} has no unit: write it as 'delay [ms]' or pass unitless=({axis!r},)"
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` in the house style (applies it if not yet set)."""
    import matplotlib.pyplot as plt

    set_style()
    return plt.subplots(nrows, ncols, **kwargs)


def save_figure(fig, path: str | Path) -> Path:
    """Save a figure as PNG (used to look at a notebook's figures outside Jupyter)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


# -- legends: outside the data by default ---------------------------------------------------

LEGEND_PLACES = ("outside", "below", "inside")


def legend(ax, *args, where: str = "outside", **kwargs):
    """Draw ``ax``'s legend where it cannot hide data; returns the ``Legend``.

    ``where="outside"`` (the default) puts it to the right of the axes, top-aligned;
    constrained layout makes room for it, so it never covers a line, a bar or a label.
    ``where="below"`` puts it under the x axis's tick labels and label (in two columns
    unless ``ncols`` says otherwise): for side-by-side panels and figures whose right
    margin holds other labels.
    ``where="inside"`` keeps it in the axes at ``loc`` (default ``"best"``), then draws
    the figure once and checks with :func:`legend_overlaps_data`; if it still covers
    anything, it is moved outside.  Use "inside" for figures drawn once (the draw costs
    tens of milliseconds), "outside" for widgets.
    """
    if where not in LEGEND_PLACES:
        raise ValueError(f"where must be one of {LEGEND_PLACES}, got {where!r}")
    kwargs.setdefault("fontsize", 9)
    if where == "below":
        return ax.legend(*args, loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=0.0,
                         bbox_transform=_below_axis(ax), ncols=kwargs.pop("ncols", 2), **kwargs)
    if where == "inside":
        leg = ax.legend(*args, loc=kwargs.pop("loc", "best"), **kwargs)
        if not legend_overlaps_data(ax):
            return leg
        leg.remove()
        kwargs.pop("bbox_to_anchor", None)
    return ax.legend(*args, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kwargs)


def _below_axis(ax):
    """Axes coordinates shifted down past the x tick labels and the x label (no draw needed)."""
    from matplotlib.transforms import offset_copy

    rc = mpl.rcParams
    offset_pt = 4.0
    ticks = [t for t in ax.xaxis.get_ticklabels() if t.get_visible()] and ax.xaxis.get_tick_params().get("labelbottom", True)
    if ticks:
        offset_pt += rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.25 * mpl.font_manager.FontProperties(
            size=rc["xtick.labelsize"]).get_size_in_points()
    if ax.xaxis.label.get_text() and ax.xaxis.label.get_visible():
        offset_pt += rc["axes.labelpad"] + 1.25 * ax.xaxis.label.get_fontsize()
    return offset_copy(ax.transAxes, fig=ax.figure, y=-offset_pt, units="points")


def _background(artist) -> bool:
    """Shading (axvspan, bands) that a legend may sit on: a nearly transparent patch."""
    import numpy as np

    face = np.atleast_2d(np.asarray(artist.get_facecolor(), float))
    return face.size == 0 or float(face[:, 3].max()) < 0.35


def _densify(xy, step_px: float = 2.0):
    """Points every ``step_px`` pixels along a polyline (display coordinates)."""
    import numpy as np

    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2 or len(xy) > 5000:
        return xy
    seg = np.diff(xy, axis=0)
    n = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step_px).astype(int))
    n = np.minimum(n, 2000)
    parts = [xy[:-1][i] + seg[i] * np.linspace(0, 1, k, endpoint=False)[:, None] for i, k in enumerate(n)]
    return np.vstack(parts + [xy[-1:]])


def legend_overlaps_data(ax) -> list[str]:
    """What ``ax``'s legend covers: lines, markers, bars, filled areas, images, texts.

    Draws the figure (without rendering) so the layout is final, then tests each
    artist's points (lines densified every 2 px) against the legend's box.  Faint
    background shading is allowed.  Returns one description per covered artist
    (empty when the legend is clear, or when there is no legend).
    """
    import numpy as np
    from matplotlib.collections import PathCollection, PolyCollection
    from matplotlib.image import AxesImage

    leg = ax.get_legend()
    if leg is None:
        return []
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    box = leg.get_window_extent(renderer).padded(-1.0)
    clip = ax.get_window_extent(renderer)

    def inside(xy) -> bool:
        xy = np.asarray(xy, float).reshape(-1, 2)
        ok = ((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1) & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)
              & (xy[:, 0] >= clip.x0 - 1) & (xy[:, 0] <= clip.x1 + 1)
              & (xy[:, 1] >= clip.y0 - 1) & (xy[:, 1] <= clip.y1 + 1))
        return bool(ok.any())

    hits = []
    for line in ax.lines:
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
        pts = xy if line.get_linestyle() in ("None", "none", " ", "") else _densify(xy)
        if inside(pts):
            hits.append(f"line {line.get_label()!r}")
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection) and len(coll.get_offsets()):
            if inside(coll.get_offset_transform().transform(np.asarray(coll.get_offsets(), float))):
                hits.append(f"markers {coll.get_label()!r}")
        elif isinstance(coll, PolyCollection) and not _background(coll):
            t = coll.get_transform()
            corners = [(box.x0, box.y0), (box.x0, box.y1), (box.x1, box.y0), (box.x1, box.y1),
                       ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2)]
            for path in coll.get_paths():
                disp = path.transformed(t)
                if inside(_densify(disp.vertices)) or any(disp.contains_point(c) for c in corners):
                    hits.append(f"area {coll.get_label()!r}")
                    break
    for patch in ax.patches:
        if patch.get_visible() and not _background(patch) and patch.get_window_extent(renderer).overlaps(box):
            hits.append(f"patch {patch.get_label()!r}")
    for image in ax.images:
        if isinstance(image, AxesImage) and image.get_window_extent(renderer).overlaps(box):
            hits.append("image")
    for text in ax.texts:
        if text.get_visible() and text.get_text().strip() and text.get_window_extent(renderer).overlaps(box):
            hits.append(f"text {text.get_text()!r}")
    return hits


# -- colour bars and spectrograms -------------------------------------------------------------

def colorbar(mappable, ax, label: str, **kwargs):
    """A colour bar for ``mappable`` beside ``ax`` (an axes or a list of them).

    Like :func:`label_axes`, it refuses a label without a unit in [..] or (..): a
    colour scale that does not say what it measures cannot be read.
    """
    if not isinstance(label, str) or not _UNIT.search(label):
        raise ValueError(f"colour bar label {label!r} has no unit: write it as 'level [dB re full scale]'")
    axes = ax if isinstance(ax, (list, tuple)) else [ax]
    cb = axes[0].figure.colorbar(mappable, ax=list(axes) if len(axes) > 1 else axes[0], **kwargs)
    cb.set_label(label)
    return cb


DBFS_LABEL = "level [dB re full scale]"


def spectrogram_dbfs(samples, rate_hz: int, *, frame: int = 256, hop: int = 128):
    """Short-time spectrum levels in dB re full scale: ``(freq_hz, t_s, level_db)``.

    ``samples`` are int16 (full scale 32768) or floats (full scale 1.0).  Each frame
    is Hann-windowed; levels are scaled so that a full-scale sine centred on a bin
    reads 0 dB, so -20 dB is a sine at a tenth of full scale.  ``level_db`` has one
    row per frequency and one column per frame (floored at -200 dB).
    """
    import numpy as np

    x = np.asarray(samples)
    x = x / 32768.0 if x.dtype == np.int16 else x.astype(float)
    if x.ndim != 1:
        raise ValueError(f"samples must be one channel (1-D), got shape {x.shape}")
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, np.integer)) or rate_hz <= 0:
        raise ValueError(f"rate_hz must be a positive integer (Hz), got {rate_hz!r}")
    if not 16 <= frame <= 65536 or not 1 <= hop <= frame:
        raise ValueError(f"frame must be in [16, 65536] samples and hop in [1, frame], got {frame}, {hop}")
    if x.size < frame:
        x = np.pad(x, (0, frame - x.size))
    window = np.hanning(frame + 1)[:-1]  # periodic Hann
    starts = np.arange(0, x.size - frame + 1, hop)
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[starts] * window
    mag = np.abs(np.fft.rfft(frames, axis=1)) / (window.sum() / 2)
    level = 20 * np.log10(np.maximum(mag, 1e-10)).T
    freq = np.fft.rfftfreq(frame, 1.0 / rate_hz)
    t = (starts + frame / 2) / rate_hz
    return freq, t, level


def spectrogram(ax, samples, rate_hz: int, *, vmin_db: float = -100.0, vmax_db: float = -20.0,
                fmax_hz: float | None = None, frame: int = 256, hop: int = 128, cmap: str = "magma",
                bar: bool = True):
    """Draw a spectrogram of ``samples`` on ``ax`` in dB re full scale; returns the image.

    Time [s] across, frequency [kHz] up, and (``bar=True``, the default) a colour bar
    labelled :data:`DBFS_LABEL`.  For several panels on one scale, draw them with the
    same ``vmin_db``/``vmax_db`` and ``bar=False``, then give one image to
    :func:`colorbar` with the list of axes, so they compare at a glance.
    """
    import numpy as np

    freq, t, level = spectrogram_dbfs(samples, rate_hz, frame=frame, hop=hop)
    top = rate_hz / 2 if fmax_hz is None else min(fmax_hz, rate_hz / 2)
    keep = freq <= top
    dt = hop / rate_hz
    im = ax.imshow(level[keep], origin="lower", aspect="auto", cmap=cmap, vmin=vmin_db, vmax=vmax_db,
                   extent=(float(t[0] - dt / 2), float(t[-1] + dt / 2), 0.0, float(freq[keep][-1]) / 1000),
                   interpolation="nearest")
    ax.grid(False)
    label_axes(ax, "time [s]", "frequency [kHz]")
    if bar:
        colorbar(im, ax, DBFS_LABEL)
    return im
