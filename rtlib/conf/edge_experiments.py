"""The figures and interactive experiments of chapter 11 (edge nodes and global latency).

Each widget is a pure function of its controls plus a plot, registered with its ranges
(see :mod:`rtlib.viz.experiments`); the figures drawn once live here too.

- :func:`edge_deployments`: every pair of a conference, central server vs edges, against
  G.114's 150 and 400 ms and the speed-of-light floor;
- :func:`edge_reroute`: a cable-shaped backbone, one link degraded, the overlay's path
  (least measured cost) beside the fewest-hops path BGP's rule would keep;
- :func:`edge_placement`: where k edge sites go for 20 offices, greedy against the optimum;
- :func:`residuals_figure`, :func:`deployment_map`, :func:`floor_map`: the static figures.

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np

from rtlib.conf.edge import (
    central_call,
    delay_matrix_ms,
    edge_call,
    exact_k_center,
    floor_mouth_to_ear_ms,
    greedy_k_center,
    participants,
    place_edges,
    placement_cost_ms,
)
from rtlib.conf.geo import BACKBONE_INFLATION, distance_km, fibre_one_way_ms, model_residuals
from rtlib.conf.geodata import city, city_names
from rtlib.conf.overlay import Backbone, loss_equivalent_ms
from rtlib.conf.worldmap import EXTENT_DEG, draw_arc, draw_land, draw_world
from rtlib.quality.budget import G114_PLANNING_LIMIT_MS, G114_TRANSPARENT_MS, TYPICAL_CALL
from rtlib.viz.experiments import Choice, Param, experiment
from rtlib.viz.style import COLORS, colorbar, label_axes, legend, new_figure

NB = "11_edge_latency"

#: Mouth-to-ear delay of chapter 01's typical call without its propagation stage [ms].
FIXED_MS = TYPICAL_CALL.with_(propagation_ms=0.0).total_ms

#: Conferences for the deployment widget (at most 6 people, so every pair fits on one figure).
GROUPS = {
    "Shanghai, São Paulo, Berlin": ("Shanghai", "São Paulo", "Berlin"),
    "Europe and US East": ("London", "Paris", "Berlin", "New York", "Toronto"),
    "Asia-Pacific": ("Tokyo", "Seoul", "Shanghai", "Singapore", "Sydney", "Mumbai"),
    "worldwide": ("San Francisco", "New York", "London", "Mumbai", "Singapore", "Sydney"),
}

#: Candidate sites for edge servers: 26 cities where large data centres and cable landings
#: meet (a choice for the course, not a provider's list).
HUBS = ("Tokyo", "Seoul", "Shanghai", "Hong Kong", "Singapore", "Mumbai", "Dubai", "Johannesburg", "Lagos",
        "Nairobi", "London", "Paris", "Amsterdam", "Madrid", "Stockholm", "Moscow", "New York",
        "Washington, D.C.", "Chicago", "Los Angeles", "Miami", "Toronto", "Mexico City", "São Paulo", "Santiago",
        "Sydney")

#: Where a company's 20 offices are, for the placement widget.
OFFICES = ("Shanghai", "Tokyo", "Singapore", "Mumbai", "Dubai", "Lagos", "Johannesburg", "London", "Berlin",
           "Moscow", "New York", "Chicago", "Los Angeles", "Mexico City", "São Paulo", "Buenos Aires", "Sydney",
           "Toronto", "Nairobi", "Seoul")

SERVERS = ("Washington, D.C.", "London", "Singapore", "Tokyo", "São Paulo")
ACCESS = ("fibre", "cable", "wifi", "5g", "4g")


# -- 1. central vs edge, pair by pair ------------------------------------------------------------
@lru_cache(maxsize=64)
def _edge_sites(group: str, k: int, access: str) -> tuple[str, ...]:
    return tuple(place_edges(participants(GROUPS[group], access), k, HUBS, method="exact").sites)


@experiment(
    "edge_deployments",
    plot=lambda r: plot_deployments(r),
    notebook=NB,
    group=Choice("Shanghai, São Paulo, Berlin", tuple(GROUPS), label="conference"),
    server=Choice("Washington, D.C.", SERVERS, label="central server in"),
    access=Choice("fibre", ACCESS, label="everyone's access"),
    k=Param(3, 1, 5, 1, label="edge sites k", integer=True),
)
def edge_deployments(group, server, access, k) -> dict:
    """Mouth-to-ear delay of every pair through one central server and through ``k`` edges
    placed among :data:`HUBS` for this conference (exact k-center), with each pair's floor."""
    people = participants(GROUPS[group], access)
    central = central_call(people, server)
    sites = _edge_sites(group, k, access)
    edge = edge_call(people, sites)
    rows = []
    for a, b in itertools.combinations([p.city for p in people], 2):
        rows.append({"pair": f"{a} – {b}", "central_ms": central.pair(a, b).mouth_to_ear_ms,
                     "edge_ms": edge.pair(a, b).mouth_to_ear_ms, "floor_ms": floor_mouth_to_ear_ms(a, b)})
    return {"group": group, "server": server, "access": access, "k": k, "sites": list(sites), "pairs": rows,
            "fixed_ms": FIXED_MS,
            "central_within_150": central.share_within(G114_TRANSPARENT_MS),
            "edge_within_150": edge.share_within(G114_TRANSPARENT_MS),
            "central_within_400": central.share_within(G114_PLANNING_LIMIT_MS),
            "edge_within_400": edge.share_within(G114_PLANNING_LIMIT_MS),
            "central_worst_ms": central.worst_ms, "edge_worst_ms": edge.worst_ms}


