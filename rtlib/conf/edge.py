"""Where to put the media servers: one central server, or edges near users with a backbone.

Two deployments of the same conference (chapter 10's SFU), compared by mouth-to-ear delay:

    central:  A --public Internet--> server --public Internet--> B
    edge:     A --public--> edge(A) ==backbone (overlay-routed)==> edge(B) --public--> B

- The public Internet legs are inflated by :data:`rtlib.conf.geo.PUBLIC_INTERNET_INFLATION`
  (2.1, Bozkurt et al. 2018); the backbone by :data:`rtlib.conf.geo.BACKBONE_INFLATION` (1.5,
  fitted on measured AWS RTTs) and routed by :class:`rtlib.conf.overlay.Backbone` (cascaded
  SFUs: each edge on the path forwards the media).  The point of an edge is that a user's
  packets leave the public Internet after a short hop ("enter the network nearby") and cross
  oceans on the better-engineered, measured backbone.
- Each participant reaches the network through an access type (:data:`rtlib.conf.geo.ACCESS_RTT_MS`).
- Mouth-to-ear delay = chapter 01's :data:`rtlib.quality.TYPICAL_CALL` budget (capture, encode,
  packetisation, pacing, queueing, jitter buffer, decode, render) with its propagation stage
  replaced by the modelled network path, plus :data:`SERVER_FORWARD_MS` per media server.
  :attr:`CallLatency.share_within` gives the share of ordered pairs under G.114's 150 ms
  ("essentially transparent") and 400 ms (planning limit).

Edge placement (:func:`place_edges`): choose ``k`` sites among candidate cities to minimise
the worst (``objective="max"``, the k-center problem) or the 95th-percentile
(``objective="p95"``) one-way delay from a participant to its nearest site.  k-center is
NP-hard (Kariv and Hakimi, SIAM J. Appl. Math. 37, 1979); :func:`greedy_k_center` adds one
site at a time, the one that lowers the objective most (no guarantee with separate candidate
sites; Gonzalez's farthest-first 2-approximation, Theor. Comput. Sci. 38, 1985, needs the
centres to be the points themselves); :func:`exact_k_center` tries every combination
(small k); :func:`marginal_gains` reports what each added site buys.

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from rtlib.conf.geo import (
    BACKBONE_INFLATION,
    PUBLIC_INTERNET_INFLATION,
    access_rtt_ms,
    distance_km,
    fibre_one_way_ms,
    haversine_km,
)
from rtlib.conf.geodata import city, city_names
from rtlib.conf.overlay import Backbone, Route
from rtlib.quality.budget import G114_PLANNING_LIMIT_MS, G114_TRANSPARENT_MS, TYPICAL_CALL, LatencyBudget

#: Time an SFU takes to forward a packet [ms]: an assumption (it neither decodes nor encodes;
#: a user-space forwarder's per-packet work is far below a millisecond, scheduling adds the rest).
SERVER_FORWARD_MS = 1.0

#: Where the central deployment's server sits by default: US East (the AWS us-east-1 region is
#: in Ashburn, Virginia, about 50 km from Washington, D.C.).
DEFAULT_CENTRAL = "Washington, D.C."

OBJECTIVES = ("max", "p95")


@dataclass(frozen=True)
class Participant:
    """A caller: the ``city`` they are in and their ``access`` type (fibre, cable, wifi, 4g, 5g)."""

    city: str
    access: str = "fibre"

    def __post_init__(self):
        object.__setattr__(self, "city", city(self.city).name)
        access_rtt_ms(self.access)


def participants(names, access: str = "fibre") -> list[Participant]:
    """Participants from city names (a list or a comma-separated string), all with ``access``."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out = [n if isinstance(n, Participant) else Participant(n, access) for n in names]
    if len(out) < 2:
        raise ValueError(f"participants must name at least 2 cities, got {len(out)}")
    return out


def public_one_way_ms(a, b) -> float:
    """One-way delay [ms] across the public Internet (great circle x 2.1 in fibre)."""
    return fibre_one_way_ms(distance_km(a, b), PUBLIC_INTERNET_INFLATION)


