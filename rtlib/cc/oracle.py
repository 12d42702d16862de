"""A reference controller that cheats: it reads the link's capacity, one feedback round late.

No real controller can know the bottleneck's capacity; GCC and the others infer it
from feedback.  :class:`LaggedOracle` is told it: at every feedback report its
target is ``margin`` times the link's mean capacity over the ``window_s`` seconds
that ended ``lag_s`` ago.  The lag stands for what feedback cannot avoid: a change
at the bottleneck reaches the sender only after the packets that met it have
crossed the path and their report has come back (about one round trip, 100 ms on
RFC 8867's default path).  Everything else (encoder, pacer, queue, the delay and
utilisation figures) is the same as for the real controllers, so the oracle answers
one question: *how well could any controller do on this link if it learned the
capacity perfectly but one round trip late?*  Where the oracle cannot reach a
target, no feedback-driven controller should be expected to.

It is a yardstick, not a protocol: the benchmarks (``benchmarks/bench_cc.py``) run
it over a small grid of margins and windows on each cellular trace, and ``python -m
rtlib abr --controller oracle`` shows it next to the real ones.

Used in: notebooks/08_adaptive_bitrate.ipynb (the ``oracle`` choice of the cellular
experiment), benchmarks/bench_cc.py, ``python -m rtlib abr``.
"""

from __future__ import annotations

import math

from rtlib.cc.base import PacketResult, RateController
from rtlib.net import Capacity


class LaggedOracle(RateController):
    """Target = ``margin`` x the link's mean capacity over ``[now - lag - window, now - lag]``."""

    name = "oracle"
    feedback = "transport-cc"

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 *, capacity: Capacity, lag_s: float = 0.1, window_s: float = 0.2, margin: float = 1.0):
        super().__init__(start_rate_bps, min_rate_bps, max_rate_bps)
        if not isinstance(capacity, Capacity):
            raise ValueError(f"capacity must be an rtlib.net Capacity (the link's own), got {type(capacity).__name__}")
        if not 0 <= lag_s <= 10:
            raise ValueError(f"lag_s must be in [0, 10] s, got {lag_s!r}")
        if not 0.005 <= window_s <= 10:
            raise ValueError(f"window_s must be in [0.005, 10] s, got {window_s!r}")
        if not 0 < margin <= 2:
            raise ValueError(f"margin must be in (0, 2], got {margin!r}")
        self.capacity, self.lag_s, self.window_s, self.margin = capacity, lag_s, window_s, margin

    def known_capacity_bps(self, now_s: float) -> float | None:
        """The mean capacity the oracle may know at ``now_s`` (``None`` before the window fills)."""
        end = now_s - self.lag_s
        start = end - self.window_s
        if start < 0:
            return None
        got = float(self.capacity.bytes_by(end)) - float(self.capacity.bytes_by(start))
        return got * 8 / self.window_s

    def on_packet_results(self, now_s: float, results: list[PacketResult], rtt_s: float | None = None) -> float:
        known = self.known_capacity_bps(now_s)
        if known is not None and math.isfinite(known):
            self.target_rate_bps = self._clamp(self.margin * known)
        return self.target_rate_bps