def _limit_lines(ax, top_y):
    ax.axvline(G114_TRANSPARENT_MS, color=COLORS["neutral"], ls="--", lw=1)
    ax.axvline(G114_PLANNING_LIMIT_MS, color=COLORS["bad"], ls="--", lw=1)
    ax.text(G114_TRANSPARENT_MS, top_y, " 150 ms", color=COLORS["neutral"], fontsize=9, va="bottom")
    ax.text(G114_PLANNING_LIMIT_MS, top_y, " 400 ms", color=COLORS["bad"], fontsize=9, va="bottom", ha="right")


def plot_deployments(r: dict):
    rows = r["pairs"]
    n = len(rows)
    fig, ax = new_figure(figsize=(9.0, 1.2 + 0.55 * n))
    y = np.arange(n)[::-1] * 1.0
    h = 0.36
    fixed = r["fixed_ms"]
    for off, key, color, lab in ((h / 2, "central_ms", COLORS["im"], f"central server ({r['server']})"),
                                 (-h / 2, "edge_ms", COLORS["rtc"], f"edges ({', '.join(r['sites'])})")):
        vals = np.array([row[key] for row in rows])
        ax.barh(y + off, np.full(n, fixed), height=h, color="#d0d0d0", edgecolor="white", lw=0.5)
        ax.barh(y + off, vals - fixed, left=fixed, height=h, color=color, edgecolor="white", lw=0.5, label=lab)
    floors = np.array([row["floor_ms"] for row in rows])
    ax.scatter(floors, y, marker="|", s=260, color="black", lw=2, zorder=4, label="floor: great circle in fibre")
    from matplotlib.patches import Patch

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(color="#d0d0d0"))
    labels.append(f"capture, coding, buffers: {fixed:.0f} ms")
    ax.set_yticks(y, [row["pair"] for row in rows], fontsize=9)
    top = max(G114_PLANNING_LIMIT_MS, max(max(row["central_ms"], row["edge_ms"]) for row in rows)) * 1.05
    ax.set_xlim(0, top)
    ax.set_ylim(-0.6, y[0] + 0.75)
    _limit_lines(ax, y[0] + 0.42)
    label_axes(ax, "mouth-to-ear delay, one way [ms]", "", f"{r['group']}: everyone on {r['access']}",
               unitless=("y",))
    legend(ax, handles, labels, where="below", ncols=2)
    return fig


# -- 2. overlay routing vs fewest hops ------------------------------------------------------------
#: A backbone shaped like the submarine-cable map (links along real cable systems' ends; a
#: teaching graph, not a provider's): transatlantic, trans-Pacific, the Suez route, EllaLink
#: (Lisbon-Fortaleza, here to São Paulo), the west coast of Africa (WACS), Australia's links.
BACKBONE_LINKS = (
    ("London", "New York"), ("London", "Lisbon"), ("Lisbon", "São Paulo"), ("New York", "Miami"),
    ("Miami", "São Paulo"), ("New York", "Los Angeles"), ("Los Angeles", "Tokyo"), ("Los Angeles", "Sydney"),
    ("Tokyo", "Singapore"), ("Singapore", "Sydney"), ("Singapore", "Mumbai"), ("Mumbai", "Dubai"),
    ("Dubai", "London"), ("London", "Johannesburg"), ("Johannesburg", "Mumbai"),
)
ROUTES = {"London → Singapore": ("London", "Singapore"), "New York → Tokyo": ("New York", "Tokyo"),
          "São Paulo → Mumbai": ("São Paulo", "Mumbai"), "Sydney → London": ("Sydney", "London")}