@dataclass(frozen=True)
class PairLatency:
    """One direction of one pair: talker ``a`` heard by ``b``."""

    a: str
    b: str
    path: tuple[str, ...]
    network_one_way_ms: float
    mouth_to_ear_ms: float

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "path": list(self.path), "network_one_way_ms": self.network_one_way_ms,
                "mouth_to_ear_ms": self.mouth_to_ear_ms}


@dataclass
class CallLatency:
    """Mouth-to-ear delay of every ordered pair of a conference under one deployment."""

    deployment: str
    participants: list[Participant]
    server_of: dict[str, str]
    pairs: list[PairLatency]
    budget: LatencyBudget = field(default=TYPICAL_CALL)

    def share_within(self, limit_ms: float) -> float:
        """Share of ordered pairs whose mouth-to-ear delay is at most ``limit_ms``."""
        return float(np.mean([p.mouth_to_ear_ms <= limit_ms for p in self.pairs]))

    @property
    def worst_ms(self) -> float:
        return max(p.mouth_to_ear_ms for p in self.pairs)

    def pair(self, a: str, b: str) -> PairLatency:
        a, b = city(a).name, city(b).name
        for p in self.pairs:
            if (p.a, p.b) == (a, b):
                return p
        raise ValueError(f"no pair {a!r} -> {b!r} in this call")

    def per_participant_worst_ms(self) -> dict[str, float]:
        """Each participant's worst mouth-to-ear delay as a listener."""
        out: dict[str, float] = {}
        for p in self.pairs:
            out[p.b] = max(out.get(p.b, 0.0), p.mouth_to_ear_ms)
        return out

    def to_dict(self) -> dict:
        return {
            "deployment": self.deployment,
            "participants": [{"city": p.city, "access": p.access, "server": self.server_of[p.city]}
                             for p in self.participants],
            "pairs": [p.to_dict() for p in self.pairs],
            "worst_mouth_to_ear_ms": self.worst_ms,
            "share_within_150_ms": self.share_within(G114_TRANSPARENT_MS),
            "share_within_400_ms": self.share_within(G114_PLANNING_LIMIT_MS),
            "budget_without_propagation_ms": self.budget.with_(propagation_ms=0.0).total_ms,
        }


def _pair(budget, a: Participant, b: Participant, path, network_ms) -> PairLatency:
    m2e = budget.with_(propagation_ms=network_ms).total_ms
    return PairLatency(a.city, b.city, tuple(path), float(network_ms), float(m2e))


def central_call(people, server: str = DEFAULT_CENTRAL, *, budget: LatencyBudget = TYPICAL_CALL,
            server_ms: float = SERVER_FORWARD_MS) -> CallLatency:
    """Everyone through one server in ``server`` (a city), over the public Internet."""
    people = participants(people)
    server = city(server).name
    pairs = []
    for a, b in itertools.permutations(people, 2):
        net = (access_rtt_ms(a.access) / 2 + public_one_way_ms(a.city, server) + server_ms
               + public_one_way_ms(server, b.city) + access_rtt_ms(b.access) / 2)
        pairs.append(_pair(budget, a, b, (a.city, server, b.city), net))
    return CallLatency("central", people, {p.city: server for p in people}, pairs, budget)


def nearest_site(place, sites) -> str:
    """The site (city name) with the least public one-way delay from ``place``."""
    sites = [city(s).name for s in sites]
    if not sites:
        raise ValueError("sites must name at least one edge site")
    return min(sites, key=lambda s: (public_one_way_ms(place, s), s))


