"""What a sender could reach on a link: the omniscient delay floor and the lagged oracle's frontier.

Two yardsticks turn "p95 delay 180 ms, utilisation 0.7" into a judgement:

- the **omniscient floor** (:func:`omniscient_floor_ms`), after Winstein et al.
  ("Stochastic Forecasts Achieve High Throughput and Low Delay over Cellular
  Networks", NSDI 2013, section 5): even a sender that knew every future delivery
  opportunity cannot deliver a packet between opportunities.  At each instant ``t``
  (1 ms grid) the floor's delay is the time since the last delivery opportunity; its
  95th percentile over time is the part of a p95 no controller can remove.  Sprout's
  *self-inflicted delay* is a protocol's delay measured the same way, over time
  (:func:`signal_delay_p95_ms`: at each instant, the age of the freshest media the
  receiver holds), minus that floor;
- the **lagged oracle's frontier** (:func:`frontier`): :class:`rtlib.cc.oracle.LaggedOracle`
  runs over a grid of margins and averaging windows (``ORACLE_GRID``), each run giving
  a (p95 delay, utilisation) point.  ``F(d)`` is the best utilisation among the runs
  with p95 <= d; ``d0`` the lowest p95 of any run.  The delay budget a real controller
  is held to on the link is ``D = max(100 ms, d0 + 30 ms)`` (:func:`delay_budget_ms`), and
  it passes when its p95 <= D and its utilisation >= F(D) - 0.05 (:func:`meets_bar`).

Used in: notebooks/08_adaptive_bitrate.ipynb (section "When GCC is not enough:
self-clocked senders"), benchmarks/bench_cc.py.
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np

from rtlib.net.capacity import MTU_BYTES

#: The oracle's settings: margins x averaging windows, capacity known 100 ms late.
ORACLE_GRID = tuple({"margin": m, "window_s": w, "lag_s": 0.1} for m in (0.4, 0.6, 0.8, 1.0) for w in (0.05, 0.2))


def floor_from_opportunities_ms(times_ms, duration_ms: float, step_ms: float = 1.0) -> float:
    """p95 over time (``step_ms`` grid on ``[0, duration_ms)``) of the time since the last
    delivery opportunity at or before each instant (before the first one: since 0)."""
    t_opp = np.sort(np.asarray(times_ms, dtype=float))
    if not duration_ms > 0:
        raise ValueError(f"duration_ms must be > 0 ms, got {duration_ms!r}")
    if not 0 < step_ms <= duration_ms:
        raise ValueError(f"step_ms must be in (0, duration_ms] ms, got {step_ms!r}")
    grid = np.arange(0.0, duration_ms, step_ms)
    k = np.searchsorted(t_opp, grid, side="right") - 1
    last = np.where(k >= 0, t_opp[np.clip(k, 0, None)] if t_opp.size else 0.0, 0.0)
    return float(np.percentile(grid - last, 95))


def signal_delay_p95_ms(arrival_s, origin_s, start_s: float, end_s: float, *, offset_s: float = 0.0,
                        step_ms: float = 1.0) -> float:
    """p95 over time of the age of the freshest data the receiver holds (Sprout's delay).

    At each instant ``t`` of a ``step_ms`` grid on ``[start_s, end_s)`` the delay is
    ``t - origin - offset_s``, ``origin`` being the latest origin time (here: when the
    encoder handed the packet over) among the packets that arrived at or before ``t``;
    before the first arrival, ``t - start_s``.  Winstein et al. (NSDI 2013, section 5)
    measure delay this way so that an outage counts for as long as it lasts, whether or
    not the sender keeps sending into it; a per-packet p95 lets a sender that goes quiet
    look fast.  ``offset_s`` removes the propagation delay, so the figure compares with
    :func:`floor_from_opportunities_ms`.  Lost packets (NaN arrival) are ignored."""
    arr = np.asarray(arrival_s, dtype=float)
    org = np.asarray(origin_s, dtype=float)
    if arr.shape != org.shape:
        raise ValueError(f"arrival_s and origin_s must have the same length, got {arr.shape} and {org.shape}")
    if not end_s > start_s:
        raise ValueError(f"end_s must be > start_s, got {start_s!r}..{end_s!r}")
    if not 0 < step_ms <= (end_s - start_s) * 1000:
        raise ValueError(f"step_ms must be in (0, (end_s - start_s) * 1000] ms, got {step_ms!r}")
    ok = ~np.isnan(arr)
    arr, org = arr[ok], org[ok]
    order = np.argsort(arr, kind="stable")
    arr = arr[order]
    freshest = np.maximum.accumulate(org[order]) if org.size else org
    grid = start_s + np.arange(0.0, (end_s - start_s) * 1000, step_ms) / 1000
    k = np.searchsorted(arr, grid, side="right") - 1
    age = np.where(k >= 0, grid - freshest[np.clip(k, 0, None)] - offset_s if arr.size else 0.0, grid - start_s)
    return float(np.percentile(age, 95) * 1000)


def omniscient_floor_ms(capacity, duration_s: float, bytes_per_opportunity: int = MTU_BYTES) -> float:
    """The omniscient floor of a link (see the module docstring): one opportunity per
    ``bytes_per_opportunity`` the link delivers (a Mahimahi line, 1500 bytes)."""
    if not 0 < duration_s <= 3600:
        raise ValueError(f"duration_s must be in (0, 3600] s, got {duration_s!r}")
    total = float(capacity.bytes_by(duration_s))
    n = int(total // bytes_per_opportunity)
    times_s = np.asarray(capacity.time_of_bytes(np.arange(1, n + 1) * float(bytes_per_opportunity)), dtype=float)
    return floor_from_opportunities_ms(times_s * 1000, duration_s * 1000)


def frontier(points: Iterable[tuple[float, float]]) -> Callable[[float], float]:
    """``F(d)``: the best utilisation among (p95_ms, utilisation) points with p95 <= d (NaN if none)."""
    pts = sorted((float(p), float(u)) for p, u in points if math.isfinite(p) and math.isfinite(u))

    def F(d_ms: float) -> float:
        ok = [u for p, u in pts if p <= d_ms]
        return max(ok) if ok else math.nan

    return F


def lowest_p95_ms(points: Iterable[tuple[float, float]]) -> float:
    """``d0``: the lowest p95 among the points."""
    p = [float(p) for p, _ in points if math.isfinite(p)]
    return min(p) if p else math.nan


def delay_budget_ms(d0_ms: float, floor_ms: float = 100.0, slack_ms: float = 30.0) -> float:
    """``D = max(100 ms, d0 + 30 ms)``."""
    return max(floor_ms, d0_ms + slack_ms)


def meets_bar(utilization: float, p95_ms: float, F_at_D: float, D_ms: float, tolerance: float = 0.05) -> bool:
    """A controller meets the bar when its p95 <= D and its utilisation >= F(D) - ``tolerance``."""
    return bool(p95_ms <= D_ms and utilization >= F_at_D - tolerance)


def oracle_points(run: Callable[..., object], grid=ORACLE_GRID) -> list[dict]:
    """Run the oracle once per setting: ``run("oracle", controller_args=kw)`` must return a
    :class:`rtlib.cc.call.CallResult`; each point keeps the setting and its summary."""
    out = []
    for kw in grid:
        s = run("oracle", controller_args=dict(kw)).summary()
        out.append({**kw, "p95_ms": s["delay_p95_ms"], "utilization": s["utilization"]})
    return out