LINK_NAMES = tuple(f"{a} – {b}" for a, b in BACKBONE_LINKS)


def cable_backbone() -> Backbone:
    """:data:`BACKBONE_LINKS` with each link's one-way delay = great circle x 1.5 in fibre."""
    bb = Backbone()
    for a, b in BACKBONE_LINKS:
        bb.add_link(a, b, fibre_one_way_ms(distance_km(a, b), BACKBONE_INFLATION))
    return bb


@experiment(
    "edge_reroute",
    plot=lambda r: plot_reroute(r),
    notebook=NB,
    route=Choice("London → Singapore", tuple(ROUTES), label="media from → to"),
    link=Choice("Dubai – London", LINK_NAMES, label="degrade link"),
    extra_delay_ms=Param(0.0, 0.0, 300.0, 10.0, label="added delay", unit="ms"),
    loss_pct=Param(2.0, 0.0, 10.0, 0.5, label="loss", unit="%"),
)
def edge_reroute(route, link, extra_delay_ms, loss_pct) -> dict:
    """Degrade one backbone link; the overlay's least-cost path against the fewest-hops path."""
    bb = cable_backbone()
    a, b = link.split(" – ")
    base = bb.link(a, b).delay_ms
    bb.degrade(a, b, delay_ms=base + extra_delay_ms, loss=loss_pct / 100.0)
    src, dst = ROUTES[route]
    overlay, hops = bb.route(src, dst), bb.route_by_hops(src, dst)
    return {"route": route, "link": (a, b), "extra_delay_ms": extra_delay_ms, "loss_pct": loss_pct,
            "links": [(l.a, l.b) for l in bb.links.values()], "overlay": overlay.to_dict(), "hops": hops.to_dict()}


def _route_text(name: str, rd: dict) -> str:
    return (f"{name}: {' → '.join(rd['path'])}\n   {rd['delay_ms']:.0f} ms one way, loss {100 * rd['loss']:.1f} %,"
            f" cost {rd['cost_ms']:.0f} ms")


def plot_reroute(r: dict):
    fig, ax = new_figure(figsize=(9.0, 4.9))
    draw_land(ax, raster=True)
    for a, b in r["links"]:
        draw_arc(ax, a, b, color="#9a9a9a", lw=1.0, zorder=1)
    bad = r["extra_delay_ms"] > 0 or r["loss_pct"] > 0
    draw_arc(ax, *r["link"], color=COLORS["accent"], lw=5.0 if bad else 1.0, alpha=0.6 if bad else 0.0, zorder=1,
             label="degraded link" if bad else None)
    for rd, color, ls, lab in ((r["hops"], COLORS["im"], (0, (4, 2)), "fewest hops (BGP's rule)"),
                               (r["overlay"], COLORS["rtc"], "-", "overlay: least measured cost")):
        path = rd["path"]
        for i, (s, t) in enumerate(zip(path, path[1:])):
            draw_arc(ax, s, t, color=color, lw=2.4, ls=ls, zorder=2, label=lab if i == 0 else None)
    sites = sorted({s for pair in r["links"] for s in pair})
    cs = [city(s) for s in sites]
    ax.scatter([c.lon_deg for c in cs], [c.lat_deg for c in cs], marker="s", s=30, color=COLORS["neutral"],
               zorder=3)
    for c in cs:
        ax.annotate(c.name, (c.lon_deg, c.lat_deg), xytext=(3, 3), textcoords="offset points", fontsize=7.5,
                    zorder=4)
    ax.text(0.01, 0.02, _route_text("overlay", r["overlay"]) + "\n" + _route_text("fewest hops", r["hops"]),
            transform=ax.transAxes, fontsize=8, family="monospace", va="bottom",
            bbox=dict(facecolor="white", edgecolor="#cccccc", alpha=0.9))
    ax.set_xlim(*EXTENT_DEG[:2])
    ax.set_ylim(*EXTENT_DEG[2:])
    label_axes(ax, "longitude [°]", "latitude [°]", f"{r['route']}, link {' – '.join(r['link'])}: "
               f"+{r['extra_delay_ms']:.0f} ms, {r['loss_pct']:.1f} % loss")
    legend(ax, where="below", ncols=3)
    return fig


