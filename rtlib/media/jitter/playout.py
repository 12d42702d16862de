"""Play a packet trace through a playout policy, and measure what the listener gets.

A receiver plays frame ``i`` at ``send_s[i] + D``: ``D`` is the *playout delay*, the
same for every frame of a talkspurt.  A packet that arrives after its playout time
is *late*: it is thrown away exactly as if the network had lost it (late loss).  A
larger ``D`` loses fewer packets late but delays the whole conversation: that
trade-off is the subject of chapter 07.

A :class:`PlayoutPolicy` chooses ``D``.  It is sans-IO: it is told about each arrival
(:meth:`~PlayoutPolicy.observe`) and asked for its current target
(:meth:`~PlayoutPolicy.target_delay_s`).  :func:`play_trace` drives it causally: a
decision made at time ``t`` only uses packets that arrived by ``t``.  Two ways to
move ``D``:

- ``mode="talkspurt"``: change ``D`` only at the start of a talkspurt (when its first
  packet arrives), so silences absorb the change and speech is never stretched
  (Ramjee et al. 1994; RFC 3551 section 4.1 marker bit).
- ``mode="stretch"``: also move ``D`` inside a talkspurt by playing frames slightly
  faster or slower (time-scale modification, as WebRTC's NetEQ "accelerate" and
  "preemptive expand" do), at most ``max_stretch`` of a frame per frame.  Needed when
  the sender never pauses (continuous audio).

Metrics (:class:`PlayoutResult`): the mean playout delay (mouth-to-ear minus coding),
the time packets spend in the buffer, the late-loss rate, and the fraction of frames
played time-stretched.

Used in: notebooks/07_jitter_buffers.ipynb, benchmarks/bench_playout.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtlib.media.jitter.trace import PacketTrace

MODES = ("talkspurt", "stretch")


class PlayoutPolicy:
    """Base class of the playout-delay policies (sans-IO).

    Subclasses override :meth:`observe` (one call per arriving packet, in arrival
    order) and :meth:`target_delay_s`.  Delays are ``arrival - send`` in seconds on
    the receiver's view of both clocks.
    """

    name = "policy"

    def observe(self, send_s: float, arrival_s: float) -> None:
        """A packet sent at ``send_s`` arrived at ``arrival_s``."""

    def target_delay_s(self, anchor_delay_s: float) -> float:
        """The playout delay to use now.

        ``anchor_delay_s`` is the delay of the first packet of the current talkspurt
        (what a plain fixed buffer measures its wait from).
        """
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


@dataclass
class PlayoutResult:
    """Where each frame of a trace was played, and what that cost.

    ``playout_s[i]`` is the scheduled playout time of frame ``i`` (``nan`` before the
    first packet arrived); ``stretched[i]`` is True when the playout delay moved by
    time-stretching just before frame ``i``.
    """

    trace: PacketTrace
    playout_s: np.ndarray
    stretched: np.ndarray
    policy: str = ""
    mode: str = "talkspurt"

    @property
    def late(self) -> np.ndarray:
        """Packets that arrived, but after their playout time (discarded)."""
        with np.errstate(invalid="ignore"):
            return self.trace.received & ~(self.trace.arrival_s <= self.playout_s)

    @property
    def played(self) -> np.ndarray:
        """Packets played from the network (arrived in time)."""
        return self.trace.received & ~self.late

    @property
    def late_loss_rate(self) -> float:
        """Late packets as a fraction of the packets that arrived."""
        n = int(self.trace.received.sum())
        return float(self.late.sum() / n) if n else 0.0

    @property
    def total_loss_rate(self) -> float:
        """Frames the listener does not get (lost by the network or late), as a fraction of all frames."""
        return float(np.mean(~self.played))

    @property
    def delay_s(self) -> np.ndarray:
        """Playout delay ``playout - send`` of every frame."""
        return self.playout_s - self.trace.send_s

    @property
    def mean_delay_ms(self) -> float:
        """Mean playout delay (send to playout) over all scheduled frames, in ms."""
        d = self.delay_s
        d = d[np.isfinite(d)]
        return float(np.mean(d) * 1e3) if d.size else math.nan

    @property
    def buffer_delay_ms(self) -> float:
        """Mean time a packet waits in the buffer (arrival to playout), over played packets, in ms."""
        p = self.played
        return float(np.mean(self.playout_s[p] - self.trace.arrival_s[p]) * 1e3) if p.any() else math.nan

    @property
    def stretched_fraction(self) -> float:
        """Fraction of frames played faster or slower than real time."""
        return float(np.mean(self.stretched))

    def summary(self) -> dict:
        return {
            "policy": self.policy, "mode": self.mode, "frames": len(self.trace),
            "network_loss": self.trace.loss_rate, "late_loss": self.late_loss_rate,
            "total_loss": self.total_loss_rate, "mean_delay_ms": self.mean_delay_ms,
            "buffer_delay_ms": self.buffer_delay_ms, "stretched_fraction": self.stretched_fraction,
        }

    def __repr__(self) -> str:
        return (f"PlayoutResult({self.policy}, {self.mode}: mean delay {self.mean_delay_ms:.1f} ms, "
                f"late loss {self.late_loss_rate:.2%}, stretched {self.stretched_fraction:.1%})")


def play_trace(trace: PacketTrace, policy: PlayoutPolicy, *, mode: str = "talkspurt",
               max_stretch: float = 0.25, deadband_ms: float = 5.0) -> PlayoutResult:
    """Schedule every frame of ``trace`` with ``policy``; see the module docstring.

    In ``"stretch"`` mode the delay moves toward the policy's target only when they
    differ by more than ``deadband_ms`` (NetEQ likewise keeps a band around its
    target level), by at most ``max_stretch × frame`` per frame.  At a talkspurt
    start both modes jump straight to the target, but never so far back that the new
    talkspurt would overlap the end of the previous one.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    if not 0.0 < max_stretch <= 1.0:
        raise ValueError(f"max_stretch must be in (0, 1] (fraction of a frame), got {max_stretch!r}")
    if not 0.0 <= deadband_ms <= 1000.0:
        raise ValueError(f"deadband_ms must be in [0, 1000] ms, got {deadband_ms!r}")
    if not isinstance(policy, PlayoutPolicy):
        raise ValueError(f"policy must be a PlayoutPolicy, got {type(policy).__name__}")

    send, arrival, frame_s = trace.send_s, trace.arrival_s, trace.frame_s
    n = len(trace)
    received = trace.received
    ts_id = trace.talkspurt_id
    n_ts = trace.n_talkspurts

    # Packets in arrival order, fed to the policy as the clock passes their arrival.
    order = np.flatnonzero(received)
    order = order[np.argsort(arrival[order], kind="stable")]
    arr_sorted, send_sorted = arrival[order].tolist(), send[order].tolist()
    # Each talkspurt is decided when its first (earliest-arriving) packet arrives.
    first_pos = np.full(n_ts, -1)
    ts_of_sorted = ts_id[order]
    uniq, idx = np.unique(ts_of_sorted, return_index=True)
    first_pos[uniq] = idx

    starts = trace.talkspurt_start.tolist()
    ts_list = ts_id.tolist()
    send_list = send.tolist()
    observe, target = policy.observe, policy.target_delay_s
    step_max = max_stretch * frame_s
    band = deadband_ms / 1000.0
    stretch = mode == "stretch"

    playout = np.full(n, np.nan)
    stretched = np.zeros(n, dtype=bool)
    ptr = 0
    delay = math.nan
    anchor = math.nan
    end_prev = -math.inf
    for j in range(n):
        if starts[j]:
            pos = first_pos[ts_list[j]]
            if pos >= 0:
                while ptr <= pos:  # everything that arrived up to (and with) the deciding packet
                    observe(send_sorted[ptr], arr_sorted[ptr])
                    ptr += 1
                anchor = arr_sorted[pos] - send_sorted[pos]
                delay = max(target(anchor), end_prev - send_list[j])
        elif stretch and delay == delay:  # not nan
            t_now = send_list[j] + delay
            while ptr < len(arr_sorted) and arr_sorted[ptr] <= t_now:
                observe(send_sorted[ptr], arr_sorted[ptr])
                ptr += 1
            diff = target(anchor) - delay
            if abs(diff) > band:
                delay += min(max(diff, -step_max), step_max)
                stretched[j] = True
        if delay == delay:
            playout[j] = send_list[j] + delay
            end_prev = playout[j] + frame_s
    return PlayoutResult(trace, playout, stretched, policy.name, mode)


