"""Sprout's stochastic forecast: a belief about the link's rate, and a cautious count of what it will deliver.

Sprout (Winstein, Sivaraman and Balakrishnan, "Stochastic Forecasts Achieve High
Throughput and Low Delay over Cellular Networks", NSDI 2013, section 3) does not
average the delivered rate: it keeps a *probability distribution* over the link's
current rate and sends only what the link will deliver within the delay target with
95 % probability.  The model and its constants are the paper's:

- packets leave the bottleneck as a Poisson process of rate ``lambda`` (MTU-sized
  packets per second), ``lambda`` in 256 bins from 0 to 1000 packets/s;
- ``lambda`` wanders as Brownian motion with noise power ``sigma`` = 200 packets/s per
  square-root second, and an outage (``lambda`` = 0) is sticky: it ends at the escape rate
  ``lambda_z`` = 1 per second;
- every ``tick_s`` = 20 ms the belief is moved forward by that motion, then weighed by the
  likelihood of what arrived in the tick: the Poisson probability of ``k`` packets when the
  link was busy all tick, the probability of *at least* ``k`` when it was not (a sender
  that offered less than the link could carry learns only a lower bound, the censored
  observation);
- the forecast is the 5th percentile of the packets delivered over a horizon.

Two simplifications, stated: the count over the horizon, given a starting rate, is taken
as normal with the mean and variance of the Poisson count of an integrated Brownian rate
(``lambda T`` and ``lambda T + sigma^2 T^3 / 3``), where Sprout tabulates it exactly; and
"busy" is read from the transport-wide feedback's one-way delays (a tick that some packet
spent queued, its delay more than ``queued_s`` over the smallest seen), where Sprout's
sender tells the receiver when it next expects to send.  Sizes are counted in units of
``packet_bytes`` (Sprout's 1500-byte MTU), so a 300-byte audio packet counts as a fifth.

:class:`StochasticForecaster` is sans-IO: fed arrival times and one-way delays, asked
for a cautious byte count.  :class:`rtlib.cc.selfclocked.SelfClockedController` builds
its window from it with ``forecast="stochastic"`` (the ``sprout`` controller).

Used in: notebooks/08_adaptive_bitrate.ipynb (section "When GCC is not enough:
self-clocked senders"), benchmarks/bench_cc.py, ``python -m rtlib abr --controller sprout``.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from scipy.special import gammainc, ndtr

#: Sprout's constants (NSDI 2013, section 3 and table of parameters).
RATE_BINS = 256
MAX_RATE_PPS = 1000.0
SIGMA_PPS_PER_SQRT_S = 200.0
OUTAGE_ESCAPE_PER_S = 1.0
PACKET_BYTES = 1500
PERCENTILE = 0.05
#: Horizons are rounded to this step, so each horizon's count distribution is built once.
HORIZON_STEP_S = 0.005


def diffusion_matrix(rates_pps: np.ndarray, tick_s: float, sigma: float, escape_per_s: float) -> np.ndarray:
    """``M[i, j]``: probability that the rate moves from bin ``i`` to bin ``j`` in one tick.

    Gaussian steps of standard deviation ``sigma * sqrt(tick_s)``, what falls below 0 or
    above the top lands in the end bins; the zero bin keeps its mass with probability
    ``exp(-escape_per_s * tick_s)`` (an outage is sticky) and spreads the rest."""
    n = rates_pps.size
    edges = np.concatenate(([-np.inf], (rates_pps[:-1] + rates_pps[1:]) / 2, [np.inf]))
    sd = sigma * math.sqrt(tick_s)
    if sd > 0:
        m = np.diff(ndtr((edges[None, :] - rates_pps[:, None]) / sd), axis=1)
    else:  # a rate that does not move
        m = np.eye(n)
    stay = math.exp(-escape_per_s * tick_s)
    m[0] *= 1 - stay
    m[0, 0] += stay
    return m / m.sum(axis=1, keepdims=True)


class StochasticForecaster:
    """Sprout's belief over the link rate and its cautious forecast (see the module docstring).

    ``add(arrival_s, size_bytes, queued_s)`` records one delivered packet and the time
    it spent queued (one-way delay minus the smallest seen); ``close_until(t_s)`` ends
    every tick finished by ``t_s``; ``cautious_bytes(horizon_s)`` is the ``percentile``
    point of the bytes the link delivers in the next ``horizon_s``.
    """

    def __init__(self, tick_s: float = 0.02, *, bins: int = RATE_BINS, max_rate_pps: float = MAX_RATE_PPS,
                 sigma: float = SIGMA_PPS_PER_SQRT_S, escape_per_s: float = OUTAGE_ESCAPE_PER_S,
                 percentile: float = PERCENTILE, packet_bytes: float = PACKET_BYTES, queued_s: float = 0.01):
        if not 0.001 <= tick_s <= 1:
            raise ValueError(f"tick_s must be in [0.001, 1] s, got {tick_s!r}")
        if not 8 <= bins <= 4096:
            raise ValueError(f"bins must be in [8, 4096], got {bins!r}")
        if not 0 < percentile < 1:
            raise ValueError(f"percentile must be in (0, 1), got {percentile!r}")
        if not 0 < max_rate_pps <= 1e6:
            raise ValueError(f"max_rate_pps must be in (0, 1e6] packets/s, got {max_rate_pps!r}")
        if not 0 <= sigma <= 1e5:
            raise ValueError(f"sigma must be in [0, 1e5] packets/s per sqrt(s), got {sigma!r}")
        if not 0 <= escape_per_s <= 1e3:
            raise ValueError(f"escape_per_s must be in [0, 1e3] per s, got {escape_per_s!r}")
        if not 0 <= queued_s <= 1:
            raise ValueError(f"queued_s must be in [0, 1] s, got {queued_s!r}")
        self.tick_s, self.percentile, self.packet_bytes = float(tick_s), float(percentile), float(packet_bytes)
        self.sigma, self.queued_s = float(sigma), float(queued_s)
        self.rates_pps = np.linspace(0.0, max_rate_pps, bins)
        self._mean_per_tick = self.rates_pps * self.tick_s
        self._log_mean = np.log(np.maximum(self._mean_per_tick, 1e-300))
        self._evolve = diffusion_matrix(self.rates_pps, self.tick_s, self.sigma, escape_per_s)
        self.belief = np.full(bins, 1.0 / bins)
        self._tick: int | None = None
        self._packets = 0.0
        self._busy: deque = deque()     # (first, last) tick ranges some packet spent queued in
        self._cdf_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.ticks = 0
        self.busy_ticks = 0             # ticks observed in full (the link was busy); the rest were censored

    # -- the belief -------------------------------------------------------------------
    def _observe(self, k: float, busy: bool) -> None:
        b = self.belief @ self._evolve
        if busy:   # Poisson probability of k (continuous in k; the factorial is the same in every bin)
            log_like = k * self._log_mean - self._mean_per_tick
            like = np.exp(log_like - log_like.max())
        elif k > 0:  # at least k: the lower regularised gamma function
            like = gammainc(k, self._mean_per_tick)
        else:      # nothing offered, nothing learnt
            like = None
        if like is not None:
            post = b * like
            s = post.sum()
            b = post / s if s > 1e-300 else b
        self.belief = b

    def _close_one(self) -> None:
        busy = self._busy
        while busy and busy[0][1] < self._tick:
            busy.popleft()
        full = bool(busy) and busy[0][0] <= self._tick
        self._observe(self._packets, full)
        self.busy_ticks += full
        self._packets = 0.0
        self._tick += 1
        self.ticks += 1

    def close_until(self, t_s: float) -> None:
        """Close every tick that ended at or before ``t_s``."""
        if self._tick is None:
            return
        end = int(math.floor(t_s / self.tick_s + 1e-9))
        while self._tick < end:
            self._close_one()

    def add(self, arrival_s: float, size_bytes: float, queued_s: float = 0.0) -> None:
        """One delivered packet: its arrival time, size and the time it waited in the queue.

        A packet that waited more than ``queued_s`` kept the link busy from the moment it
        joined the queue to its arrival: every tick in between is a full observation."""
        k = int(math.floor(arrival_s / self.tick_s + 1e-9))
        if self._tick is None:
            self._tick = k
        if queued_s > self.queued_s:
            first = int(math.floor((arrival_s - queued_s) / self.tick_s + 1e-9))
            busy = self._busy
            if busy and first <= busy[-1][1] + 1:
                busy[-1] = (busy[-1][0], max(busy[-1][1], k))
            else:
                busy.append((first, k))
        if k > self._tick:
            self.close_until(k * self.tick_s)
        self._packets += size_bytes / self.packet_bytes

    # -- the forecast -----------------------------------------------------------------
    def _count_cdf(self, horizon_s: float) -> tuple[np.ndarray, np.ndarray]:
        key = max(1, int(round(horizon_s / HORIZON_STEP_S)))
        got = self._cdf_cache.get(key)
        if got is None:
            t = key * HORIZON_STEP_S
            mean = self.rates_pps * t
            sd = np.sqrt(mean + self.sigma ** 2 * t ** 3 / 3) + 1e-9
            grid = np.arange(0.0, self.rates_pps[-1] * t + 1.0, max(0.25, self.rates_pps[-1] * t / 512))
            cdf = ndtr((grid[None, :] - mean[:, None]) / sd[:, None])
            got = self._cdf_cache[key] = (grid, cdf)
        return got

    def cautious_packets(self, horizon_s: float) -> float:
        """The ``percentile`` point of the packets delivered in the next ``horizon_s`` (the belief's mixture)."""
        grid, cdf = self._count_cdf(horizon_s)
        mix = self.belief @ cdf
        i = int(np.searchsorted(mix, self.percentile))
        if i == 0:
            return 0.0
        if i >= grid.size:
            return float(grid[-1])
        lo, hi = mix[i - 1], mix[i]
        return float(grid[i - 1] + (grid[i] - grid[i - 1]) * (self.percentile - lo) / max(hi - lo, 1e-12))

    def cautious_bytes(self, horizon_s: float) -> float:
        return self.cautious_packets(horizon_s) * self.packet_bytes

    def mean_rate_bps(self) -> float:
        """The belief's mean rate, in bit/s."""
        return float(self.belief @ self.rates_pps) * self.packet_bytes * 8
