"""Checks for notebooks/11_edge_latency.ipynb (edge nodes and global latency).

Each check says what is wrong and never the expected value.  An unanswered exercise
(``None``) gets "not answered yet".

- :func:`edge_sites`: exercise 11.1, three edge sites for a twelve-city conference,
  chosen among the candidate hubs; passes within 5 % of the best possible worst delay;
- :func:`max_distance`: exercise 11.2, the farthest two people can be and still talk under
  G.114's 150 ms at the speed-of-light floor;
- :data:`edge_design`: exercise 11.3 (design, staged hints), the fewest edge sites that put
  every pair of a European call within 150 ms mouth to ear, judged with
  :func:`rtlib.conf.edge.edge_call` against the least number of sites that can.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import Feedback, StagedCheck, as_number, close_to, fail, ok

# -- 11.1 three edge sites ------------------------------------------------------------------
#: The conference of exercise 11.1 (everyone on fibre).
GROUP = ("Beijing", "Osaka", "Bangkok", "Jakarta", "New Delhi", "Riyadh", "Cairo", "Madrid", "Warsaw", "Atlanta",
         "Vancouver", "Lima")
K = 3
#: How close to the optimum an answer must come (its worst delay at most 5 % above).
TOLERANCE = 1.05


def _hubs() -> tuple[str, ...]:
    from rtlib.conf.edge_experiments import HUBS

    return HUBS


def _hub_names(sites) -> list[str] | Feedback:
    """The candidate sites named in ``sites`` (each a city of :data:`HUBS`, none twice), or
    a failing Feedback saying which entry is not."""
    from rtlib.conf.geodata import city

    hubs, names = _hubs(), []
    for s in sites:
        if not isinstance(s, str):
            return fail(f"Each site should be a city name (a string), got {type(s).__name__}.")
        try:
            name = city(s).name
        except ValueError:
            return fail(f"{s!r} is not a city of the table.", "Pick the sites from HUBS.")
        if name not in hubs:
            return fail(f"{name} is not one of the candidate sites.",
                        "Edges can only go where the provider has a data centre: pick from HUBS.")
        names.append(name)
    if len(set(names)) != len(names):
        return fail("A site appears twice: two servers in one city serve no one better than one.")
    return names


@lru_cache(maxsize=1)
def _matrix() -> np.ndarray:
    from rtlib.conf.edge import delay_matrix_ms, participants

    return delay_matrix_ms(participants(GROUP), _hubs())


@lru_cache(maxsize=1)
def optimum_ms() -> float:
    """The least possible worst one-way delay [ms] from a participant to its nearest of K hubs."""
    from rtlib.conf.edge import exact_k_center, placement_cost_ms

    m = _matrix()
    return placement_cost_ms(m, exact_k_center(m, K))


def edge_sites(sites) -> Feedback:
    """Exercise 11.1: ``sites`` is a list of K city names among ``HUBS``."""
    from rtlib.conf.edge import greedy_k_center

    if sites is None:
        return fail("Not answered yet: replace None with your list of sites and run the cell again.")
    if isinstance(sites, str) or not isinstance(sites, (list, tuple)):
        return fail(f"sites should be a list of {K} city names, got {type(sites).__name__}.",
                    'For example ["London", "Tokyo", "Miami"].')
    if len(sites) != K:
        return fail(f"sites should name exactly {K} cities, got {len(sites)}.")
    names = _hub_names(sites)
    if isinstance(names, Feedback):
        return names
    m = _matrix()
    hubs = _hubs()
    idx = [hubs.index(n) for n in names]
    per = m[:, idx].min(axis=1)
    cost = float(per.max())
    if cost <= TOLERANCE * optimum_ms() + 1e-9:
        return ok(f"Good placement: the farthest participant is {cost:.0f} ms from an edge, within 5 % of the "
                  "best any three hubs can do.")
    worst = GROUP[int(np.argmax(per))]
    hints = [f"With these sites {worst} is the worst off, {cost:.0f} ms one way from its nearest edge: "
             "move a site to serve that region, then check who is worst off next."]
    if sorted(idx) == sorted(greedy_k_center(m, K)):
        hints.append("This is what adding the best single site at a time gives; the best three together need "
                     "not contain those picks: try replacing each of them in turn.")
    return fail("Not good enough yet: another choice of three hubs brings the farthest participant clearly "
                "closer.", *hints)


# -- 11.2 the farthest two people can be -----------------------------------------------------
LIMIT_MS = 150.0


def _fixed_ms() -> float:
    from rtlib.quality.budget import TYPICAL_CALL

    return TYPICAL_CALL.with_(propagation_ms=0.0).total_ms


def max_distance_km() -> float:
    """(150 ms - the budget's fixed stages) / the fibre delay per km."""
    from rtlib.conf.geo import FIBRE_US_PER_KM

    return (LIMIT_MS - _fixed_ms()) / (FIBRE_US_PER_KM / 1000.0)


def max_distance(distance_km) -> Feedback:
    """Exercise 11.2: the largest great-circle distance [km] for 150 ms mouth-to-ear at the floor."""
    from rtlib.conf.geo import C_KM_PER_S, FIBRE_US_PER_KM, PUBLIC_INTERNET_INFLATION, BACKBONE_INFLATION

    value = as_number(distance_km, "distance_km")
    if isinstance(value, Feedback):
        return value
    expected = max_distance_km()
    per_km_ms = FIBRE_US_PER_KM / 1000.0
    fixed = _fixed_ms()
    slips = (
        (expected / 2, "150 ms is one way, mouth to ear: do not halve it as if it were a round trip."),
        ((LIMIT_MS - fixed) / (1000.0 / C_KM_PER_S), "Light in glass is slower than in vacuum: about 2/3 c "
                                                   "(use FIBRE_US_PER_KM)."),
        (LIMIT_MS / per_km_ms, "Capture, coding, the jitter buffer and playout take their share of the 150 ms "
                               "before any distance is covered."),
        ((400.0 - fixed) / per_km_ms, "The limit here is G.114's 150 ms (essentially transparent), not 400 ms."),
        (expected / PUBLIC_INTERNET_INFLATION, "The floor has no detour: the great circle itself, no route "
                                               "inflation."),
        (expected / BACKBONE_INFLATION, "The floor has no detour: the great circle itself, no route inflation."),
        (expected * 1000.0, "The answer is asked in km, not m."),
    )
    for wrong, hint in slips:
        if math.isclose(value, wrong, rel_tol=0.01) and not math.isclose(value, expected, rel_tol=0.01):
            return fail("Not right yet.", hint)
    return close_to(value, expected, what="distance_km", rel=0.01)


# -- 11.3 (design): the fewest edges for a transparent call ----------------------------------------
#: The call of exercise 11.3: eight European cities, everyone on fibre.
EU_CALL = ("London", "Paris", "Madrid", "Rome", "Berlin", "Warsaw", "Stockholm", "Moscow")
EU_LIMIT_MS = 150.0  # G.114: essentially transparent, mouth to ear
EU_MAX_SITES = 6


def _site_names(sites) -> list[str] | Feedback:
    if sites is None:
        return fail("Not answered yet: replace None with your list of sites and run the cell again.")
    if isinstance(sites, str) or not isinstance(sites, (list, tuple)):
        return fail(f"sites should be a list of city names, got {type(sites).__name__}.",
                    'For example ["Tokyo", "Sydney"] (the form, not a suggestion).')
    if not 1 <= len(sites) <= EU_MAX_SITES:
        return fail(f"sites should name 1 to {EU_MAX_SITES} cities, got {len(sites)}.")
    return _hub_names(sites)


def simulate_edges(sites) -> dict:
    """Exercise 11.3: the European call through edges at ``sites`` (city names among ``HUBS``).

    Each participant joins its nearest site; the sites are joined by the backbone
    (:func:`rtlib.conf.edge.edge_call`).  Returns the ``worst_ms`` mouth-to-ear delay of any
    ordered pair and that ``worst_pair`` (talker, listener) with its ``worst_path``, the
    ``share_within`` 150 ms of the ordered pairs, and ``served``: each site with the
    participants it serves.  Used by the check and free for sweeps.
    """
    from rtlib.conf.edge import edge_call

    names = _site_names(list(sites) if isinstance(sites, tuple) else sites)
    if isinstance(names, Feedback):
        raise ValueError(f"sites: {names.message}")
    call = edge_call(EU_CALL, names)
    worst = max(call.pairs, key=lambda p: p.mouth_to_ear_ms)
    served = {s: [p for p, home in call.server_of.items() if home == s] for s in names}
    return {"worst_ms": worst.mouth_to_ear_ms, "worst_pair": (worst.a, worst.b), "worst_path": worst.path,
            "share_within": call.share_within(EU_LIMIT_MS), "served": served}


@lru_cache(maxsize=8)
def _some_k_meets(k: int) -> bool:
    from itertools import combinations

    from rtlib.conf.edge import edge_call

    return any(edge_call(EU_CALL, list(c)).worst_ms <= EU_LIMIT_MS for c in combinations(_hubs(), k))


def fewest_sites_below(k: int) -> int | None:
    """The fewest sites (fewer than ``k``) with which every pair is within 150 ms, or None.

    Tries every combination of the candidate sites, one site, then two, ...: exact.
    """
    for j in range(1, k):
        if _some_k_meets(j):
            return j
    return None


def _edge_design(sites) -> Feedback:
    names = _site_names(sites)
    if isinstance(names, Feedback):
        return names
    r = simulate_edges(names)
    a, b = r["worst_pair"]
    outcome = (f"{r['share_within']:.0%} of the ordered pairs hear each other within 150 ms; the worst, "
               f"{a} heard in {b}, after {r['worst_ms']:.1f} ms (via {' → '.join(r['worst_path'][1:-1])})")
    idle = [s for s, who in r["served"].items() if not who]
    if r["worst_ms"] <= EU_LIMIT_MS:
        fewer = fewest_sites_below(len(names))
        if fewer is None:
            return ok(f"Every pair within 150 ms with {len(names)} site(s), and no fewer can do it: {outcome}.")
        if idle:
            return fail(f"Every pair is within 150 ms ({outcome}), but {', '.join(idle)} serves nobody.",
                        "A site that is nobody's nearest only costs money: what happens without it?",
                        "Remove the idle site, then see whether the others can be moved so that one fewer still "
                        "covers the worst pairs.")
        return fail(f"Every pair is within 150 ms ({outcome}), but fewer sites can do it.",
                    "Which of your sites could go if another one moved a little?",
                    "With fewer sites some participants reach theirs over a longer public leg: place the remaining "
                    "sites so that the pairs at the ends of the call, not the centre, keep their public legs short.")
    if len(names) == 1:
        return fail(f"Not every pair is within 150 ms: {outcome}.",
                    "With one site every packet crosses the public Internet twice: how far do the ends of the "
                    "call have to go?",
                    "A second site lets the far ends leave the public Internet nearby and cross on the backbone, "
                    "whose detour is smaller; put the sites near the worst pair's ends.")
    return fail(f"Not every pair is within 150 ms: {outcome}.",
                "Look at the worst pair's path: which of its legs is long, the public ones or the backbone?",
                "Each participant joins its nearest site: a site close to the worst pair's ends shortens their public "
                "legs, where the detour is largest; the backbone between sites is the cheaper way to cover distance.")


edge_design = StagedCheck(_edge_design)
edge_design.__doc__ = """Exercise 11.3 (design): a list of edge sites (among ``HUBS``) for the European call.

The design is evaluated with :func:`simulate_edges` (:func:`rtlib.conf.edge.edge_call`: nearest
edge, overlay-routed backbone, chapter 01's budget).  It passes when every ordered pair of the
call hears the other within 150 ms mouth to ear and no smaller set of candidate sites can do
that (the check tries them all).  The feedback shows the design's own outcome; hints come in
stages (``hint=True``).
"""