def late_packets(arrival_s, media_s, *, policy: PlayoutPolicy | None = None, talkspurt_start=None,
                 frame_s: float | None = None, mode: str | None = None) -> np.ndarray:
    """Which of the packets that arrived were late for a playout buffer (flags in the input order).

    For callers that hold packets as they arrived, e.g. an RTP receiver
    (``rtlib.rtp.call``): ``arrival_s`` and ``media_s`` (the RTP timestamp in
    seconds, unwrapped) per packet, in any order.  ``policy`` defaults to
    :class:`~rtlib.media.jitter.adaptive.AdaptivePlayout`; ``talkspurt_start`` (the
    RTP marker bits) lets it adapt between talkspurts; without them the stream is
    taken as continuous and ``mode`` defaults to ``"stretch"``.  ``frame_s`` defaults
    to the most common gap between media times.
    """
    from rtlib.media.jitter.adaptive import AdaptivePlayout

    arrival = np.asarray(arrival_s, dtype=float)
    media = np.asarray(media_s, dtype=float)
    if arrival.shape != media.shape or arrival.ndim != 1:
        raise ValueError(f"arrival_s and media_s must be 1-D arrays of one shape, got {arrival.shape}, {media.shape}")
    if arrival.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(media, kind="stable")
    if frame_s is None:
        gaps = np.diff(media[order])
        gaps = gaps[gaps > 0]
        frame_s = float(np.median(gaps)) if gaps.size else 0.02
    starts = None if talkspurt_start is None else np.asarray(talkspurt_start, dtype=bool)[order]
    if mode is None:
        mode = "talkspurt" if talkspurt_start is not None else "stretch"
    trace = PacketTrace(media[order], arrival[order], starts, frame_s)
    late_sorted = play_trace(trace, policy if policy is not None else AdaptivePlayout(), mode=mode).late
    late = np.empty_like(late_sorted)
    late[order] = late_sorted
    return late
