"""Geography of latency: great-circle distance, light in fibre, route inflation, access.

How far apart are two callers, and what does the distance alone cost?

    distance (haversine) -> x route inflation -> x 4.9 us/km in glass -> + access (last mile)

- :func:`distance_km`: great-circle distance on a sphere of mean radius
  :data:`EARTH_RADIUS_KM` = 6371.0088 km (the IUGG mean radius R1 of the WGS84 ellipsoid,
  Moritz, "Geodetic Reference System 1980", J. Geodesy 74, 2000).  The sphere is off the
  ellipsoid's geodesic by at most about 0.5 %.
- :func:`fibre_one_way_ms`: light in standard single-mode fibre travels at c / n with
  group index n ≈ 1.468 at 1550 nm (ITU-T G.652 fibre; :data:`rtlib.quality.budget.FIBRE_GROUP_INDEX`),
  about 204,000 km/s, i.e. 4.9 µs per km, a third slower than in vacuum.
- Route inflation: cables do not follow great circles.  Bozkurt et al., "Dissecting Latency
  in the Internet's Fiber Infrastructure" (arXiv:1811.10737, 2018) report the rule of thumb
  that public-Internet latency is ≈ 2.1 x the great-circle distance at fibre speed
  (:data:`PUBLIC_INTERNET_INFLATION`), and that shortest paths through US fibre conduits
  would still be ≈ 1.3 x (:data:`CONDUIT_INFLATION`, the floor).  A provider's private
  backbone lies between: on the measured AWS table of ``data/geo/measured_rtt.json`` the
  median inflation of the pairs with a direct cable route is ≈ 1.5
  (:data:`BACKBONE_INFLATION`; :func:`fitted_inflation` recomputes it).
- :data:`ACCESS_RTT_MS`: the last mile (home line or radio) adds a round trip of its own.

:func:`model_rtt_ms` puts them together; :func:`model_residuals` compares the model with the
measured RTTs and says where it is off and why.

Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from rtlib.conf.geodata import City, city, load_measured_rtts
from rtlib.quality.budget import C_KM_PER_S, FIBRE_GROUP_INDEX

#: Mean Earth radius [km]: IUGG R1 = (2a + b) / 3 of the WGS84/GRS80 ellipsoid.
EARTH_RADIUS_KM = 6371.0088

#: One-way delay of light in fibre [µs per km] (c / 1.468): ≈ 4.897 µs/km.
FIBRE_US_PER_KM = FIBRE_GROUP_INDEX / C_KM_PER_S * 1e6

#: Path length / great-circle length of public-Internet paths (Bozkurt et al. 2018, rule of thumb).
PUBLIC_INTERNET_INFLATION = 2.1
#: Shortest paths through the US long-haul fibre conduits (Bozkurt et al. 2018, median): the floor.
CONDUIT_INFLATION = 1.3
#: A provider backbone: median inflation of the direct-route pairs of the measured AWS table (≈ 1.46).
BACKBONE_INFLATION = 1.5

#: Round-trip time the access network adds [ms] (device to the first router of the provider and back),
#: typical idle values, to be changed by the learner:
#:   fibre 10 ms: Ookla's 2018 Q2 US report (summarised at potsandpansbyccg.com/tag/ookla) gives 9 ms
#:       average latency for Verizon, mostly Fios fibre; the FCC's Measuring Broadband America fixed
#:       reports find fibre the lowest-latency fixed technology;
#:   cable 20 ms: higher than fibre in the same FCC reports (DOCSIS request-grant upstream scheduling);
#:   wifi 15 ms: a fibre line plus a home Wi-Fi hop of a few ms (Sui et al., "Characterizing and
#:       Improving WiFi Latency in Large-Scale Operational Networks", MobiSys 2016);
#:   4g 35 ms: Ookla 2018 Q2 (same summary): 31-39 ms average latency of the four US carriers (LTE);
#:   5g 20 ms: below LTE but far above the 1 ms of 3GPP's URLLC target: Fezeu et al., PAM 2023, find
#:       sub-millisecond 5G mmWave PHY latency rare and end-to-end delay dominated by scheduling,
#:       retransmission and server placement;
#:   none 0 ms: a server in a data centre.
ACCESS_RTT_MS = {"fibre": 10.0, "cable": 20.0, "wifi": 15.0, "4g": 35.0, "5g": 20.0, "none": 0.0}


def _latlon(x) -> tuple[float, float]:
    if isinstance(x, (str, City)):
        c = city(x)
        return c.lat_deg, c.lon_deg
    try:
        lat, lon = (float(v) for v in x)
    except (TypeError, ValueError):
        raise ValueError(f"a place is a city name or a (lat_deg, lon_deg) pair, got {x!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 360):
        raise ValueError(f"lat_deg must be in [-90, 90] and lon_deg in [-180, 360], got ({lat}, {lon})")
    return lat, lon


def haversine_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """Great-circle distance [km] on the mean-radius sphere (numpy-vectorised haversine)."""
    p1, p2 = np.radians(lat1_deg), np.radians(lat2_deg)
    dphi, dlam = p2 - p1, np.radians(np.asarray(lon2_deg, float) - np.asarray(lon1_deg, float))
    h = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlam / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def distance_km(a, b) -> float:
    """Great-circle distance [km] between two places (city names, ``City`` or (lat, lon) pairs)."""
    (la1, lo1), (la2, lo2) = _latlon(a), _latlon(b)
    return haversine_km(la1, lo1, la2, lo2)


def fibre_one_way_ms(distance_km_, inflation: float = 1.0) -> float:
    """One-way delay [ms] over ``distance_km_`` of great circle, the route ``inflation`` x longer."""
    if not (isinstance(inflation, (int, float)) and 1.0 <= inflation <= 5.0):
        raise ValueError(f"inflation must be in [1, 5] (route length / great circle), got {inflation!r}")
    d = np.asarray(distance_km_, float)
    if np.any(~np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"distance_km must be finite and >= 0 km, got {distance_km_!r}")
    ms = d * inflation * FIBRE_US_PER_KM / 1000.0
    return float(ms) if np.ndim(ms) == 0 else ms


def fibre_floor_rtt_ms(a, b) -> float:
    """The speed-of-light floor [ms]: RTT along the great circle in fibre, no detour, no access."""
    return 2.0 * fibre_one_way_ms(distance_km(a, b))


def access_rtt_ms(access: str) -> float:
    """RTT [ms] the last mile adds for an access type (see :data:`ACCESS_RTT_MS`)."""
    key = str(access).lower().replace("-", "").replace(" ", "")
    key = {"fiber": "fibre", "ftth": "fibre", "lte": "4g", "nr": "5g"}.get(key, key)
    if key not in ACCESS_RTT_MS:
        raise ValueError(f"access must be one of {sorted(ACCESS_RTT_MS)}, got {access!r}")
    return ACCESS_RTT_MS[key]


def model_rtt_ms(a, b, *, inflation: float = BACKBONE_INFLATION, access_a: str = "none",
                 access_b: str = "none") -> float:
    """Modelled RTT [ms] between places ``a`` and ``b``.

    ``2 x distance x inflation x 4.9 µs/km + access RTT of a + access RTT of b``.  With the
    defaults (backbone inflation, no access) it models a data-centre-to-data-centre RTT as in
    the measured table; use ``inflation=PUBLIC_INTERNET_INFLATION`` and an access type for a
    user at home.  Queueing, congestion and server time are left out: the model is a floor
    that a lightly loaded path approaches, not a forecast.
    """
    return (2.0 * fibre_one_way_ms(distance_km(a, b), inflation)
            + access_rtt_ms(access_a) + access_rtt_ms(access_b))


#: Measured pairs whose path in 2017 did not follow the great circle, and why.
DETOURS = {
    frozenset({"Dublin", "Tokyo"}): "Europe-Japan traffic crossed the United States (no Arctic cable)",
    frozenset({"Dublin", "Singapore"}): "Europe-Singapore traffic was routed through the United States",
    frozenset({"Dublin", "São Paulo"}): "no direct Europe-Brazil cable until EllaLink (2021): via the US",
    frozenset({"Singapore", "Sydney"}): "before the Australia-Singapore Cable (2018) and Indigo (2019) "
                                        "the path went a long way round, through other hubs",
    frozenset({"Sydney", "São Paulo"}): "no South Pacific cable to South America: via the US",
    frozenset({"Singapore", "São Paulo"}): "no cable across the Indian/South Atlantic: via the US",
}


@dataclass(frozen=True)
class Residual:
    """One measured pair against the model: ``residual_ms = measured - model``."""

    a: str
    b: str
    distance_km: float
    measured_rtt_ms: float
    model_rtt_ms: float
    floor_rtt_ms: float
    detour: str | None

    @property
    def residual_ms(self) -> float:
        return self.measured_rtt_ms - self.model_rtt_ms

    @property
    def inflation(self) -> float:
        """Measured RTT / speed-of-light-in-fibre floor: the pair's effective route inflation."""
        return self.measured_rtt_ms / self.floor_rtt_ms

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "distance_km": self.distance_km, "measured_rtt_ms": self.measured_rtt_ms,
                "model_rtt_ms": self.model_rtt_ms, "floor_rtt_ms": self.floor_rtt_ms,
                "residual_ms": self.residual_ms, "inflation": self.inflation, "detour": self.detour}


