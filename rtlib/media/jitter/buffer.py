"""A sans-IO jitter buffer: packets in as they arrive, frames out when they are due.

:class:`JitterBuffer` is the frame-by-frame form of
:func:`~rtlib.media.jitter.playout.play_trace`: the same policies, the same rules,
but fed one packet at a time with the current time, so that an event loop
(:class:`rtlib.sim.EventLoop`, or an asyncio driver with a real audio clock) can
run it::

    jb = JitterBuffer(AdaptivePlayout())
    jb.push(seq, send_s, payload, now_s, talkspurt_start=marker)   # on each arrival
    for frame in jb.pop(now_s):                                    # at jb.next_deadline_s()
        play(frame.payload) if frame.status == "played" else conceal()

What it decides, as a real receiver would from RTP headers only:

- a packet starts a new talkspurt when it carries the marker bit or when its
  timestamp jumps further than its sequence number does (RFC 3551 section 4.1:
  the marker is set on the first packet after a silence, which may itself be lost);
- the playout delay of a talkspurt is decided when its first packet arrives
  (``mode="talkspurt"``), and may also move by time-stretching inside it
  (``mode="stretch"``);
- a packet that arrives after its playout time is *late* and is dropped;
- a frame whose packet is missing when it is due, while a later packet of the
  talkspurt is already here, comes out with ``status="missing"`` so the caller
  conceals it (:mod:`rtlib.media.plc`).

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rtlib.media.jitter.playout import MODES, PlayoutPolicy


@dataclass(frozen=True)
class Frame:
    """One frame handed to the player: ``status`` is ``"played"`` or ``"missing"``."""

    seq: int
    send_s: float
    due_s: float
    payload: Any
    status: str


class JitterBuffer:
    """Hold packets until their playout time; see the module docstring.

    Sequence numbers are *extended* (they do not wrap; RFC 3550 appendix A.1 shows
    how a receiver extends the 16-bit field).
    """

    def __init__(self, policy: PlayoutPolicy, *, frame_s: float = 0.02, mode: str = "talkspurt",
                 max_stretch: float = 0.25, deadband_ms: float = 5.0):
        if not isinstance(policy, PlayoutPolicy):
            raise ValueError(f"policy must be a PlayoutPolicy, got {type(policy).__name__}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
        if not 0.0025 <= frame_s <= 0.12:
            raise ValueError(f"frame_s must be in [0.0025, 0.12] s, got {frame_s!r}")
        if not 0.0 < max_stretch <= 1.0:
            raise ValueError(f"max_stretch must be in (0, 1], got {max_stretch!r}")
        if not 0.0 <= deadband_ms <= 1000.0:
            raise ValueError(f"deadband_ms must be in [0, 1000] ms, got {deadband_ms!r}")
        self.policy, self.frame_s, self.mode = policy, float(frame_s), mode
        self.step_max_s = max_stretch * frame_s
        self.band_s = deadband_ms / 1000.0
        self._packets: dict[int, tuple[float, Any]] = {}
        self.next_seq: int | None = None  # the next frame to hand out
        self.max_seq: int | None = None  # highest sequence number received
        self._max_send = 0.0
        # The talkspurt being played: its reference packet, playout delay and anchor.
        self._ref = (0, 0.0)
        self.delay_s = math.nan
        self._anchor = math.nan
        # Talkspurts decided (their first packet arrived) but not reached yet.
        self._pending: list[tuple[int, float, float, float]] = []  # (seq, send_s, target_s, anchor_s)
        self._last_end_s = -math.inf  # when the last frame handed out ends
        self._stretch_done: int | None = None
        self.stats = {"received": 0, "played": 0, "late": 0, "missing": 0, "duplicate": 0, "stretched": 0}

    # -- input ---------------------------------------------------------------------
    def push(self, seq: int, send_s: float, payload: Any, now_s: float, *, talkspurt_start: bool = False) -> str:
        """A packet arrived at ``now_s``; returns ``"buffered"``, ``"late"`` or ``"duplicate"``."""
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValueError(f"seq must be a non-negative int (an extended sequence number), got {seq!r}")
        if not (math.isfinite(send_s) and math.isfinite(now_s)):
            raise ValueError(f"send_s and now_s must be finite seconds, got {send_s!r}, {now_s!r}")
        if seq in self._packets:
            self.stats["duplicate"] += 1
            return "duplicate"
        self.stats["received"] += 1
        self.policy.observe(send_s, now_s)
        anchor = now_s - send_s
        if self.max_seq is None:  # the very first packet starts the first talkspurt
            self.next_seq, self._ref = seq, (seq, send_s)
            self.delay_s, self._anchor, self._stretch_done = self.policy.target_delay_s(anchor), anchor, seq
        elif seq > self.max_seq and (talkspurt_start or
                                     send_s - self._max_send > (seq - self.max_seq + 0.5) * self.frame_s):
            # Marker bit, or the timestamp jumped further than the sequence number: a new talkspurt.
            self._pending.append((seq, send_s, self.policy.target_delay_s(anchor), anchor))
        if self.max_seq is None or seq > self.max_seq:
            self.max_seq, self._max_send = seq, send_s
        if seq < self.next_seq or now_s > send_s + self._delay_for(seq, send_s):
            self.stats["late"] += 1
            return "late"
        self._packets[seq] = (send_s, payload)
        return "buffered"

    def due_s(self, seq: int, send_s: float) -> float:
        """When the frame ``seq`` sent at ``send_s`` is due to play, as far as is known now."""
        return send_s + self._delay_for(seq, send_s)

    def _delay_for(self, seq: int, send_s: float) -> float:
        """The playout delay that will apply to ``seq`` as far as is known now."""
        delay = self.delay_s
        for p_seq, _, target, _ in self._pending:
            if p_seq <= seq:
                delay = target
        return delay

    # -- output --------------------------------------------------------------------
    def _enter_talkspurt(self) -> None:
        """Switch to a decided talkspurt once the next frame to hand out belongs to it."""
        while self._pending and self._pending[0][0] <= self.next_seq:
            seq, send_s, target, anchor = self._pending.pop(0)
            self._ref = (seq, send_s)
            # Never start before the previous talkspurt has finished playing.
            self.delay_s = max(target, self._last_end_s - send_s)
            self._anchor, self._stretch_done = anchor, seq

    def _send_of(self, seq: int) -> float:
        ref_seq, ref_send = self._ref
        return ref_send + (seq - ref_seq) * self.frame_s

    def _has_next(self) -> bool:
        s = self.next_seq
        return s in self._packets or (self.max_seq is not None and self.max_seq > s)

    def next_deadline_s(self) -> float | None:
        """When the next frame is due (``None`` while there is nothing to hand out)."""
        if self.next_seq is None:
            return None
        self._enter_talkspurt()
        if not self._has_next():
            if self.mode == "stretch" and self._stretch_done != self.next_seq:
                # Audio is continuous: the playout clock ticks (and may stretch) even on an underrun.
                return self._send_of(self.next_seq) + self.delay_s
            return None  # nothing known beyond: the talkspurt ended, or an underrun
        return self._send_of(self.next_seq) + self.delay_s

    def pop(self, now_s: float) -> list[Frame]:
        """The frames due at or before ``now_s``, in order."""
        out: list[Frame] = []
        while self.next_seq is not None:
            self._enter_talkspurt()
            s = self.next_seq
            send_s = self._send_of(s)
            if self.mode == "stretch" and self._stretch_done != s and send_s + self.delay_s <= now_s:
                # Time-stretching: move the delay toward the target by at most one step per frame.
                self._stretch_done = s
                diff = self.policy.target_delay_s(self._anchor) - self.delay_s
                if abs(diff) > self.band_s:
                    self.delay_s += min(max(diff, -self.step_max_s), self.step_max_s)
                    self.stats["stretched"] += 1
            if not self._has_next():
                break
            due = send_s + self.delay_s
            if due > now_s:
                break
            if s in self._packets:
                pkt_send, payload = self._packets.pop(s)
                out.append(Frame(s, pkt_send, due, payload, "played"))
                self.stats["played"] += 1
            else:
                out.append(Frame(s, send_s, due, None, "missing"))
                self.stats["missing"] += 1
            self._last_end_s = due + self.frame_s
            self.next_seq = s + 1
        return out


def play_through_buffer(trace, policy: PlayoutPolicy, *, mode: str = "talkspurt", max_stretch: float = 0.25,
                        deadband_ms: float = 5.0):
    """Run ``trace`` through a :class:`JitterBuffer` on the virtual-time event loop.

    Returns ``(result, buffer)``: a :class:`~rtlib.media.jitter.playout.PlayoutResult`
    with the time each frame was handed out (for a late packet: the time it missed),
    and the buffer (for its ``stats``).  The frame index serves as the (extended)
    sequence number.  In ``"talkspurt"`` mode the result equals
    :func:`~rtlib.media.jitter.playout.play_trace`'s; in ``"stretch"`` mode the two
    agree closely but not exactly, because the buffer takes each stretching step
    when it hands a frame out, having seen what arrived by then.
    """
    import numpy as np

    from rtlib.media.jitter.playout import PlayoutResult
    from rtlib.sim import EventLoop

    send, arrival, starts = trace.send_s, trace.arrival_s, trace.talkspurt_start
    received = np.flatnonzero(trace.received)
    jb = JitterBuffer(policy, frame_s=trace.frame_s, mode=mode, max_stretch=max_stretch, deadband_ms=deadband_ms)
    start_s = float(min(send[0], np.nanmin(arrival))) if received.size else float(send[0])
    loop = EventLoop(start_s)
    playout = np.full(len(trace), np.nan)
    stretched = np.zeros(len(trace), dtype=bool)
    timer = [None]

    def reschedule():
        if timer[0] is not None:
            timer[0].cancel()
        t = jb.next_deadline_s()
        timer[0] = None if t is None else loop.call_at(max(t, loop.time()), tick)

    def tick():
        before = jb.stats["stretched"]
        for frame in jb.pop(loop.time()):
            if np.isnan(playout[frame.seq]):
                playout[frame.seq] = frame.due_s
            if jb.stats["stretched"] > before:
                stretched[frame.seq], before = True, jb.stats["stretched"]
        reschedule()

    def arrive(i):
        if jb.push(int(i), float(send[i]), int(i), loop.time(), talkspurt_start=bool(starts[i])) == "late":
            playout[i] = jb.due_s(int(i), float(send[i]))  # the time it missed
        reschedule()

    for i in received[np.argsort(arrival[received], kind="stable")]:
        loop.call_at(float(arrival[i]), arrive, i)
    loop.run()
    return PlayoutResult(trace, playout, stretched, policy.name, mode), jb
