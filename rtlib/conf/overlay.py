"""The provider's private backbone as a graph, and overlay routing on measured link metrics.

Edge servers (cascaded SFUs) forward media to each other over the provider's backbone:
leased or owned fibre between its sites, or tunnels over several transit providers.  Each
link is measured continuously (RTT probes, loss counters) and the overlay picks, for every
pair of sites, the path of least cost, recomputing as the measurements change:

    link (delay_ms, loss) -> cost_ms = delay_ms + loss_equivalent_ms(loss) -> Dijkstra -> path

:func:`loss_equivalent_ms` turns loss into the extra one-way delay that costs the same
conversational quality in the E-model (ITU-T G.107 (06/2015)): below 177.3 ms, delay costs
Id ≈ 0.024 R points per ms (G.107 eq. 7-27's first term), random loss costs
Ie,eff = Ie + (95 - Ie) Ppl / (Ppl + Bpl) (eq. 7-29 with BurstR = 1); for G.711 with packet-loss
concealment Ie = 0 and Bpl = 25.1 (ITU-T G.113 Appendix I).  So 1 % loss ≈ 3.6 R points ≈ 152 ms.
A path's cost is the sum of its links' costs (an approximation: losses add nearly linearly
while they are small).

How this differs from BGP: the Internet's inter-domain routing chooses among routes that
neighbouring networks advertise, by policy first (local preference: customer routes before
peer routes before provider routes, i.e. who pays whom), then by the shortest AS path (the
number of networks crossed, not kilometres or milliseconds), then tie-breakers (RFC 4271
section 9.1; Gao and Rexford, "Stable Internet routing without global coordination", 2001).
BGP measures neither delay nor loss, and does not move traffic off a link that is up but
congested or lossy.  An overlay measures its own links and reroutes within seconds, at the
price of running its own sites and links (Andersen et al., "Resilient Overlay Networks",
SOSP 2001, rerouted around most outages in under 20 s).

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

from rtlib.conf.geo import BACKBONE_INFLATION, distance_km, fibre_one_way_ms

#: E-model constants for the loss-to-delay exchange rate (G.107, G.113 Appendix I, G.711 with PLC).
EMODEL_ID_PER_MS = 0.024
G711_PLC_BPL = 25.1


def loss_equivalent_ms(loss: float) -> float:
    """One-way delay [ms] that costs as many E-model R points as random ``loss`` (fraction)."""
    if not (0.0 <= float(loss) < 1.0):
        raise ValueError(f"loss must be a fraction in [0, 1), got {loss!r}")
    ppl = 100.0 * float(loss)
    return 95.0 * ppl / (ppl + G711_PLC_BPL) / EMODEL_ID_PER_MS


@dataclass
class Link:
    """A backbone link between two sites: measured one-way ``delay_ms`` and ``loss`` (fraction)."""

    a: str
    b: str
    delay_ms: float
    loss: float = 0.0

    @property
    def cost_ms(self) -> float:
        return self.delay_ms + loss_equivalent_ms(self.loss)


@dataclass(frozen=True)
class Route:
    """The chosen path: sites in order, its one-way ``delay_ms``, end-to-end ``loss`` and ``cost_ms``."""

    path: tuple[str, ...]
    delay_ms: float
    loss: float
    cost_ms: float

    def to_dict(self) -> dict:
        return {"path": list(self.path), "delay_ms": self.delay_ms, "loss": self.loss, "cost_ms": self.cost_ms}


def _route(path, links, cost_ms: float) -> Route:
    """A :class:`Route` along ``links``: delays add, deliveries multiply."""
    delivered = 1.0
    for link in links:
        delivered *= 1.0 - link.loss
    return Route(tuple(path), sum(l.delay_ms for l in links), 1.0 - delivered, cost_ms)


@dataclass
class Backbone:
    """An undirected graph of sites and :class:`Link` s; :meth:`route` is the overlay's choice."""

    links: dict[frozenset, Link] = field(default_factory=dict)

    @classmethod
    def between(cls, sites, *, inflation: float = BACKBONE_INFLATION, neighbours: int | None = None) -> "Backbone":
        """A backbone between ``sites`` (city names): every pair linked (``neighbours=None``) or
        each site to its ``neighbours`` nearest; delay = great circle x ``inflation`` in fibre."""
        sites = list(dict.fromkeys(sites))
        bb = cls()
        if neighbours is None:
            pairs = itertools.combinations(sites, 2)
        else:
            if not (isinstance(neighbours, int) and neighbours >= 1):
                raise ValueError(f"neighbours must be an integer >= 1 or None, got {neighbours!r}")
            pairs = []
            for s in sites:
                near = sorted((t for t in sites if t != s), key=lambda t: distance_km(s, t))[:neighbours]
                pairs += [(s, t) for t in near]
        for s, t in pairs:
            bb.add_link(s, t, fibre_one_way_ms(distance_km(s, t), inflation))
        return bb

    @property
    def sites(self) -> list[str]:
        return sorted({s for key in self.links for s in key})

    def add_link(self, a: str, b: str, delay_ms: float, loss: float = 0.0) -> Link:
        if a == b:
            raise ValueError(f"a link joins two different sites, got {a!r} twice")
        if not (delay_ms >= 0):
            raise ValueError(f"delay_ms must be >= 0 ms, got {delay_ms!r}")
        loss_equivalent_ms(loss)
        link = Link(a, b, float(delay_ms), float(loss))
        self.links[frozenset((a, b))] = link
        return link

    def link(self, a: str, b: str) -> Link:
        try:
            return self.links[frozenset((a, b))]
        except KeyError:
            raise ValueError(f"no backbone link between {a!r} and {b!r}") from None

    def degrade(self, a: str, b: str, *, delay_ms: float | None = None, loss: float | None = None) -> Link:
        """Change a link's measured metrics (a fault, congestion, a cut: ``loss`` near 1)."""
        link = self.link(a, b)
        if delay_ms is not None:
            link.delay_ms = float(delay_ms)
        if loss is not None:
            loss_equivalent_ms(loss)
            link.loss = float(loss)
        return link

    def _adjacency(self, src: str, dst: str) -> dict[str, list[Link]]:
        """Each site's links; refuses a ``src`` or ``dst`` that is not on the backbone."""
        adj: dict[str, list[Link]] = {}
        for link in self.links.values():
            adj.setdefault(link.a, []).append(link)
            adj.setdefault(link.b, []).append(link)
        for s in (src, dst):
            if s not in adj:
                raise ValueError(f"site {s!r} is not on the backbone; sites: {self.sites}")
        return adj

    def route(self, src: str, dst: str) -> Route:
        """Least-cost path from ``src`` to ``dst`` (Dijkstra on :attr:`Link.cost_ms`)."""
        adj = self._adjacency(src, dst)
        if src == dst:
            return Route((src,), 0.0, 0.0, 0.0)
        best = {src: 0.0}
        prev: dict[str, tuple[str, Link]] = {}
        heap = [(0.0, src)]
        done = set()
        while heap:
            cost, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            if node == dst:
                break
            for link in adj[node]:
                other = link.b if link.a == node else link.a
                c = cost + link.cost_ms
                if c < best.get(other, float("inf")) - 1e-12:
                    best[other] = c
                    prev[other] = (node, link)
                    heapq.heappush(heap, (c, other))
        if dst not in best:
            raise ValueError(f"no path from {src!r} to {dst!r} on the backbone")
        path, links, node = [dst], [], dst
        while node != src:
            node, link = prev[node]
            path.append(node)
            links.append(link)
        return _route(tuple(reversed(path)), links, best[dst])

    def route_by_hops(self, src: str, dst: str) -> Route:
        """The path with the fewest links, blind to delay and loss: a stand-in for BGP's
        shortest-AS-path rule (each link one hop; ties broken by site names, as BGP breaks them
        by router ID, never by a measurement).  Its ``cost_ms`` is the links' cost all the same,
        so the two choices compare on one scale."""
        adj = self._adjacency(src, dst)
        paths: dict[str, tuple[tuple[str, ...], tuple[Link, ...]]] = {src: ((src,), ())}
        frontier = [src]
        while frontier and dst not in paths:
            nxt: dict[str, tuple[tuple[str, ...], tuple[Link, ...]]] = {}
            for node in sorted(frontier):
                for link in sorted(adj[node], key=lambda l: l.b if l.a == node else l.a):
                    other = link.b if link.a == node else link.a
                    if other in paths:
                        continue
                    cand = (paths[node][0] + (other,), paths[node][1] + (link,))
                    if other not in nxt or cand[0] < nxt[other][0]:
                        nxt[other] = cand
            paths.update(nxt)
            frontier = list(nxt)
        if dst not in paths:
            raise ValueError(f"no path from {src!r} to {dst!r} on the backbone")
        path, links = paths[dst]
        return _route(path, links, sum(l.cost_ms for l in links))
