"""The rate-controller interface, and the two simple controllers: fixed and loss-based AIMD.

A rate controller lives at the **sender**.  It learns about the path only from
feedback the receiver sends back (RTCP), and answers with a *target rate* that the
encoder and the pacer follow.  Every controller in :mod:`rtlib.cc` has the same face:

- ``target_rate_bps``: what to send now;
- ``on_packet_results(now_s, results, rtt_s)``: transport-wide feedback, i.e. for
  each packet sent its send time and its arrival time (``None`` = lost);
- ``on_remb(now_s, rate_bps)``: a receiver-estimated maximum bitrate (REMB);
- ``on_packet_sent(...)`` and ``probes(now_s)``: optional, for controllers that probe
  the path with short bursts of padding (GCC at start-up);
- ``feedback``: which feedback the receiver must send: ``"transport-cc"`` or ``"remb"``;
- ``congestion_window_bytes(now_s)``: optional, a bound on the bytes in flight (sent,
  not yet covered by feedback) under which the pacer must stay; ``None`` = no bound.

They are sans-IO: fed values and the current time, never a socket or a clock.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass


@dataclass(slots=True)
class PacketResult:
    """What the sender knows about one packet once feedback covering it arrives."""

    seq: int                       # transport-wide sequence number (unwrapped)
    send_time_s: float
    size_bytes: int
    arrival_time_s: float | None   # None: reported lost

    @property
    def lost(self) -> bool:
        return self.arrival_time_s is None


def _check_rate(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not 1e3 <= value <= 1e9:
        raise ValueError(f"{name} must be a rate in [1e3, 1e9] bit/s, got {value!r}")
    return float(value)


class RateController:
    """Base class: holds the target and its bounds; subclasses react to feedback."""

    name = "base"
    feedback = "transport-cc"

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6):
        self.min_rate_bps = _check_rate(min_rate_bps, "min_rate_bps")
        self.max_rate_bps = _check_rate(max_rate_bps, "max_rate_bps")
        if self.min_rate_bps > self.max_rate_bps:
            raise ValueError(f"min_rate_bps ({min_rate_bps}) must be <= max_rate_bps ({max_rate_bps})")
        start = _check_rate(start_rate_bps, "start_rate_bps")
        self.target_rate_bps = min(max(start, self.min_rate_bps), self.max_rate_bps)

    def on_packet_results(self, now_s: float, results: list[PacketResult], rtt_s: float | None = None) -> float:
        return self.target_rate_bps

    def on_remb(self, now_s: float, rate_bps: float) -> float:
        return self.target_rate_bps

    def on_packet_sent(self, now_s: float, seq: int, size_bytes: int, probe_cluster: int | None = None,
                       padding: bool = False) -> None:
        """A packet of probe cluster ``probe_cluster`` left the sender (``padding``: a padding packet)."""

    def probes(self, now_s: float) -> list[tuple[int, float, int]]:
        """Probe clusters to send now, as ``(cluster id, padding rate_bps, packets)``; none by default.

        Media sent while a cluster goes out counts as part of it (``on_packet_sent``)."""
        return []

    def congestion_window_bytes(self, now_s: float) -> float | None:
        """The most bytes that may be in flight now, or ``None`` for no window (the default)."""
        return None

    def _clamp(self, rate_bps: float) -> float:
        return min(max(rate_bps, self.min_rate_bps), self.max_rate_bps)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target={self.target_rate_bps / 1e3:.0f} kbit/s)"


class FixedRate(RateController):
    """Sends at ``start_rate_bps`` whatever happens: the baseline that shows why we adapt."""

    name = "fixed"

    def __init__(self, start_rate_bps: float = 1e6, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6):
        super().__init__(start_rate_bps, min_rate_bps=min(min_rate_bps, start_rate_bps),
                         max_rate_bps=max(max_rate_bps, start_rate_bps))


class LossAimd(RateController):
    """Loss-based AIMD, TCP-Reno style, on transport-wide feedback.

    Additive increase of ``increase_packets`` packets of ``packet_bytes`` per RTT while no
    loss is seen; on a loss ratio above ``loss_threshold`` in a feedback report,
    multiply by ``decrease_factor`` (0.5, as Reno halves its window), at most once
    per RTT (a burst of losses is one congestion event, RFC 5681 section 3.2 does the
    same with fast recovery).  Like TCP it only learns of congestion once the
    bottleneck queue overflows, so it keeps that queue full: high throughput, high delay.
    """

    name = "aimd"

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 *, decrease_factor: float = 0.5, increase_packets: float = 1.0, packet_bytes: int = 1200,
                 loss_threshold: float = 0.0):
        super().__init__(start_rate_bps, min_rate_bps, max_rate_bps)
        if not 0 < decrease_factor < 1:
            raise ValueError(f"decrease_factor must be in (0, 1), got {decrease_factor!r}")
        if not 0 < increase_packets <= 100:
            raise ValueError(f"increase_packets must be in (0, 100], got {increase_packets!r}")
        if not 0 <= loss_threshold < 1:
            raise ValueError(f"loss_threshold must be in [0, 1), got {loss_threshold!r}")
        self.decrease_factor = decrease_factor
        self.increase_bits = increase_packets * packet_bytes * 8
        self.loss_threshold = loss_threshold
        self.rtt_s = 0.1
        self._last_s: float | None = None
        self._last_decrease_s = -math.inf

    def on_packet_results(self, now_s: float, results: list[PacketResult], rtt_s: float | None = None) -> float:
        if rtt_s is not None:
            self.rtt_s = max(rtt_s, 0.001)
        last = self._last_s if self._last_s is not None else now_s
        self._last_s = now_s
        if not results:
            return self.target_rate_bps
        lost = sum(1 for r in results if r.arrival_time_s is None)
        rate = self.target_rate_bps
        if lost / len(results) > self.loss_threshold:
            if now_s - self._last_decrease_s >= self.rtt_s:
                rate *= self.decrease_factor
                self._last_decrease_s = now_s
        else:
            rate += self.increase_bits * (now_s - last) / self.rtt_s / self.rtt_s
        self.target_rate_bps = self._clamp(rate)
        return self.target_rate_bps