def edge_call(people, sites=None, *, k: int = 3, backbone: Backbone | None = None,
         budget: LatencyBudget = TYPICAL_CALL, server_ms: float = SERVER_FORWARD_MS,
         objective: str = "max") -> CallLatency:
    """Each participant through its nearest edge; edges joined by an overlay-routed backbone.

    ``sites``: the edge cities; if None, ``k`` sites are placed for these participants by
    :func:`place_edges`.  ``backbone``: a :class:`Backbone` between the sites (default: every
    pair linked, great circle x 1.5); pass one with a degraded link to see the overlay reroute.
    """
    people = participants(people)
    if sites is None:
        sites = place_edges(people, k, objective=objective).sites
    sites = list(dict.fromkeys(city(s).name for s in sites))
    if backbone is None:
        backbone = Backbone.between(sites, inflation=BACKBONE_INFLATION)
    home = {p.city: nearest_site(p.city, sites) for p in people}
    pairs = []
    for a, b in itertools.permutations(people, 2):
        ea, eb = home[a.city], home[b.city]
        route = Route((ea,), 0.0, 0.0, 0.0) if ea == eb else backbone.route(ea, eb)
        net = (access_rtt_ms(a.access) / 2 + public_one_way_ms(a.city, ea) + route.delay_ms
               + server_ms * len(route.path) + public_one_way_ms(eb, b.city) + access_rtt_ms(b.access) / 2)
        pairs.append(_pair(budget, a, b, (a.city, *route.path, b.city), net))
    return CallLatency("edge", people, home, pairs, budget)


def floor_mouth_to_ear_ms(a, b, budget: LatencyBudget = TYPICAL_CALL) -> float:
    """The best any deployment can do for talker ``a`` and listener ``b`` [ms]: the budget's
    fixed stages plus light in fibre along the great circle (no detour, no access, no server)."""
    return budget.with_(propagation_ms=fibre_one_way_ms(distance_km(a, b))).total_ms


def pairs_never_within(limit_ms: float = G114_TRANSPARENT_MS, cities=None,
                       budget: LatencyBudget = TYPICAL_CALL) -> list[tuple[str, str, float]]:
    """City pairs whose :func:`floor_mouth_to_ear_ms` exceeds ``limit_ms``: no server placement can
    bring them under it.  Returns (a, b, floor_ms), farthest first; ``cities`` default: the table."""
    names = city_names() if cities is None else [city(c).name for c in cities]
    out = [(a, b, floor_mouth_to_ear_ms(a, b, budget)) for a, b in itertools.combinations(names, 2)]
    return sorted([row for row in out if row[2] > limit_ms], key=lambda row: -row[2])


# -- edge placement ------------------------------------------------------------------------

def delay_matrix_ms(people, candidates) -> np.ndarray:
    """One-way delay [ms] from each participant (rows) to each candidate site (columns):
    half the access RTT plus the public-Internet leg."""
    people = [p if isinstance(p, Participant) else Participant(p) for p in people]
    cand = [city(c) for c in candidates]
    if not people or not cand:
        raise ValueError("delay_matrix_ms needs at least one participant and one candidate site")
    lat_p = np.array([city(p.city).lat_deg for p in people])[:, None]
    lon_p = np.array([city(p.city).lon_deg for p in people])[:, None]
    lat_c = np.array([c.lat_deg for c in cand])[None, :]
    lon_c = np.array([c.lon_deg for c in cand])[None, :]
    d = haversine_km(lat_p, lon_p, lat_c, lon_c)
    access = np.array([access_rtt_ms(p.access) / 2 for p in people])[:, None]
    return access + fibre_one_way_ms(d, PUBLIC_INTERNET_INFLATION)


def _objective(per_participant: np.ndarray, objective: str) -> np.ndarray:
    """Objective over the last axis: the max, or the 95th percentile (linear interpolation)."""
    if objective == "max":
        return per_participant.max(axis=-1)
    if objective == "p95":
        return np.percentile(per_participant, 95, axis=-1)
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def placement_cost_ms(matrix, chosen, objective: str = "max") -> float:
    """The objective [ms] when the sites ``chosen`` (column indices) are open."""
    m = np.asarray(matrix, float)
    chosen = list(chosen)
    if not chosen:
        raise ValueError("chosen must name at least one site")
    return float(_objective(m[:, chosen].min(axis=1), objective))


