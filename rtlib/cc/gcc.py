"""A GCC-style congestion controller, after draft-ietf-rmcat-gcc-02, in sans-IO parts.

Google Congestion Control (GCC) adapts a video call's sending rate to the path with
two controllers whose outputs are combined (draft section 6: the smaller one wins):

- a **delay-based** controller (section 5) that watches the *delay gradient*: when
  groups of packets arrive further apart than they were sent, a queue is growing
  somewhere on the path, long before it overflows and drops packets;
- a **loss-based** controller (section 6) that backs off when more than 10% of
  packets are lost and probes upwards when fewer than 2% are.

The delay-based chain, one class per box of the draft:

    packets (send time, arrival time, size)
      -> PacketGrouper      5 ms packet groups, inter-group delay variation d(i)  (5.1, 5.2)
      -> KalmanFilter |     smoothed delay-variation estimate m(i)                (5.3)
         TrendlineFilter    (or WebRTC's trendline: the slope of the queueing delay)
      -> OveruseDetector    over-use / normal / under-use vs adaptive threshold   (5.4)
      -> DelayBasedRateControl  increase / hold / decrease state machine -> A_hat (5.5)
    LossBasedControl        loss ratio -> As_hat                                  (6)
    GccController           all of the above, send-side, fed by transport-wide
                            feedback (section 3, first variant); target = min(A_hat, As_hat)

Every class is sans-IO: it is fed values and the current time in seconds and returns
values; nothing here reads a clock or touches a socket.  Times inside the detector
are in milliseconds because the draft's constants (12.5 ms, K_u, K_d) are.

Reference: S. Holmer, H. Lundin, G. Carlucci, L. De Cicco, S. Mascolo, "A Google
Congestion Control Algorithm for Real-Time Communication", draft-ietf-rmcat-gcc-02
(2016); G. Carlucci et al., "Analysis and Design of the Google Congestion Control
for Web Real-time Communication (WebRTC)", ACM MMSys 2016.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import Enum

from rtlib.cc.base import PacketResult, RateController, _check_rate

# -- Section 5.6, Table 1: RECOMMENDED values -----------------------------------------
BURST_TIME_S = 0.005          # burst_time: packets sent within 5 ms form one group
KALMAN_Q = 1e-3               # q: state noise variance
KALMAN_E0 = 0.1               # e(0): initial error variance
KALMAN_CHI = 0.01             # chi: noise-variance filter coefficient, in [0.001, 0.1]
THRESHOLD0_MS = 12.5          # del_var_th(0)
OVERUSE_TIME_TH_MS = 10.0     # overuse_time_th
K_U = 0.01                    # threshold gain when |m| is above the threshold
K_D = 0.00018                 # threshold gain when |m| is below it (~55x slower)
THRESHOLD_MIN_MS, THRESHOLD_MAX_MS = 6.0, 600.0
MAX_ADAPT_OFFSET_MS = 15.0    # do not adapt when |m| - threshold > 15 (section 5.4)
BETA = 0.85                   # decrease factor (section 5.5)
ETA = 1.08                    # multiplicative increase: at most 8% per second
RATE_WINDOW_S = 0.5           # T, window of the incoming-rate measurement R_hat, in [0.5, 1] s
#: WebRTC scales the filtered offset by the number of deltas seen (at most 60) before
#: comparing it with the threshold; see OveruseDetector.
MAX_NUM_DELTAS = 60


class Signal(Enum):
    """The over-use detector's output (draft section 5.4)."""

    NORMAL = "normal"
    OVERUSE = "overuse"
    UNDERUSE = "underuse"


class RateState(Enum):
    """The rate controller's state (draft section 5.5)."""

    INCREASE = "increase"
    HOLD = "hold"
    DECREASE = "decrease"


# -- 5.1 / 5.2: packet groups and inter-group delay variation ----------------------------
@dataclass(slots=True)
class GroupDelta:
    """Deltas between two consecutive packet groups (draft section 5.1).

    ``d_ms = arrival_delta_ms - send_delta_ms`` is the inter-group delay variation
    d(i): positive when the second group was delayed more than the first.
    """

    send_delta_ms: float     # T(i) - T(i-1), between the groups' last packets
    arrival_delta_ms: float  # t(i) - t(i-1)
    size_delta_bytes: int
    arrival_s: float         # t(i), arrival of the newer group's last packet

    @property
    def d_ms(self) -> float:
        return self.arrival_delta_ms - self.send_delta_ms


class _Group:
    __slots__ = ("first_send", "last_send", "last_arrival", "size")

    def __init__(self, send_s: float, arrival_s: float, size: int):
        self.first_send = self.last_send = send_s
        self.last_arrival = arrival_s
        self.size = size


