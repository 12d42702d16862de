"""A world map drawn offline with matplotlib: land, participants, edges, great-circle routes.

Plate carrée (longitude and latitude as x and y, in degrees): no map service and no
cartography package, only the Natural Earth land rings of ``data/geo/land_110m.json``
(:func:`rtlib.conf.geodata.load_land`).  Routes are drawn as great-circle arcs
(:func:`rtlib.conf.geo.great_circle_points`), split where they cross the antimeridian.
House style from :mod:`rtlib.viz.style` (axis labels with units, legend outside the map).

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

import functools

import numpy as np

from rtlib.conf.geo import great_circle_points
from rtlib.conf.geodata import city, load_land
from rtlib.viz.style import COLORS, label_axes, legend, new_figure

LAND_COLOR = "#e6e6e6"
COAST_COLOR = "#b0b0b0"


def _split_antimeridian(latlon: np.ndarray) -> list[np.ndarray]:
    """Split a (lat, lon) polyline where consecutive longitudes jump by more than 180 degrees."""
    jumps = np.where(np.abs(np.diff(latlon[:, 1])) > 180.0)[0]
    return np.split(latlon, jumps + 1)


#: The map's extent in degrees: longitude -180..180, latitude -60..85 (Antarctica left out).
EXTENT_DEG = (-180.0, 180.0, -60.0, 85.0)


def _land_collection(linewidth: float = 0.4):
    from matplotlib.collections import PolyCollection

    return PolyCollection([np.asarray(r) for r in load_land()], facecolors=LAND_COLOR, edgecolors=COAST_COLOR,
                          linewidths=linewidth, zorder=0)


@functools.lru_cache(maxsize=1)
def land_image(width_px: int = 1440) -> np.ndarray:
    """The land drawn once into an RGBA array covering :data:`EXTENT_DEG` (4 pixels per degree
    by default): a widget redraws the map as one image instead of some 130 polygons."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    x0, x1, y0, y1 = EXTENT_DEG
    height_px = int(round(width_px * (y1 - y0) / (x1 - x0)))
    fig = Figure(figsize=(width_px / 100, height_px / 100), dpi=100, layout="none")
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.add_collection(_land_collection(0.6))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba()).copy()
    img[..., 3] = np.where(img[..., :3].min(axis=-1) == 255, 0, 255)  # the sea stays transparent
    return img


def draw_land(ax, *, raster: bool = False):
    """Fill the land on ``ax`` (light grey, thin coast line): vector polygons, or with
    ``raster=True`` the cached :func:`land_image` (same look, several times faster to draw)."""
    if raster:
        return ax.imshow(land_image(), extent=EXTENT_DEG, origin="upper", interpolation="bilinear", zorder=0,
                         aspect="auto")
    coll = _land_collection()
    ax.add_collection(coll)
    return coll


def draw_arc(ax, a, b, *, n: int = 96, **plot_kwargs) -> list:
    """Draw the great-circle arc from city ``a`` to city ``b`` on ``ax`` (split at the
    antimeridian); ``plot_kwargs`` go to ``ax.plot`` (a ``label`` only on the first piece)."""
    s, t = city(a), city(b)
    lines = []
    for part in _split_antimeridian(great_circle_points((s.lat_deg, s.lon_deg), (t.lat_deg, t.lon_deg), n)):
        lines += ax.plot(part[:, 1], part[:, 0], **plot_kwargs)
        plot_kwargs.pop("label", None)
    return lines


def draw_world(participants=(), edges=(), routes=(), *, ax=None, title: str | None = None, labels: bool = True,
               route_colors=None, route_labels=None, edge_label: str = "edge site", raster_land: bool = False,
               figsize=(10.0, 5.2)):
    """Draw a world map; returns the figure.

    ``participants`` and ``edges``: city names (or ``City``); ``routes``: sequences of city
    names, each drawn hop by hop as great-circle arcs (e.g. ``("Shanghai", "Washington, D.C.",
    "São Paulo")``).  ``route_colors``/``route_labels``: one per route (default: the house
    colours, no labels).  ``edge_label`` names the square markers in the legend (e.g. "server").
    """
    if ax is None:
        fig, ax = new_figure(figsize=(10.0, 5.2))
    else:
        fig = ax.figure
    draw_land(ax, raster=raster_land)
    colors = list(route_colors) if route_colors is not None else [COLORS["rtc"], COLORS["im"], COLORS["accent"],
                                                                  COLORS["good"], COLORS["bad"]]
    names = list(route_labels) if route_labels is not None else [None] * len(routes)
    for i, route in enumerate(routes):
        color, lab = colors[i % len(colors)], names[i] if i < len(names) else None
        for s, t in zip(route, route[1:]):
            draw_arc(ax, s, t, color=color, lw=1.8, alpha=0.9, label=lab)
            lab = None
    people = {city(c).name for c in participants}
    # Edge squares are drawn larger than participant dots, so a site in a participant's own city
    # shows as a square around the dot; a site's name goes below-left of it, a participant's
    # above-right, and a city that is both is named once.
    for group, marker, color, size, label, offset, ha in (
            (edges, "s", COLORS["bad"], 110, edge_label, (-5, -12), "right"),
            (participants, "o", COLORS["rtc"], 40, "participant", (4, 4), "left")):
        cs = [city(c) for c in group]
        if cs:
            ax.scatter([c.lon_deg for c in cs], [c.lat_deg for c in cs], marker=marker, s=size, color=color,
                       edgecolors="white", linewidths=0.8, zorder=3, label=label)
            if labels:
                for c in cs:
                    if marker == "s" and c.name in people:
                        continue
                    ax.annotate(c.name, (c.lon_deg, c.lat_deg), xytext=offset, textcoords="offset points",
                                fontsize=8, ha=ha, zorder=4)
    ax.set_xlim(*EXTENT_DEG[:2])
    ax.set_ylim(*EXTENT_DEG[2:])
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.2)
    label_axes(ax, "longitude [°]", "latitude [°]", title)
    if ax.get_legend_handles_labels()[0]:
        legend(ax, where="below", ncols=4)
    return fig
