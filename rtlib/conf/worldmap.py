"""A world map drawn offline with matplotlib: land, participants, edges, great-circle routes.

Plate carrée (longitude and latitude as x and y, in degrees): no map service and no
cartography package, only the Natural Earth land rings of ``data/geo/land_110m.json``
(:func:`rtlib.conf.geodata.load_land`).  Routes are drawn as great-circle arcs
(:func:`rtlib.conf.geo.great_circle_points`), split where they cross the antimeridian.
House style from :mod:`rtlib.viz.style` (axis labels with units, legend outside the map).

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

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


def draw_land(ax):
    """Fill the land polygons on ``ax`` (light grey, thin coast line); returns the collection."""
    from matplotlib.collections import PolyCollection

    coll = PolyCollection([np.asarray(r) for r in load_land()], facecolors=LAND_COLOR, edgecolors=COAST_COLOR,
                          linewidths=0.4, zorder=0)
    ax.add_collection(coll)
    return coll


def draw_world(participants=(), edges=(), routes=(), *, ax=None, title: str | None = None, labels: bool = True,
               route_colors=None, route_labels=None, edge_label: str = "edge site"):
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
    draw_land(ax)
    colors = list(route_colors) if route_colors is not None else [COLORS["rtc"], COLORS["im"], COLORS["accent"],
                                                                  COLORS["good"], COLORS["bad"]]
    names = list(route_labels) if route_labels is not None else [None] * len(routes)
    for i, route in enumerate(routes):
        stops = [city(s) for s in route]
        color, lab = colors[i % len(colors)], names[i] if i < len(names) else None
        for s, t in zip(stops, stops[1:]):
            for part in _split_antimeridian(great_circle_points((s.lat_deg, s.lon_deg), (t.lat_deg, t.lon_deg), 96)):
                ax.plot(part[:, 1], part[:, 0], color=color, lw=1.8, alpha=0.9, label=lab)
                lab = None
    for group, marker, color, size, label in ((edges, "s", COLORS["bad"], 60, edge_label),
                                              (participants, "o", COLORS["rtc"], 40, "participant")):
        cs = [city(c) for c in group]
        if cs:
            ax.scatter([c.lon_deg for c in cs], [c.lat_deg for c in cs], marker=marker, s=size, color=color,
                       edgecolors="white", linewidths=0.8, zorder=3, label=label)
            if labels:
                for c in cs:
                    ax.annotate(c.name, (c.lon_deg, c.lat_deg), xytext=(4, 4), textcoords="offset points",
                                fontsize=8, zorder=4)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-60, 85)
    ax.set_aspect("equal")
    ax.grid(True, alpha=0.2)
    label_axes(ax, "longitude [°]", "latitude [°]", title)
    if ax.get_legend_handles_labels()[0]:
        legend(ax, where="below", ncols=4)
    return fig