# -- 3. where the edges go ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _office_matrix() -> np.ndarray:
    return delay_matrix_ms(participants(OFFICES), HUBS)


@lru_cache(maxsize=16)
def _placements(k: int, objective: str) -> tuple[tuple[int, ...], float, tuple[int, ...], float]:
    m = _office_matrix()
    g, e = greedy_k_center(m, k, objective), exact_k_center(m, k, objective)
    return tuple(g), placement_cost_ms(m, g, objective), tuple(e), placement_cost_ms(m, e, objective)


@experiment(
    "edge_placement",
    plot=lambda r: plot_placement(r),
    notebook=NB,
    k=Param(3, 1, 5, 1, label="edge sites k", integer=True),
    objective=Choice("max", ("max", "p95"), label="minimise the offices'"),
)
def edge_placement(k, objective) -> dict:
    """Place ``k`` edges among :data:`HUBS` for :data:`OFFICES`: greedy and exact, and the
    cost (one-way delay office → nearest edge, worst or 95th percentile) for every k."""
    curve = [(kk, *_placements(kk, objective)[1::2]) for kk in range(1, 6)]
    g, gc, e, ec = _placements(k, objective)
    m = _office_matrix()
    home = [HUBS[e[int(i)]] for i in np.argmin(m[:, list(e)], axis=1)]
    worst = int(np.argmax(m[:, list(e)].min(axis=1)))
    return {"k": k, "objective": objective, "greedy": [HUBS[i] for i in g], "greedy_ms": gc,
            "exact": [HUBS[i] for i in e], "exact_ms": ec, "home": home, "worst_office": OFFICES[worst],
            "curve": [{"k": kk, "greedy_ms": a, "exact_ms": b} for kk, a, b in curve]}


def plot_placement(r: dict):
    fig, (ax, bx) = new_figure(1, 2, figsize=(11.0, 4.4), gridspec_kw={"width_ratios": [2.6, 1]})
    draw_land(ax, raster=True)
    for o, h in zip(OFFICES, r["home"]):
        draw_arc(ax, o, h, n=24, color=COLORS["rtc"], lw=0.8, alpha=0.6, zorder=1)
    oc = [city(o) for o in OFFICES]
    ax.scatter([c.lon_deg for c in oc], [c.lat_deg for c in oc], s=22, color=COLORS["rtc"], zorder=3,
               label="office")
    gc_ = [city(s) for s in r["greedy"]]
    ec_ = [city(s) for s in r["exact"]]
    ax.scatter([c.lon_deg for c in gc_], [c.lat_deg for c in gc_], marker="s", s=150, facecolors="none",
               edgecolors=COLORS["im"], lw=2, zorder=4, label=f"greedy: {r['greedy_ms']:.0f} ms")
    ax.scatter([c.lon_deg for c in ec_], [c.lat_deg for c in ec_], marker="s", s=55, color=COLORS["bad"],
               zorder=5, label=f"optimum: {r['exact_ms']:.0f} ms")
    for c in ec_:
        ax.annotate(c.name, (c.lon_deg, c.lat_deg), xytext=(5, -11), textcoords="offset points", fontsize=8,
                    color=COLORS["bad"], zorder=6)
    ax.set_xlim(*EXTENT_DEG[:2])
    ax.set_ylim(*EXTENT_DEG[2:])
    what = "worst" if r["objective"] == "max" else "95th-percentile"
    label_axes(ax, "longitude [°]", "latitude [°]", f"{r['k']} edge site(s) for 20 offices")
    legend(ax, where="below", ncols=3)
    ks = [c["k"] for c in r["curve"]]
    bx.plot(ks, [c["greedy_ms"] for c in r["curve"]], "s--", color=COLORS["im"], label="greedy")
    bx.plot(ks, [c["exact_ms"] for c in r["curve"]], "o-", color=COLORS["bad"], label="optimum")
    bx.axvline(r["k"], color=COLORS["neutral"], lw=0.8)
    bx.set_xticks(ks)
    bx.set_ylim(0, None)
    label_axes(bx, "edge sites k", f"{what} office → edge [ms]", "cost per k", unitless=("x",))
    legend(bx, where="below", ncols=2)
    return fig