class PacketGrouper:
    """Groups packets into bursts and yields the delay variation between groups.

    Draft section 5.1: a *group* is the packets sent within ``burst_time`` (5 ms) of
    the group's first packet; its send time T(i) and arrival time t(i) are those of its
    last packet, and ``d(i) = t(i) - t(i-1) - (T(i) - T(i-1))``.  Section 5.2
    (pre-filtering): a packet that arrives less than ``burst_time`` after the group's
    last one *and* with a negative delay variation joins the group too, so a burst
    released after a radio outage is not mistaken for a sudden queue drain.

    Packets must be fed in sending order (transport-wide sequence order); a packet
    sent before the current group started (reordered) is ignored, as the draft says.

    >>> g = PacketGrouper()
    >>> [g.add(s, a, 1200) for s, a in ((0.000, 0.050), (0.001, 0.051), (0.010, 0.065))]
    [None, None, None]
    >>> round(g.add(0.020, 0.075, 1200).d_ms, 3)  # group 2 took 5 ms longer than group 1
    5.0
    """

    def __init__(self, burst_time_s: float = BURST_TIME_S):
        if not 0 < burst_time_s <= 0.1:
            raise ValueError(f"burst_time_s must be in (0, 0.1] s, got {burst_time_s!r}")
        self.burst_time_s = burst_time_s
        self._cur: _Group | None = None
        self._prev: _Group | None = None

    def add(self, send_s: float, arrival_s: float, size_bytes: int) -> GroupDelta | None:
        """Feed one received packet; returns a delta when it closes a group."""
        cur = self._cur
        if cur is None:
            self._cur = _Group(send_s, arrival_s, size_bytes)
            return None
        if send_s < cur.first_send:  # out of order: ignored by the arrival-time model
            return None
        if self._belongs(cur, send_s, arrival_s):
            if send_s > cur.last_send:
                cur.last_send = send_s
            if arrival_s > cur.last_arrival:
                cur.last_arrival = arrival_s
            cur.size += size_bytes
            return None
        prev = self._prev
        delta = None
        if prev is not None:
            delta = GroupDelta(
                send_delta_ms=(cur.last_send - prev.last_send) * 1000.0,
                arrival_delta_ms=(cur.last_arrival - prev.last_arrival) * 1000.0,
                size_delta_bytes=cur.size - prev.size,
                arrival_s=cur.last_arrival,
            )
        self._prev = cur
        self._cur = _Group(send_s, arrival_s, size_bytes)
        return delta

    def _belongs(self, cur: _Group, send_s: float, arrival_s: float) -> bool:
        if send_s - cur.first_send <= self.burst_time_s:
            return True
        inter_arrival = arrival_s - cur.last_arrival
        d = inter_arrival - (send_s - cur.last_send)
        return inter_arrival < self.burst_time_s and d < 0


# -- 5.3: the arrival-time filter ----------------------------------------------------------
class KalmanFilter:
    """Scalar Kalman filter estimating m(i), the mean delay variation (draft 5.3).

    State model ``m(i+1) = m(i) + u(i)`` (``q = E{u^2} = 1e-3``), measurement
    ``d(i) = m(i) + v(i)``.  The measurement-noise variance ``var_v`` is tracked with
    an exponential average whose factor ``alpha = (1-chi)^(30 * T_min / 1000)`` depends
    on the shortest recent inter-group send time T_min in ms (so the filter forgets at
    the same speed in seconds whatever the group rate), with residuals clipped at
    three standard deviations and ``var_v >= 1``.

    ``update(d_ms, send_delta_ms)`` returns the new estimate in ms.
    """

    def __init__(self, q: float = KALMAN_Q, e0: float = KALMAN_E0, chi: float = KALMAN_CHI,
                 var_v0: float = 50.0, history: int = 60):
        if not 0.001 <= chi <= 0.1:
            raise ValueError(f"chi must be in [0.001, 0.1], got {chi!r}")
        if not q > 0 or not e0 > 0 or not var_v0 >= 1:
            raise ValueError("q and e0 must be > 0 and var_v0 >= 1")
        self.q, self.chi = q, chi
        self.m_ms = 0.0
        self.e = e0
        self.var_v = var_v0  # the draft gives no var_v(0); 50 ms^2 is WebRTC's
        self.num_deltas = 0
        self._send_deltas: deque[float] = deque(maxlen=history)

    def update(self, d_ms: float, send_delta_ms: float) -> float:
        self._send_deltas.append(send_delta_ms)
        self.num_deltas += 1
        t_min_ms = max(min(self._send_deltas), 0.0)
        alpha = (1.0 - self.chi) ** (30.0 * t_min_ms / 1000.0)
        z = d_ms - self.m_ms
        limit = 3.0 * math.sqrt(self.var_v)
        z_clipped = min(max(z, -limit), limit)  # outlier filter for the variance only
        self.var_v = max(alpha * self.var_v + (1.0 - alpha) * z_clipped * z_clipped, 1.0)
        p = self.e + self.q
        k = p / (self.var_v + p)
        self.m_ms += k * z
        self.e = (1.0 - k) * p
        return self.m_ms

    def detector_input_ms(self) -> float:
        """The value the over-use detector compares with its threshold.

        WebRTC's implementation of this filter multiplies the per-group estimate by
        the number of deltas seen, capped at 60 (``min(n, 60) * m``): m(i) is the
        queue growth *per group* (a fraction of a millisecond at a 5 % over-use with
        5 ms groups), while the 12.5 ms threshold is sized for the growth over about
        60 groups.  The draft's text compares m(i) directly; with its constants that
        would only detect an over-use of several hundred percent.
        """
        return min(self.num_deltas, MAX_NUM_DELTAS) * self.m_ms


class TrendlineFilter:
    """WebRTC's trendline estimator: the slope of the queueing delay over time.

    The accumulated delay variation (= queueing delay up to a constant) is smoothed
    exponentially (``smoothing``), and a least-squares line is fitted to the last
    ``window`` points of (arrival time, smoothed delay); its slope (ms of delay per ms)
    times ``min(n, 60) * gain`` is compared with the threshold.  It is less sensitive
    to single late groups than the Kalman filter.  (WebRTC
    ``modules/congestion_controller/goog_cc/trendline_estimator.cc``: window 20,
    smoothing 0.9, gain 4.)
    """

    def __init__(self, window: int = 20, smoothing: float = 0.9, gain: float = 4.0):
        if not 2 <= window <= 1000:
            raise ValueError(f"window must be an integer in [2, 1000], got {window!r}")
        if not 0 <= smoothing < 1:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
        self.window, self.smoothing, self.gain = int(window), smoothing, gain
        self.accumulated_ms = 0.0
        self.smoothed_ms = 0.0
        self.num_deltas = 0
        self.slope = 0.0
        self.m_ms = 0.0  # the last d(i) smoothed, for plots
        self._first_arrival_ms: float | None = None
        self._points: deque[tuple[float, float]] = deque(maxlen=self.window)

    def update(self, d_ms: float, send_delta_ms: float, arrival_s: float = 0.0) -> float:
        self.num_deltas += 1
        arrival_ms = arrival_s * 1000.0
        if self._first_arrival_ms is None:
            self._first_arrival_ms = arrival_ms
        self.accumulated_ms += d_ms
        self.smoothed_ms = self.smoothing * self.smoothed_ms + (1 - self.smoothing) * self.accumulated_ms
        self._points.append((arrival_ms - self._first_arrival_ms, self.smoothed_ms))
        if len(self._points) == self.window:
            n = self.window
            sx = sy = 0.0
            for x, y in self._points:
                sx += x
                sy += y
            mx, my = sx / n, sy / n
            num = den = 0.0
            for x, y in self._points:
                dx = x - mx
                num += dx * (y - my)
                den += dx * dx
            if den > 0:
                self.slope = num / den
        self.m_ms = self.slope
        return self.slope

    def detector_input_ms(self) -> float:
        return min(self.num_deltas, MAX_NUM_DELTAS) * self.slope * self.gain