def _check_k(matrix, k) -> np.ndarray:
    m = np.asarray(matrix, float)
    if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 1:
        raise ValueError(f"matrix must be participants x candidates (2-D, non-empty), got shape {m.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= m.shape[1]:
        raise ValueError(f"k must be an integer in [1, {m.shape[1]}] (the number of candidates), got {k!r}")
    return m


def greedy_k_center(matrix, k: int, objective: str = "max") -> list[int]:
    """Greedy addition: start empty, add the site that lowers the objective most, ``k`` times.

    Returns column indices in the order added (ties: the lower index).
    """
    m = _check_k(matrix, k)
    chosen: list[int] = []
    current = np.full(m.shape[0], np.inf)
    for _ in range(k):
        rest = [j for j in range(m.shape[1]) if j not in chosen]
        trial = np.minimum(current[None, :], m[:, rest].T)  # candidates x participants
        scores = _objective(trial, objective)
        j = rest[int(np.argmin(scores))]
        chosen.append(j)
        current = np.minimum(current, m[:, j])
    return chosen


def exact_k_center(matrix, k: int, objective: str = "max", max_combinations: int = 3_000_000) -> list[int]:
    """The optimum by trying every combination of ``k`` sites (ties: the first in
    lexicographic order).  Refuses more than ``max_combinations`` combinations."""
    m = _check_k(matrix, k)
    n = m.shape[1]
    total = math.comb(n, k)
    if total > max_combinations:
        raise ValueError(f"exact search over C({n}, {k}) = {total} combinations exceeds max_combinations="
                         f"{max_combinations}; use greedy_k_center or fewer candidates")
    best_cost, best = np.inf, None
    combos = itertools.combinations(range(n), k)
    while True:
        chunk = np.array(list(itertools.islice(combos, 20_000)), dtype=int)
        if chunk.size == 0:
            break
        per = m[:, chunk].min(axis=2).T  # combos x participants
        scores = _objective(per, objective)
        i = int(np.argmin(scores))
        if scores[i] < best_cost - 1e-9:
            best_cost, best = float(scores[i]), [int(x) for x in chunk[i]]
    return best


@dataclass(frozen=True)
class Placement:
    """``sites`` chosen (city names), the objective ``cost_ms`` and how they were found."""

    sites: list[str]
    cost_ms: float
    objective: str
    method: str

    def to_dict(self) -> dict:
        return {"sites": self.sites, "cost_ms": self.cost_ms, "objective": self.objective, "method": self.method}


def place_edges(people, k: int, candidates=None, *, objective: str = "max", method: str = "auto") -> Placement:
    """Choose ``k`` edge sites among ``candidates`` (default: every city of the table) for ``people``.

    ``method``: "exact", "greedy", or "auto" (exact when C(n, k) <= 3 million, else greedy).
    """
    people = participants(people)
    candidates = city_names() if candidates is None else [city(c).name for c in candidates]
    m = delay_matrix_ms(people, candidates)
    if method == "auto":
        method = "exact" if math.comb(len(candidates), k) <= 3_000_000 else "greedy"
    if method == "exact":
        idx = exact_k_center(m, k, objective)
    elif method == "greedy":
        idx = greedy_k_center(m, k, objective)
    else:
        raise ValueError(f"method must be 'exact', 'greedy' or 'auto', got {method!r}")
    return Placement([candidates[j] for j in idx], placement_cost_ms(m, idx, objective), objective, method)


def marginal_gains(people, k_max: int, candidates=None, *, objective: str = "max") -> list[dict]:
    """What each added site buys: for k = 1..k_max, the greedy site added, the objective after
    it and the gain over k - 1 [ms]; and the exact optimum for that k when it is cheap to find."""
    people = participants(people)
    candidates = city_names() if candidates is None else [city(c).name for c in candidates]
    m = delay_matrix_ms(people, candidates)
    order = greedy_k_center(m, k_max, objective)
    rows, prev = [], None
    for k in range(1, k_max + 1):
        cost = placement_cost_ms(m, order[:k], objective)
        exact = None
        if math.comb(len(candidates), k) <= 200_000:
            exact = placement_cost_ms(m, exact_k_center(m, k, objective), objective)
        rows.append({"k": k, "added": candidates[order[k - 1]], "greedy_cost_ms": cost,
                     "gain_ms": None if prev is None else prev - cost, "exact_cost_ms": exact})
        prev = cost
    return rows

