"""The house style for the course's figures.

One call, :func:`set_style`, at the top of a notebook.  Figures are meant to be read
on their own: a title, both axes labelled with units, a legend when there is more
than one line.  :func:`label_axes` refuses an axis label without a unit in brackets
or parentheses so the rule cannot be forgotten silently.
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