# -- 5.4: the over-use detector with its adaptive threshold -------------------------------
class OveruseDetector:
    """Compares the filtered delay variation m with an adaptive threshold (draft 5.4).

    - **over-use** when ``m > del_var_th`` has lasted at least ``overuse_time_th``
      (10 ms) and m is not decreasing (``m(i) >= m(i-1)``);
    - **under-use** when ``m < -del_var_th``;
    - **normal** otherwise.  While an over-use is building up but not yet confirmed,
      the previous signal is kept.

    The time spent above the threshold is counted in inter-group send times, starting
    with half the first one (as WebRTC does: the crossing happened somewhere in the
    interval).  The threshold follows ``|m|``::

        del_var_th(i) = del_var_th(i-1) + (t(i)-t(i-1)) * K(i) * (|m(i)| - del_var_th(i-1))

    with ``K = K_u = 0.01`` when ``|m| >= del_var_th`` and ``K = K_d = 0.00018``
    otherwise, t in ms, clamped to [6, 600] ms; no update when ``|m| - del_var_th > 15``
    (a spike), and the time step is capped at 100 ms (after a pause, one sample must
    not move the threshold all the way).  Raising fast and lowering slowly is what
    keeps a GCC flow from starving next to a TCP flow that fills the queue.
    """

    def __init__(self, k_u: float = K_U, k_d: float = K_D, threshold0_ms: float = THRESHOLD0_MS,
                 overuse_time_th_ms: float = OVERUSE_TIME_TH_MS, adaptive: bool = True):
        for name, v, lo, hi in (("k_u", k_u, 0, 1), ("k_d", k_d, 0, 1)):
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {v!r}")
        if not THRESHOLD_MIN_MS <= threshold0_ms <= THRESHOLD_MAX_MS:
            raise ValueError(f"threshold0_ms must be in [6, 600] ms, got {threshold0_ms!r}")
        if not 0 <= overuse_time_th_ms <= 1000:
            raise ValueError(f"overuse_time_th_ms must be in [0, 1000] ms, got {overuse_time_th_ms!r}")
        self.k_u, self.k_d = k_u, k_d
        self.threshold_ms = threshold0_ms
        self.overuse_time_th_ms = overuse_time_th_ms
        self.adaptive = adaptive
        self.signal = Signal.NORMAL
        self._time_over_ms: float | None = None
        self._prev_m = 0.0
        self._last_t_s: float | None = None

    def detect(self, m_ms: float, send_delta_ms: float, t_s: float) -> Signal:
        """Feed one filtered value ``m_ms`` at group arrival time ``t_s``; returns the signal."""
        th = self.threshold_ms
        if m_ms > th:
            if self._time_over_ms is None:
                self._time_over_ms = send_delta_ms / 2.0
            else:
                self._time_over_ms += send_delta_ms
            if self._time_over_ms >= self.overuse_time_th_ms and m_ms >= self._prev_m:
                self.signal = Signal.OVERUSE
                self._time_over_ms = 0.0
        elif m_ms < -th:
            self._time_over_ms = None
            self.signal = Signal.UNDERUSE
        else:
            self._time_over_ms = None
            self.signal = Signal.NORMAL
        self._prev_m = m_ms
        if self.adaptive:
            self.adapt_threshold(m_ms, t_s)
        return self.signal

    def adapt_threshold(self, m_ms: float, t_s: float) -> float:
        """One step of the threshold's dynamic equation; returns the new threshold (ms)."""
        last, self._last_t_s = self._last_t_s, t_s
        if last is None:
            return self.threshold_ms
        am = abs(m_ms)
        if am - self.threshold_ms > MAX_ADAPT_OFFSET_MS:
            return self.threshold_ms
        k = self.k_d if am < self.threshold_ms else self.k_u
        dt_ms = min(max(t_s - last, 0.0) * 1000.0, 100.0)
        th = self.threshold_ms + dt_ms * k * (am - self.threshold_ms)
        self.threshold_ms = min(max(th, THRESHOLD_MIN_MS), THRESHOLD_MAX_MS)
        return self.threshold_ms


# -- 5.5: rate control ---------------------------------------------------------------------
#: The state transitions of draft section 5.5 (a missing entry = stay).
TRANSITIONS: dict[tuple[RateState, Signal], RateState] = {
    (RateState.HOLD, Signal.OVERUSE): RateState.DECREASE,
    (RateState.INCREASE, Signal.OVERUSE): RateState.DECREASE,
    (RateState.HOLD, Signal.NORMAL): RateState.INCREASE,
    (RateState.DECREASE, Signal.NORMAL): RateState.HOLD,
    (RateState.INCREASE, Signal.UNDERUSE): RateState.HOLD,
    (RateState.DECREASE, Signal.UNDERUSE): RateState.HOLD,
}


