"""rtlib.conf.worldmap: the offline world map in the house style."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from rtlib.conf.worldmap import _split_antimeridian, draw_world  # noqa: E402
from rtlib.conf.geo import great_circle_points  # noqa: E402


def test_map_draws_land_points_and_routes():
    fig = draw_world(["Shanghai", "São Paulo", "Berlin"], ["Washington, D.C."],
                     [("Shanghai", "Washington, D.C.", "São Paulo")], title="central server",
                     route_labels=["via Virginia"], edge_label="server")
    ax = fig.axes[0]
    assert any(isinstance(c, PolyCollection) and len(c.get_paths()) > 100 for c in ax.collections)
    assert "[°]" in ax.get_xlabel() and "[°]" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["via Virginia", "server", "participant"]
    assert {t.get_text() for t in ax.texts} >= {"Shanghai", "São Paulo", "Berlin", "Washington, D.C."}
    assert len(ax.lines) >= 2 and all(abs(x) <= 180 for line in ax.lines for x in line.get_xdata())
    plt.close(fig)


def test_routes_across_the_antimeridian_are_split():
    pts = great_circle_points("Tokyo", "San Francisco", 50)
    parts = _split_antimeridian(pts)
    assert len(parts) == 2 and sum(len(p) for p in parts) == 50
    fig, ax = plt.subplots()
    draw_world(routes=[("Tokyo", "San Francisco")], ax=ax, labels=False)
    assert len(ax.lines) == 2
    plt.close(fig)