#: Bound on |residual| [ms] of the pairs with a direct route (the tests check it).
DIRECT_RESIDUAL_BOUND_MS = 40.0


def model_residuals(inflation: float = BACKBONE_INFLATION) -> list[Residual]:
    """The model against the 20 measured AWS inter-region RTTs (``data/geo/measured_rtt.json``).

    Where the model is off, and why (with the default ``inflation`` = 1.5):

    - pairs with a direct cable route (14 of 20) are within ±40 ms
      (:data:`DIRECT_RESIDUAL_BOUND_MS`), 12 of them within ±20 ms;
    - short pairs are underestimated by 10-20 ms: a fixed cost per path (routers, the
      way into and out of each region, metro fibre) that distance does not scale;
      Tokyo-Seoul (1,156 km) measures 31 ms against 17 ms modelled;
    - pairs that cross the United States by land (San Francisco-Dublin, San Francisco-
      São Paulo, Washington-San Francisco) come out 15-40 ms too low: long-haul land routes
      follow railways and roads, more inflated than the submarine cables;
    - the longest direct sea routes (trans-Pacific) come out up to 20 ms too high, as their
      cables run closer to the great circle than the median 1.5;
    - the 6 pairs in :data:`DETOURS` are underestimated by 50-130 ms because their 2017
      route did not follow the great circle at all (Europe-Asia and South America-Asia
      through the United States, Singapore-Sydney before the Indigo cable): no single
      inflation factor fits both kinds; the model is a floor, the detour is a fact of the
      cable map;
    - the model has no queueing: measured averages include some, which pushes residuals up.
    """
    out = []
    for a, b, measured in load_measured_rtts():
        d = distance_km(a, b)
        out.append(Residual(a, b, d, measured, model_rtt_ms(a, b, inflation=inflation),
                            2.0 * fibre_one_way_ms(d), DETOURS.get(frozenset({a, b}))))
    return out


