"""A histogram (quantile) playout buffer in the spirit of WebRTC's NetEQ.

Instead of a mean and a deviation, keep the whole *distribution* of recent delays
and play at the delay that covers a chosen fraction of them (a quantile): "97 % of
packets should be in time".  This copes with skewed, heavy-tailed jitter, where
``mean + K·deviation`` over- or under-shoots.

As WebRTC's NetEQ delay manager does (``modules/audio_coding/neteq/delay_manager.cc``,
2020), for each arriving packet:

1. its *relative delay* is its delay minus the smallest delay among the packets
   sent in the last 2 s (the fastest recent packet is the reference);
2. that relative delay is added to a histogram of 20 ms buckets whose old content
   fades: every addition first multiplies all buckets by a forget factor
   (0.9993), and early on the factor starts lower (``1 - 2/(count+1)``) so the first
   packets are not outweighed by an empty start;
3. the target is the reference delay plus the upper edge of the bucket holding the
   ``quantile`` (0.97) of the histogram: NetEQ's "1 packet + bucket index × 20 ms".

Until a second packet has arrived there is no histogram to speak of, so the target
is the first packet's delay plus ``start_ms`` (NetEQ's ``kStartDelayMs`` = 80 ms).

NetEQ then reaches its target by time-stretching (accelerate / preemptive expand)
and, on an empty buffer, conceals (expand) instead of discarding; here the same
target is handed to :func:`~rtlib.media.jitter.playout.play_trace`, which applies it
per talkspurt or by stretching, and counts a packet that misses its time as late.

Used in: notebooks/07_jitter_buffers.ipynb, benchmarks/bench_playout.py.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from rtlib.media.jitter.playout import PlayoutPolicy


class QuantileBuffer(PlayoutPolicy):
    """Target = fastest recent delay + the ``quantile`` of the forgetting relative-delay histogram."""

    def __init__(self, quantile: float = 0.97, *, forget_factor: float = 0.9993, bucket_ms: float = 20.0,
                 n_buckets: int = 100, window_s: float = 2.0, start_forget_weight: float = 2.0,
                 start_ms: float = 80.0):
        if not 0.5 <= quantile < 1.0:
            raise ValueError(f"quantile must be in [0.5, 1), got {quantile!r}")
        if not 0.9 <= forget_factor < 1.0:
            raise ValueError(f"forget_factor must be in [0.9, 1), got {forget_factor!r}")
        if not 1.0 <= bucket_ms <= 100.0:
            raise ValueError(f"bucket_ms must be in [1, 100] ms, got {bucket_ms!r}")
        if not 10 <= n_buckets <= 10_000:
            raise ValueError(f"n_buckets must be in [10, 10000], got {n_buckets!r}")
        if not 0.1 <= window_s <= 60.0:
            raise ValueError(f"window_s must be in [0.1, 60] s, got {window_s!r}")
        if not 0.0 <= start_ms <= 1000.0:
            raise ValueError(f"start_ms must be in [0, 1000] ms, got {start_ms!r}")
        self.start_s = start_ms / 1000.0
        self.quantile, self.forget_factor = float(quantile), float(forget_factor)
        self.bucket_s, self.window_s = bucket_ms / 1000.0, float(window_s)
        self.start_forget_weight = float(start_forget_weight)
        self.hist = np.zeros(int(n_buckets))
        self.count = 0
        self._recent: deque = deque()  # (send_s, delay_s), delays increasing: a monotone queue for the window min
        self.name = f"quantile (q={quantile:g})"

    @property
    def reference_delay_s(self) -> float:
        """Smallest delay among packets sent in the last ``window_s`` (nan before any packet)."""
        return self._recent[0][1] if self._recent else float("nan")

    def observe(self, send_s: float, arrival_s: float) -> None:
        delay = arrival_s - send_s
        recent = self._recent
        # Keep a deque whose delays increase: its head is the window's minimum.
        while recent and recent[-1][1] >= delay:
            recent.pop()
        recent.append((send_s, delay))
        while recent[0][0] < send_s - self.window_s:
            recent.popleft()
        relative = delay - recent[0][1]
        self.count += 1
        f = self.forget_factor
        if self.start_forget_weight:
            f = min(f, max(0.0, 1.0 - self.start_forget_weight / (self.count + 1)))
        index = min(int(relative / self.bucket_s), self.hist.size - 1)
        self.hist *= f
        self.hist[index] += 1.0 - f

    def quantile_delay_s(self) -> float:
        """The histogram's ``quantile`` as a relative delay (bucket upper edge)."""
        cum = np.cumsum(self.hist)
        total = cum[-1]
        if total <= 0:
            return self.bucket_s
        index = int(np.searchsorted(cum, self.quantile * total))
        return (min(index, self.hist.size - 1) + 1) * self.bucket_s

    def target_delay_s(self, anchor_delay_s: float) -> float:
        if self.count < 2:  # NetEQ's start: a fixed 80 ms until a second packet has arrived
            return anchor_delay_s + self.start_s
        return self.reference_delay_s + self.quantile_delay_s()