# -- static figures --------------------------------------------------------------------------
def residuals_figure():
    """Measured RTT against the model's, one point per measured pair; detours in orange."""
    res = model_residuals()
    fig, ax = new_figure(figsize=(7.5, 5.2))
    top = max(max(r.measured_rtt_ms, r.model_rtt_ms) for r in res) * 1.08
    xs = np.array([0.0, top])
    ax.fill_between(xs, xs - 20, xs + 20, color="#e8e8e8", zorder=0, label="within ±20 ms of the model")
    ax.plot(xs, xs, color=COLORS["neutral"], lw=1, label="measured = model")
    for detour, color, lab in ((False, COLORS["rtc"], "direct cable route"),
                               (True, COLORS["im"], "route detoured in 2017")):
        sel = [r for r in res if bool(r.detour) == detour]
        ax.scatter([r.model_rtt_ms for r in sel], [r.measured_rtt_ms for r in sel], color=color, s=36, zorder=3,
                   label=lab)
        if detour:
            for r in sel:  # labels left of their points; the rightmost one below it, clear of its neighbour
                last = r.model_rtt_ms == max(q.model_rtt_ms for q in sel)
                ax.annotate(f"{r.a}–{r.b}", (r.model_rtt_ms, r.measured_rtt_ms), xytext=(-6, -12) if last else (-4, 4),
                            textcoords="offset points", fontsize=7.5, ha="right")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    label_axes(ax, "model RTT: great circle × 1.5 in fibre [ms]", "measured RTT [ms]",
               "The model against measured AWS inter-region RTTs")
    legend(ax, where="below", ncols=2)
    return fig


def deployment_map(people, server: str = "Washington, D.C.", k: int = 3):
    """Two maps: every path through the central ``server``, and through ``k`` edges placed
    among :data:`HUBS`."""
    people = participants(people)
    central = central_call(people, server)
    edge = edge_call(people, place_edges(people, k, HUBS).sites)
    fig, axes = new_figure(2, 1, figsize=(10.0, 9.0))
    for ax, call, label, title in (
            (axes[0], central, "server", f"Central: one server in {server}, worst {central.worst_ms:.0f} ms"),
            (axes[1], edge, "edge site", f"Edges: {k} sites, backbone between them, worst {edge.worst_ms:.0f} ms")):
        seen, routes = set(), []
        for p in call.pairs:
            if frozenset((p.a, p.b)) not in seen:
                seen.add(frozenset((p.a, p.b)))
                routes.append(p.path)
        draw_world([p.city for p in people], sorted(set(call.server_of.values())), routes, ax=ax, title=title,
                   edge_label=label, route_colors=[COLORS["im"] if call is central else COLORS["rtc"]],
                   raster_land=True)
    return fig


def floor_map(origin: str = "Shanghai"):
    """Every city coloured by the best possible mouth-to-ear delay from ``origin`` (the floor)."""
    origin = city(origin).name
    others = [c for c in city_names() if c != origin]
    floors = np.array([floor_mouth_to_ear_ms(origin, c) for c in others])
    fig, ax = new_figure(figsize=(10.0, 5.0))
    draw_land(ax, raster=True)
    cs = [city(c) for c in others]
    sc = ax.scatter([c.lon_deg for c in cs], [c.lat_deg for c in cs], c=floors, cmap="viridis", s=46,
                    edgecolors="black", linewidths=np.where(floors > G114_TRANSPARENT_MS, 1.2, 0.0), zorder=3)
    o = city(origin)
    ax.scatter([o.lon_deg], [o.lat_deg], marker="*", s=260, color=COLORS["bad"], edgecolors="white", zorder=4)
    ax.annotate(origin, (o.lon_deg, o.lat_deg), xytext=(6, 6), textcoords="offset points", fontsize=9)
    ax.set_xlim(*EXTENT_DEG[:2])
    ax.set_ylim(*EXTENT_DEG[2:])
    label_axes(ax, "longitude [°]", "latitude [°]",
               f"Best possible mouth-to-ear delay from {origin} (black ring: above 150 ms)")
    colorbar(sc, ax, "floor mouth-to-ear delay [ms]")
    return fig


__all__ = ["FIXED_MS", "GROUPS", "HUBS", "OFFICES", "BACKBONE_LINKS", "cable_backbone", "edge_deployments",
           "edge_reroute", "edge_placement", "residuals_figure", "deployment_map", "floor_map",
           "loss_equivalent_ms"]
