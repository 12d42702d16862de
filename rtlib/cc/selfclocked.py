"""A self-clocked sender: the window is what the link delivered lately, times a target delay.

GCC (:mod:`rtlib.cc.gcc`) infers congestion from the *trend* of one-way delays and
moves a target rate by fixed steps.  On a cellular link whose capacity swings by a
factor of ten in a second, those steps are too slow.  Sprout (Winstein, Sivaraman and
Balakrishnan, "Stochastic Forecasts Achieve High Throughput and Low Delay over
Cellular Networks", NSDI 2013) takes another road: the receiver measures how many
bytes the link actually delivered in each 20 ms tick, and the sender sends only what
the link should deliver within a target delay.  Its simplest variant, *Sprout-EWMA*,
replaces Sprout's stochastic forecast by an exponentially weighted moving average of
the delivered rate; that variant is what this module builds, on the course's
transport-wide feedback (the arrival times that RFC 8888-style transport-cc reports
already carry, so nothing new goes on the wire):

- :class:`ArrivalRateEstimator`: bytes that arrived per ``tick_s`` (20 ms) tick of
  the receiver's clock, smoothed by an EWMA with weight ``alpha`` per tick; a tick in
  which nothing arrived while the sender had data in flight counts as zero (an outage
  pulls the estimate down at once);
- :class:`SelfClockedController`: congestion window = estimate x (smallest RTT seen +
  time between feedback reports + ``target_delay_s``) + ``share_bytes`` (two packets:
  what makes several such flows converge to equal shares), at least ``min_window_bytes``; the sender keeps its bytes in
  flight under it (the *self-clocking*: new data goes out only as old data is
  reported delivered).  Since the window holds ``target_delay_s`` more than the path
  needs, an empty queue lets the sender send faster than the estimate, which is how
  it finds capacity that appeared.
- *a sender that is not always busy*: Sprout's sender has bulk data and keeps the link
  busy, so its arrivals measure the link.  A video sender's arrivals measure the
  sender whenever the link is wider than what it sends: a 60 ms gap in a 16 Mbit/s LTE
  link empties three ticks and cuts the estimate by a third, and the window, built from
  the estimate, then lets through only what the estimate says, so the estimate climbs
  back at the window's pace (seconds).  When a report shows a packet that met no queue
  (its one-way delay within one tick of the smallest seen), the link delivered all
  that was offered and the estimate is a lower bound; the window is then built from the
  largest estimate of the last ``max_filter_rtts`` (10) smallest round trips instead,
  BBR's windowed-maximum bottleneck bandwidth (Cardwell et al., "BBR: Congestion-Based
  Congestion Control", ACM Queue 14(5), 2016).  As soon as a queue shows, the
  estimate alone rules again.  On TMobile-LTE-short.down (16 Mbit/s, five times what
  the encoder sends) this took utilisation from 0.88 to 0.96 (benchmarks/RESULTS.md, cc).

- *Sprout's own forecast* (``forecast="stochastic"``, :class:`SproutController`, the
  ``sprout`` controller): the estimate is replaced by Sprout's belief over the link rate
  (:class:`rtlib.cc.forecast.StochasticForecaster`) and the window is the belief's mean rate
  over ``rtt_min + report_interval`` (what is on the path and awaiting report) plus the
  bytes the link delivers within ``target_delay_s`` with 95 % probability (the queue
  Sprout allows), plus ``share_bytes``.  Its censored observations (a tick in which no
  packet queued only says the link carried at least that much) play the part of the
  windowed maximum, which it does not use.

The encoder follows the window frame by frame (``frame_by_frame = True``): each
frame is sized to the room left in the window, and skipped when there is none, so
the delay stays in the network and does not move into the sender's pacer (see
:class:`rtlib.cc.call.MediaFlow`).

Used in: notebooks/08_adaptive_bitrate.ipynb (section "When GCC is not enough:
self-clocked senders"), benchmarks/bench_cc.py, ``python -m rtlib abr --controller selfclocked``
(and ``--controller sprout``).
"""

from __future__ import annotations

import math
from collections import deque

from rtlib.cc.base import PacketResult, RateController
from rtlib.cc.forecast import StochasticForecaster