def next_state(state: RateState, signal: Signal) -> RateState:
    """The draft's transition table: the state after ``signal`` arrives in ``state``."""
    return TRANSITIONS.get((state, signal), state)


def expected_packet_size_bits(rate_bps: float, fps: float = 30.0) -> float:
    """Draft 5.5: the average packet size if frames at ``fps`` are cut in 1200-byte packets."""
    bits_per_frame = rate_bps / fps
    packets_per_frame = max(math.ceil(bits_per_frame / (1200 * 8)), 1)
    return bits_per_frame / packets_per_frame


class DelayBasedRateControl:
    """The increase / hold / decrease controller producing A_hat (draft section 5.5).

    ``update(signal, incoming_bps, rtt_s, now_s)`` applies the transition table, then

    - **increase**: multiplicatively, ``A *= 1.08 ** min(dt, 1 s)``, while far from
      convergence; additively, ``A += max(1000, alpha * expected_packet_size_bits)``
      with ``alpha = 0.5 * min(dt / response_time, 1)`` and
      ``response_time = rtt + 100 ms``, when close to it.  "Close" is judged against
      an exponential average (factor 0.95) of the incoming rate R_hat at decreases:
      with ``sticky_near=True`` (WebRTC's reading, the default) every decrease makes
      the controller "close" until R_hat rises three standard deviations above that
      average; with ``sticky_near=False`` (the draft read literally) it is close only
      while R_hat is within three standard deviations of it.  R_hat rising above the
      band resets the average (the path changed) and increase turns multiplicative.
      The estimate is kept below ``1.5 * R_hat`` (plus 10 kbit/s so a small start can
      grow) so it cannot run away from what the sender really sends; that bound never
      lowers the estimate by itself.
    - **decrease**: ``A = beta * R_hat`` (beta = 0.85) and the average above is updated.
      Taking the smaller of that and the current A (as WebRTC does) avoids a
      "decrease" raising the estimate when R_hat still counts a burst; a further
      decrease while over-use lasts waits at least one RTT (clamped to [10, 200] ms),
      the time the last one needs to show.
    - **hold**: A unchanged (the queue is draining).
    """

    def __init__(self, start_rate_bps: float, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 beta: float = BETA, eta: float = ETA, sticky_near: bool = True):
        self.min_rate_bps = _check_rate(min_rate_bps, "min_rate_bps")
        self.max_rate_bps = _check_rate(max_rate_bps, "max_rate_bps")
        if not 0 < beta < 1:
            raise ValueError(f"beta must be in (0, 1), got {beta!r}")
        if not 1 <= eta <= 2:
            raise ValueError(f"eta must be in [1, 2], got {eta!r}")
        self.beta, self.eta = beta, eta
        self.rate_bps = min(max(_check_rate(start_rate_bps, "start_rate_bps"), self.min_rate_bps), self.max_rate_bps)
        self.state = RateState.INCREASE
        self.avg_max_kbps: float | None = None
        self.var_max = 0.4  # normalised variance of the rate at decreases (WebRTC's bounds)
        self._last_update_s: float | None = None
        self._last_decrease_s = -math.inf
        self.near_convergence = False
        self.sticky_near = sticky_near

    def set_estimate(self, rate_bps: float, now_s: float) -> float:
        """Jump to a measured rate (a probe result): WebRTC's ``AimdRateControl::SetEstimate``."""
        self.rate_bps = min(max(float(rate_bps), self.min_rate_bps), self.max_rate_bps)
        self._last_update_s = now_s
        return self.rate_bps

    def _sigma_kbps(self) -> float:
        return math.sqrt(self.var_max * self.avg_max_kbps)

    def _update_avg_max(self, incoming_kbps: float) -> None:
        a = 0.05  # 1 - 0.95, the draft's smoothing factor
        if self.avg_max_kbps is None:
            self.avg_max_kbps = incoming_kbps
        else:
            self.avg_max_kbps = (1 - a) * self.avg_max_kbps + a * incoming_kbps
        norm = max(self.avg_max_kbps, 1.0)
        self.var_max = (1 - a) * self.var_max + a * (self.avg_max_kbps - incoming_kbps) ** 2 / norm
        self.var_max = min(max(self.var_max, 0.4), 2.5)

    def update(self, signal: Signal, incoming_bps: float | None, rtt_s: float, now_s: float) -> float:
        """Run one rate-control step; returns the new delay-based estimate A_hat (bit/s)."""
        prev_state = self.state
        self.state = next_state(self.state, signal)
        last = self._last_update_s if self._last_update_s is not None else now_s
        if self.state is RateState.INCREASE and prev_state is not RateState.INCREASE:
            last = now_s  # time spent holding does not count as increase time
        dt_s = max(now_s - last, 0.0)
        rate = self.rate_bps
        if self.state is RateState.INCREASE:
            if incoming_bps is not None and self.avg_max_kbps is not None:
                if incoming_bps / 1000 > self.avg_max_kbps + 3 * self._sigma_kbps():
                    self.avg_max_kbps = None  # the path changed: far from convergence again
            if self.avg_max_kbps is None:
                self.near_convergence = False
            elif not self.sticky_near and incoming_bps is not None:
                self.near_convergence = abs(incoming_bps / 1000 - self.avg_max_kbps) <= 3 * self._sigma_kbps()
            if self.near_convergence:
                response_time_s = 0.1 + rtt_s
                alpha = 0.5 * min(dt_s / response_time_s, 1.0)
                rate = rate + max(1000.0, alpha * expected_packet_size_bits(rate))
            else:
                rate = rate * self.eta ** min(dt_s, 1.0)
            if incoming_bps is not None:
                rate = min(rate, max(1.5 * incoming_bps + 10e3, self.rate_bps))
        elif self.state is RateState.DECREASE and incoming_bps is not None:
            wait_s = min(max(rtt_s, 0.010), 0.200)
            if prev_state is not RateState.DECREASE or now_s - self._last_decrease_s >= wait_s:
                if self.avg_max_kbps is not None and incoming_bps / 1000 < self.avg_max_kbps - 3 * self._sigma_kbps():
                    self.avg_max_kbps = None
                self._update_avg_max(incoming_bps / 1000)
                rate = min(rate, self.beta * incoming_bps)
                self._last_decrease_s = now_s
                self.near_convergence = True
        self.rate_bps = min(max(rate, self.min_rate_bps), self.max_rate_bps)
        self._last_update_s = now_s
        return self.rate_bps