def fitted_inflation(direct_only: bool = True) -> float:
    """Median of measured RTT / fibre floor over the measured pairs (direct-route pairs by default)."""
    return float(statistics.median(r.inflation for r in model_residuals() if not (direct_only and r.detour)))


def great_circle_points(a, b, n: int = 64) -> np.ndarray:
    """``n`` points (lat_deg, lon_deg) along the great circle from ``a`` to ``b`` (slerp)."""
    (la1, lo1), (la2, lo2) = _latlon(a), _latlon(b)

    def vec(lat, lon):
        lat, lon = math.radians(lat), math.radians(lon)
        return np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])

    p, q = vec(la1, lo1), vec(la2, lo2)
    omega = math.acos(max(-1.0, min(1.0, float(p @ q))))
    t = np.linspace(0.0, 1.0, max(2, int(n)))
    if omega < 1e-9:
        pts = np.outer(np.ones_like(t), p)
    else:
        pts = (np.sin((1 - t) * omega)[:, None] * p + np.sin(t * omega)[:, None] * q) / math.sin(omega)
    lat = np.degrees(np.arcsin(np.clip(pts[:, 2], -1, 1)))
    lon = np.degrees(np.arctan2(pts[:, 1], pts[:, 0]))
    return np.column_stack([lat, lon])