class ArrivalRateEstimator:
    """EWMA of the delivered rate per ``tick_s`` tick of arrival time (Sprout-EWMA's estimate).

    ``add(arrival_s, size_bytes)`` records one delivered packet (arrival times must not
    go back by more than a tick; reports come in order); ``close_until(t_s)`` ends every
    tick that finished by ``t_s``, each updating ``rate_bps = (1 - alpha) * rate_bps +
    alpha * bytes_in_tick * 8 / tick_s``.  The first tick sets the rate outright.
    """

    def __init__(self, tick_s: float = 0.02, alpha: float = 0.125):
        if not 0.001 <= tick_s <= 1:
            raise ValueError(f"tick_s must be in [0.001, 1] s, got {tick_s!r}")
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        self.tick_s, self.alpha = float(tick_s), float(alpha)
        self.rate_bps: float | None = None
        self._tick: int | None = None     # index of the open tick
        self._bytes = 0.0
        self.ticks = 0

    def _close_one(self) -> None:
        sample = self._bytes * 8 / self.tick_s
        self.rate_bps = sample if self.rate_bps is None else self.rate_bps + self.alpha * (sample - self.rate_bps)
        self._bytes = 0.0
        self._tick += 1
        self.ticks += 1

    def close_until(self, t_s: float) -> None:
        """Close every tick that ended at or before ``t_s`` (empty ones count as zero bytes)."""
        if self._tick is None:
            return
        end = int(math.floor(t_s / self.tick_s + 1e-9))  # ticks [.., end) are over
        n = end - self._tick
        if n <= 0:
            return
        self._close_one()
        n -= 1
        if n > 0:  # n empty ticks in a row: the EWMA of zeros, in closed form
            keep = (1 - self.alpha) ** n
            self.rate_bps *= keep
            self._tick += n
            self.ticks += n

    def add(self, arrival_s: float, size_bytes: float) -> None:
        k = int(math.floor(arrival_s / self.tick_s + 1e-9))
        if self._tick is None:
            self._tick = k
        elif k > self._tick:
            self.close_until(k * self.tick_s)
        self._bytes += size_bytes