# -- 6: the loss-based controller --------------------------------------------------------------
class LossBasedControl:
    """As_hat from the loss ratio p since the previous report (draft section 6).

    - p > 10 %: ``As = As * (1 - 0.5 p)``;
    - 2 % <= p <= 10 %: unchanged (such loss is probably not self-inflicted);
    - p < 2 %: ``As = 1.05 * As``.

    ``cap_bps`` (the delay-based estimate) bounds As from above, as WebRTC's
    send-side estimator does: otherwise 5 % per report compounds without limit while
    the delay-based controller is the binding one, and a later loss would have to
    erase that phantom headroom before it reduced anything.
    """

    def __init__(self, start_rate_bps: float, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 low: float = 0.02, high: float = 0.10):
        if not 0 <= low <= high <= 1:
            raise ValueError(f"need 0 <= low <= high <= 1, got low={low!r}, high={high!r}")
        self.min_rate_bps, self.max_rate_bps = min_rate_bps, max_rate_bps
        self.low, self.high = low, high
        self.rate_bps = float(start_rate_bps)

    def update(self, loss_ratio: float, cap_bps: float | None = None) -> float:
        if not 0 <= loss_ratio <= 1:
            raise ValueError(f"loss_ratio must be in [0, 1], got {loss_ratio!r}")
        if loss_ratio > self.high:
            self.rate_bps *= 1 - 0.5 * loss_ratio
        elif loss_ratio < self.low:
            self.rate_bps *= 1.05
        if cap_bps is not None:
            self.rate_bps = min(self.rate_bps, cap_bps)
        self.rate_bps = min(max(self.rate_bps, self.min_rate_bps), self.max_rate_bps)
        return self.rate_bps


# -- start-up probing (WebRTC, not in the draft) ----------------------------------------------
#: WebRTC's ProbeController: the first probes at 3x and 6x the start rate, then, while a
#: probe comes back at >= 70 % of its rate, another at twice the result.
PROBE_SCALES = (3.0, 6.0)
PROBE_CONTINUE = 0.7
PROBE_MIN_PACKETS = 5
PROBE_MIN_DURATION_S = 0.015
#: WebRTC's rapid recovery after a large drop (ProbeController: kBitrateDropThreshold,
#: kProbeFractionAfterDrop, kProbeUncertainty, kBitrateDropTimeoutMs / kMinTimeBetweenAlrProbesMs).
RECOVERY_DROP = 0.66
RECOVERY_FRACTION = 0.85
RECOVERY_UNCERTAINTY = 0.05
RECOVERY_TIMEOUT_S = 5.0


def probe_result_bps(results: list[PacketResult]) -> float | None:
    """The rate a probe cluster measured, as WebRTC's ProbeBitrateEstimator computes it.

    Send rate = bytes but the last / send interval; receive rate = bytes but the first
    / arrival interval.  If the link delivered clearly less than was sent (below 90 %),
    it is saturated and the estimate is 95 % of the receive rate; else the smaller of
    the two.  ``None`` when too few packets arrived or the intervals make no sense.
    """
    rates = probe_rates_bps(results)
    if rates is None:
        return None
    send_bps, recv_bps = rates
    if recv_bps < 0.9 * send_bps:
        return 0.95 * recv_bps
    return min(send_bps, recv_bps)


def probe_rates_bps(results: list[PacketResult]) -> tuple[float, float] | None:
    """``(send_bps, receive_bps)`` of a probe cluster (see :func:`probe_result_bps`), or ``None``."""
    got = [r for r in results if r.arrival_time_s is not None]
    if len(got) < max(int(0.8 * PROBE_MIN_PACKETS), 2):
        return None
    got.sort(key=lambda r: r.send_time_s)
    send_iv = got[-1].send_time_s - got[0].send_time_s
    arr = sorted(got, key=lambda r: r.arrival_time_s)
    recv_iv = arr[-1].arrival_time_s - arr[0].arrival_time_s
    if not 0 < send_iv <= 1.0 or not 0 < recv_iv <= 1.0:
        return None
    total = sum(r.size_bytes for r in got)
    send_bps = (total - got[-1].size_bytes) * 8 / send_iv
    recv_bps = (total - arr[0].size_bytes) * 8 / recv_iv
    if recv_bps > 2 * send_bps:
        return None
    return send_bps, recv_bps


#: WebRTC's smallest congestion window: two full-size packets (kMinCwndBytes).
WINDOW_MIN_BYTES = 2 * 1500


# -- the send-side controller ---------------------------------------------------------------
class IncomingRate:
    """R_hat: bytes received in the last ``window_s`` seconds, as bit/s (draft 5.5)."""

    def __init__(self, window_s: float = RATE_WINDOW_S):
        if not 0.05 <= window_s <= 5:
            raise ValueError(f"window_s must be in [0.05, 5] s, got {window_s!r}")
        self.window_s = window_s
        self._q: deque[tuple[float, int]] = deque()
        self._bytes = 0
        self._first_s: float | None = None

    def add(self, arrival_s: float, size_bytes: int) -> None:
        if self._first_s is None:
            self._first_s = arrival_s
        self._q.append((arrival_s, size_bytes))
        self._bytes += size_bytes

    def rate_bps(self, now_s: float) -> float | None:
        q = self._q
        limit = now_s - self.window_s
        while q and q[0][0] <= limit:
            self._bytes -= q.popleft()[1]
        if self._first_s is None or now_s - self._first_s < self.window_s / 2:
            return None  # not enough history for a meaningful rate
        return self._bytes * 8.0 / min(self.window_s, now_s - self._first_s)


class GccController(RateController):
    """Send-side GCC: transport-wide feedback in, target sending rate out.

    Feed it :class:`~rtlib.cc.base.PacketResult` lists (from transport-wide
    congestion-control feedback, draft section 3, first variant).  Each report runs
    every newly reported packet through the grouper, filter and detector, then one
    rate-control step; the loss ratio of packets reported over at least
    ``loss_interval_s`` runs the loss-based controller.  The target is
    ``min(A_hat, As_hat)``.

    Parameters worth changing in notebook 08: ``beta`` (the back-off), ``k_u``/``k_d``
    (threshold adaptation; ``adaptive=False`` freezes it), ``filter`` ("trendline" as
    in today's WebRTC, the default, or "kalman" as in the draft; ``filter_args`` go to
    its constructor).

    Where the draft leaves room, this follows libwebrtc, and says so:

    - *near convergence* (additive increase) starts at every decrease and lasts until
      the incoming rate rises three standard deviations above the average rate at
      decreases (WebRTC's ``AimdRateControl``); read literally, the draft would call a
      rate 15 % below that average "far" and climb back multiplicatively, which with
      K_d = 0.00018 ratchets the threshold up cycle after cycle;
    - the loss controller runs on reports covering at least ``loss_interval_s``
      (0.25 s) and ``loss_min_packets`` (20) packets, not on every 50 ms transport
      feedback: the draft wrote it for RTCP receiver reports (about one a second), and
      a loss ratio over a handful of packets is too coarse for its 2 % and 10 % bands.
      After it cuts the rate, only packets sent after the cut count towards the next
      loss ratio (losses of packets sent at the old rate say nothing about the new one);
    - ``probing=True`` adds WebRTC's start-up probes, which the draft does not have:
      short bursts at 3x and 6x the start rate, then at twice each good result, whose
      measured delivery rate becomes the estimate (:func:`probe_result_bps`); without
      them 8 %/s takes about 30 s to climb from 300 kbit/s to 2.5 Mbit/s.  Beyond
      WebRTC (which probes later only when the encoder cannot fill the estimate),
      a probe at twice the target is sent every ``probe_interval_s`` while the
      controller is *far* from convergence and has seen no over-use for
      ``probe_quiet_s``: after a capacity step up, it finds the new capacity in one
      round trip instead of ~10 s of 8 %/s.  ``probe_when_far=False`` probes near
      convergence too, but then a probe that finds the link saturated is ignored (it
      measured its own share of a full queue, which competing flows would pay for).
      Probing more eagerly helps on cellular traces but lets a flow grab capacity from
      competing flows (RFC 8867 5.4), so the default stays cautious;
      ``probe_interval_s=None`` turns it off.  Media sent during a probe counts as part
      of it and padding fills the rest, so a probe's rate is the total sending rate.
    - ``recovery_probe=True`` (off by default) adds WebRTC's rapid recovery after a large
      drop (``ProbeController::RequestProbe``): when an over-use episode leaves the
      target below 66 % of what it was when the episode began, and within 5 s the
      detector is back to normal, one probe is sent at 85 % of the pre-drop rate (at
      most one such probe per 5 s, and only if a result at least 5 % below the probe
      rate would still beat the current estimate).  WebRTC does this while the sender
      is application-limited or under a field trial; here it runs whenever enabled.
      WebRTC calls a drop "large" when one estimate falls below 66 % of the previous
      one; here back-offs come one RTT apart, so the drop is measured over the whole
      over-use episode.  On the Mahimahi cellular traces (three encoder seeds) it
      raises mean utilisation by about 0.07-0.09 but also the mean p95 queueing delay
      by about 13-18 ms, as the faster climb often meets the next capacity dip; RFC
      8867 5.1 is unchanged.  A trade-off, not a gain, so it stays off; see
      benchmarks/RESULTS.md ("gcc with recovery probes").
    - ``window_ms`` (``None`` = off) adds WebRTC's congestion window
      (``GoogCcNetworkController::UpdateCongestionWindowSize``): the bytes in flight may
      not exceed ``target * (min RTT + window_ms)``, at least two full packets; the
      pacer waits while they do.  The RTT is the smallest of the last 32 per-report
      RTT samples.  Rate control reacts one feedback round late; the window stops the
      sender as soon as the reports stop coming, which is what a radio outage looks
      like from the sender.  WebRTC's field trial used 350 ms.
    """

    name = "gcc"
    feedback = "transport-cc"

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 *, beta: float = BETA, k_u: float = K_U, k_d: float = K_D, adaptive: bool = True,
                 filter: str = "trendline", filter_args: dict | None = None, burst_time_s: float = BURST_TIME_S,
                 loss_interval_s: float = 0.25, loss_min_packets: int = 20, probing: bool = True, probe_interval_s: float | None = 2.0,
                 probe_when_far: bool = True, probe_quiet_s: float = 5.0, recovery_probe: bool = False,
                 window_ms: float | None = None):
        super().__init__(start_rate_bps, min_rate_bps, max_rate_bps)
        if filter not in ("kalman", "trendline"):
            raise ValueError(f"filter must be one of ['kalman', 'trendline'], got {filter!r}")
        self.grouper = PacketGrouper(burst_time_s)
        self.filter = (KalmanFilter if filter == "kalman" else TrendlineFilter)(**(filter_args or {}))
        self._trendline = filter == "trendline"
        self.detector = OveruseDetector(k_u=k_u, k_d=k_d, adaptive=adaptive)
        self.delay_control = DelayBasedRateControl(self.target_rate_bps, self.min_rate_bps, self.max_rate_bps,
                                                   beta=beta)
        self.loss_control = LossBasedControl(self.target_rate_bps, self.min_rate_bps, self.max_rate_bps)
        self.incoming = IncomingRate()
        self.loss_interval_s = loss_interval_s
        self.loss_min_packets = loss_min_packets
        self._loss_sent = 0
        self._loss_lost = 0
        self._loss_since_s: float | None = None
        self._loss_cut_s = -math.inf  # packets sent before the last loss-based cut are not counted
        self.rtt_s = 0.1
        if window_ms is not None and not 0 <= window_ms <= 5000:
            raise ValueError(f"window_ms must be in [0, 5000] ms or None, got {window_ms!r}")
        self.window_ms = window_ms
        self._rtt_samples: deque[float] = deque(maxlen=32)
        self.probing = probing
        if probe_interval_s is not None and not 0.5 <= probe_interval_s <= 600:
            raise ValueError(f"probe_interval_s must be in [0.5, 600] s or None, got {probe_interval_s!r}")
        self.probe_interval_s = probe_interval_s
        self.probe_when_far = probe_when_far
        self.probe_quiet_s = probe_quiet_s
        self._last_probe_s = -math.inf
        self._last_overuse_s = -math.inf
        self.recovery_probe = bool(recovery_probe)
        self._episode_from_bps: float | None = None   # target when the current over-use began
        self._episode_s = -math.inf
        self._drop_from_bps: float | None = None      # target before the last large drop
        self._drop_s = -math.inf
        self._last_recovery_probe_s = -math.inf
        self.recovery_log: list[tuple[float, float]] = []  # (t, target before the drop) per recovery probe
        self._probe_started = False
        self._probe_queue: list[float] = []
        self._probe_rate: dict[int, float] = {}
        self._probe_results: dict[int, list[PacketResult]] = {}
        self._probe_pending: dict[int, int] = {}   # cluster -> packets not yet reported
        self._probe_sent_s: dict[int, float] = {}
        self._probe_padding: dict[int, int] = {}   # cluster -> padding packets still to send
        self._probe_kind: dict[int, str] = {}      # cluster -> "startup" or "periodic"
        self._probe_kind_next = "startup"
        self._seq_probe: dict[int, int] = {}
        self._padding_seqs: set[int] = set()
        self._next_cluster = 1
        self.probe_log: list[tuple[float, float, float | None]] = []  # (t, probe rate, result)
        self.trace: list[tuple] = []  # (t_s, m, threshold, signal, state, A_hat, As_hat): for plots

    # -- probing -------------------------------------------------------------------------
    def probes(self, now_s: float) -> list[tuple[int, float, int]]:
        if self.probing and not self._probe_started:
            self._probe_started = True
            self._last_probe_s = now_s
            self._probe_queue = [min(k * self.target_rate_bps, self.max_rate_bps) for k in PROBE_SCALES]
            self._probe_kind_next = "startup"
        elif (self.probing and self.probe_interval_s is not None and not self._probe_rate and not self._probe_queue
              and now_s - self._last_probe_s >= self.probe_interval_s
              and now_s - self._last_overuse_s >= self.probe_quiet_s
              and self.delay_control.state is RateState.INCREASE
              and (not self.probe_when_far or not self.delay_control.near_convergence)
              and self.target_rate_bps < self.max_rate_bps):
            self._last_probe_s = now_s
            self._probe_queue = [min(2 * self.target_rate_bps, self.max_rate_bps)]
            self._probe_kind_next = "near" if self.delay_control.near_convergence else "far"
        elif (self.probing and self.recovery_probe and self._drop_from_bps is not None and not self._probe_rate
              and not self._probe_queue and now_s - self._drop_s < RECOVERY_TIMEOUT_S
              and now_s - self._last_recovery_probe_s > RECOVERY_TIMEOUT_S
              and self.delay_control.state is RateState.INCREASE and self.detector.signal is Signal.NORMAL
              and (1 - RECOVERY_UNCERTAINTY) * RECOVERY_FRACTION * self._drop_from_bps > self.target_rate_bps):
            self._last_recovery_probe_s = self._last_probe_s = now_s
            self._probe_queue = [min(RECOVERY_FRACTION * self._drop_from_bps, self.max_rate_bps)]
            self._probe_kind_next = "recovery"
            self.recovery_log.append((now_s, self._drop_from_bps))
            self._drop_from_bps = None
        out = []
        for rate in self._probe_queue:
            cid = self._next_cluster
            self._next_cluster += 1
            # media keeps flowing during the probe, so padding fills only the rest of the
            # probe rate (as WebRTC's pacer fills a probe with media first, then padding)
            pad_bps = max(rate - self.target_rate_bps, 0.3 * rate)
            n = max(PROBE_MIN_PACKETS, math.ceil(pad_bps * PROBE_MIN_DURATION_S / 8 / 1200))
            self._probe_rate[cid] = rate
            self._probe_results[cid] = []
            self._probe_pending[cid] = 0
            self._probe_padding[cid] = n
            self._probe_sent_s[cid] = now_s
            self._probe_kind[cid] = self._probe_kind_next
            out.append((cid, pad_bps, n))
        self._probe_queue = []
        return out

    def on_packet_sent(self, now_s: float, seq: int, size_bytes: int, probe_cluster: int | None = None,
                       padding: bool = False) -> None:
        cid = probe_cluster
        if cid is not None and cid in self._probe_pending:
            self._seq_probe[seq] = cid
            self._probe_pending[cid] += 1
            if padding:
                self._probe_padding[cid] -= 1
                self._padding_seqs.add(seq)
                if len(self._padding_seqs) > 4096:  # lost padding is never reported as received
                    self._padding_seqs = {q for q in self._padding_seqs if q > seq - 4096}

    def _on_probe_result(self, cid: int, now_s: float) -> None:
        rate = self._probe_rate.pop(cid)
        self._probe_pending.pop(cid)
        self._probe_sent_s.pop(cid)
        self._probe_padding.pop(cid)
        kind = self._probe_kind.pop(cid)
        results = self._probe_results.pop(cid)
        rates = probe_rates_bps(results)
        result = probe_result_bps(results)
        self.probe_log.append((now_s, rate, result))
        if result is None:
            return
        if kind == "near" and rates[1] < 0.9 * rates[0]:
            # near convergence and the link saturated: the probe measured its own share of a
            # full queue (which other flows would pay for), not spare capacity
            return
        if result > self.delay_control.rate_bps and self.detector.signal is not Signal.OVERUSE:
            self.delay_control.set_estimate(result, now_s)
            self.loss_control.rate_bps = max(self.loss_control.rate_bps, self.delay_control.rate_bps)
        if result >= PROBE_CONTINUE * rate and rate < self.max_rate_bps and not self._probe_rate:
            # the headroom is proven: the next, higher probe may saturate the link and
            # then tells where the capacity ends
            self._probe_queue.append(min(2 * result, self.max_rate_bps))
            self._probe_kind_next = "continue"

    def congestion_window_bytes(self, now_s: float) -> float | None:
        if self.window_ms is None:
            return None
        min_rtt_s = min(self._rtt_samples) if self._rtt_samples else self.rtt_s
        return max(self.target_rate_bps * (min_rtt_s + self.window_ms / 1000) / 8, WINDOW_MIN_BYTES)

    def _track_drop(self, state_before: RateState, target_before: float, a_hat: float, now_s: float) -> None:
        """Remember a large drop (an over-use episode ending below 66 % of where it began)."""
        state = self.delay_control.state
        if state is RateState.DECREASE and state_before is not RateState.DECREASE and self._episode_from_bps is None:
            self._episode_from_bps, self._episode_s = target_before, now_s
        elif state is RateState.INCREASE and self._episode_from_bps is not None:
            if a_hat < RECOVERY_DROP * self._episode_from_bps:
                self._drop_from_bps, self._drop_s = self._episode_from_bps, self._episode_s
            self._episode_from_bps = None

    def on_packet_results(self, now_s: float, results: list[PacketResult], rtt_s: float | None = None) -> float:
        if rtt_s is not None:
            self.rtt_s = rtt_s
            self._rtt_samples.append(rtt_s)
        grouper, filt, detector, incoming = self.grouper, self.filter, self.detector, self.incoming
        last_arrival = None
        seq_probe = self._seq_probe
        for r in results:
            if seq_probe:
                cid = seq_probe.pop(r.seq, None)
                if cid is not None and cid in self._probe_results:
                    self._probe_results[cid].append(r)
                    self._probe_pending[cid] -= 1
                    if self._probe_pending[cid] == 0 and self._probe_padding[cid] <= 0:
                        self._on_probe_result(cid, now_s)
            if r.send_time_s >= self._loss_cut_s:
                self._loss_sent += 1
                if r.arrival_time_s is None:
                    self._loss_lost += 1
            if r.arrival_time_s is None:
                continue
            incoming.add(r.arrival_time_s, r.size_bytes)
            last_arrival = r.arrival_time_s
            if self._padding_seqs and r.seq in self._padding_seqs:
                # probe padding is a short burst above the media rate: its queue bump
                # is the probe's own doing, not a sign the media rate is too high
                self._padding_seqs.discard(r.seq)
                continue
            delta = grouper.add(r.send_time_s, r.arrival_time_s, r.size_bytes)
            if delta is not None:
                if self._trendline:
                    filt.update(delta.d_ms, delta.send_delta_ms, delta.arrival_s)
                else:
                    filt.update(delta.d_ms, delta.send_delta_ms)
                detector.detect(filt.detector_input_ms(), delta.send_delta_ms, delta.arrival_s)
        if detector.signal is Signal.OVERUSE:
            self._last_overuse_s = now_s
        if self._probe_sent_s:
            for cid in [c for c, t in self._probe_sent_s.items() if now_s - t > 1.0]:
                self._on_probe_result(cid, now_s)  # feedback for part of it was lost: use what came
        if self._loss_since_s is None:
            self._loss_since_s = now_s
        r_hat = incoming.rate_bps(last_arrival if last_arrival is not None else now_s - self.rtt_s / 2)
        state_before, target_before = self.delay_control.state, self.target_rate_bps
        a_hat = self.delay_control.update(detector.signal, r_hat, self.rtt_s, now_s)
        if self.recovery_probe:
            self._track_drop(state_before, target_before, a_hat, now_s)
        if now_s - self._loss_since_s >= self.loss_interval_s and self._loss_sent >= self.loss_min_packets:
            before = self.loss_control.rate_bps
            self.loss_control.update(self._loss_lost / self._loss_sent, cap_bps=a_hat)
            if self.loss_control.rate_bps < min(before, a_hat):
                self._loss_cut_s = now_s
            self._loss_sent = self._loss_lost = 0
            self._loss_since_s = now_s
        else:
            self.loss_control.rate_bps = min(self.loss_control.rate_bps, a_hat)
        self.target_rate_bps = min(a_hat, self.loss_control.rate_bps)
        self.trace.append((now_s, filt.detector_input_ms(), detector.threshold_ms, detector.signal.value,
                           self.delay_control.state.value, a_hat, self.loss_control.rate_bps))
        return self.target_rate_bps