class SelfClockedController(RateController):
    """Sprout-EWMA on transport-wide feedback (see the module docstring).

    ``target_delay_s``: the queueing the window allows beyond the path's round trip;
    ``tick_s``/``alpha``: the estimator's tick and EWMA weight;
    ``min_window_bytes``: the window never closes below this (two full packets), so
    the sender keeps probing after an outage;
    ``max_filter_rtts``: how many smallest round trips the windowed maximum of the
    estimate spans (used while reports show no queue; 0 turns it off, Sprout-EWMA as
    published);
    ``forecast``: ``"ewma"`` (the estimate above) or ``"stochastic"`` (Sprout's forecast,
    :meth:`window_for_forecast`; ``max_filter_rtts`` then plays no part).
    """

    name = "selfclocked"
    feedback = "transport-cc"
    frame_by_frame = True

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 *, target_delay_s: float = 0.05, tick_s: float = 0.02, alpha: float = 0.125,
                 min_window_bytes: float = 2 * 1252, share_bytes: float = 2 * 1252, max_filter_rtts: float = 10.0,
                 forecast: str = "ewma"):
        super().__init__(start_rate_bps, min_rate_bps, max_rate_bps)
        if forecast not in ("ewma", "stochastic"):
            raise ValueError(f"forecast must be 'ewma' or 'stochastic', got {forecast!r}")
        self.forecast = forecast
        self.forecaster = StochasticForecaster(tick_s) if forecast == "stochastic" else None
        self._fc_base_owd_s = math.inf
        if not 0 <= max_filter_rtts <= 100:
            raise ValueError(f"max_filter_rtts must be in [0, 100] round trips, got {max_filter_rtts!r}")
        if not 0.005 <= target_delay_s <= 1:
            raise ValueError(f"target_delay_s must be in [0.005, 1] s, got {target_delay_s!r}")
        if not 0 < min_window_bytes <= 1e6:
            raise ValueError(f"min_window_bytes must be in (0, 1e6] bytes, got {min_window_bytes!r}")
        if not 0 <= share_bytes <= 1e6:
            raise ValueError(f"share_bytes must be in [0, 1e6] bytes, got {share_bytes!r}")
        self.share_bytes = float(share_bytes)
        self.target_delay_s = float(target_delay_s)
        self.min_window_bytes = float(min_window_bytes)
        self.estimator = ArrivalRateEstimator(tick_s, alpha)
        self.rtt_min_s: float | None = None
        self.report_interval_s = 0.05     # EWMA of the time between feedback reports
        self._last_report_s: float | None = None
        self.max_filter_rtts = float(max_filter_rtts)
        self.base_owd_s = math.inf        # smallest one-way delay seen (clock offset included)
        self._recent: deque = deque()     # (report time, estimate), decreasing estimates: the windowed max
        self.unqueued = False             # did the newest report show a packet that met no queue?
        self.window_bytes = max(self.target_rate_bps / 8 * (0.1 + self.target_delay_s), self.min_window_bytes)

    def window_for(self, rate_bps: float, rtt_min_s: float, report_interval_s: float = 0.0) -> float:
        """The window for a delivered rate: ``rate x (rtt_min + report_interval + target_delay) + share``, floored.

        A packet stays in flight for the base round trip plus the wait for the next
        feedback report, so that much is the window with an empty queue; what is
        left, ``target_delay_s`` worth, may queue.  The constant ``share_bytes`` makes
        flows sharing a queue converge to equal rates: with a queueing delay ``Q`` a
        flow holds ``rate x (base + Q)`` in flight, so ``rate x (Q - target) = share``
        for every flow, the same rate for all (without it, any split of the link is an
        equilibrium; TCP Vegas's ``alpha`` packets in the queue play the same role)."""
        return max(rate_bps / 8 * (rtt_min_s + report_interval_s + self.target_delay_s) + self.share_bytes,
                   self.min_window_bytes)

    def window_for_forecast(self, rtt_min_s: float, report_interval_s: float = 0.0) -> float:
        """Sprout's window on the bytes in flight: the belief's mean rate over ``rtt_min + report_interval``
        (the bytes on the path and awaiting report) plus what the link delivers within
        ``target_delay_s`` with 95 % probability (:meth:`StochasticForecaster.cautious_bytes`, the
        queue Sprout allows), plus ``share_bytes``, floored."""
        fc = self.forecaster
        pipe = fc.mean_rate_bps() / 8 * (rtt_min_s + report_interval_s)
        return max(pipe + fc.cautious_bytes(self.target_delay_s) + self.share_bytes, self.min_window_bytes)

    def rate_for_window_bps(self, now_s: float) -> float:
        """The estimate, or while the newest report showed no queue, its maximum over the last
        ``max_filter_rtts`` smallest round trips (the estimate is then a lower bound)."""
        rate = self.estimator.rate_bps
        q = self._recent
        while q and q[-1][1] <= rate:
            q.pop()
        q.append((now_s, rate))
        span_s = self.max_filter_rtts * (self.rtt_min_s or 0.0)
        while q[0][0] < now_s - span_s:
            q.popleft()
        return q[0][1] if self.unqueued and self.max_filter_rtts > 0 else rate

    def on_packet_results(self, now_s: float, results: list[PacketResult], rtt_s: float | None = None) -> float:
        if rtt_s is not None and rtt_s > 0:
            self.rtt_min_s = rtt_s if self.rtt_min_s is None else min(self.rtt_min_s, rtt_s)
        if self._last_report_s is not None:
            gap = min(now_s - self._last_report_s, 1.0)
            self.report_interval_s += 0.125 * (gap - self.report_interval_s)
        self._last_report_s = now_s
        est = self.estimator
        last = None
        got = sorted((r for r in results if r.arrival_time_s is not None), key=lambda r: r.arrival_time_s)
        owd_min = min((r.arrival_time_s - r.send_time_s for r in got), default=math.inf)
        fc = self.forecaster
        if fc is not None:  # the forecaster's queueing times count from the smallest delay of every report
            self._fc_base_owd_s = base = min(self._fc_base_owd_s, owd_min)
        for r in got:  # into the forecaster or the EWMA, whichever builds the window
            if fc is not None:
                fc.add(r.arrival_time_s, r.size_bytes, r.arrival_time_s - r.send_time_s - base)
            else:
                est.add(r.arrival_time_s, r.size_bytes)
            last = r.arrival_time_s
        if last is not None:
            (fc if fc is not None else est).close_until(last)
        measured = fc.ticks > 0 if fc is not None else est.rate_bps is not None  # a tick has closed
        if not measured or self.rtt_min_s is None:
            return self.target_rate_bps
        self.base_owd_s = min(self.base_owd_s, owd_min)
        if last is not None:
            self.unqueued = owd_min - self.base_owd_s < est.tick_s
        if fc is not None:
            self.window_bytes = self.window_for_forecast(self.rtt_min_s, self.report_interval_s)
        else:
            self.window_bytes = self.window_for(self.rate_for_window_bps(now_s), self.rtt_min_s, self.report_interval_s)
        # the rate the window allows over one base round trip: encoder rung and pacer speed
        self.target_rate_bps = self._clamp(self.window_bytes * 8 / max(self.rtt_min_s, 0.01))
        return self.target_rate_bps

    def congestion_window_bytes(self, now_s: float) -> float | None:
        return self.window_bytes


class SproutController(SelfClockedController):
    """The self-clocked sender with Sprout's stochastic forecast in place of the EWMA
    (``forecast="stochastic"``, :mod:`rtlib.cc.forecast`): the window is the belief's mean
    rate over the round trip and report wait, plus what the link delivers within the target
    delay with 95 % probability (:meth:`SelfClockedController.window_for_forecast`)."""

    name = "sprout"

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6, **kw):
        kw.setdefault("forecast", "stochastic")
        super().__init__(start_rate_bps, min_rate_bps, max_rate_bps, **kw)
