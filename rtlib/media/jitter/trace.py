"""A packet trace: when each audio frame was sent, when (if ever) it arrived.

Everything in :mod:`rtlib.media.jitter` works on one :class:`PacketTrace`: one entry
per frame the sender produced, in sending (media) order.  A lost packet has
``arrival_s = nan``.  ``talkspurt_start`` marks the first frame of each talkspurt
after a silence, which is what the RTP marker bit signals for audio (RFC 3551
section 4.1); playout delay may change in the silences between talkspurts without
stretching speech.

The trace can come from :mod:`rtlib.media.jitter.scenarios` (the chapter's jitter
scenarios), from ``rtlib.net.simulate_path`` (its ``arrival_s``) or from a capture.

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class PacketTrace:
    """Send and arrival times of a stream of audio frames, one entry per frame.

    ``send_s``: media (sending) time of each frame in seconds, non-decreasing.
    ``arrival_s``: arrival time at the receiver in seconds, ``nan`` for a lost packet.
    ``talkspurt_start``: True on the first frame of each talkspurt; the first frame
    always starts one.  ``frame_s``: the audio duration of one frame.

    Both clocks are the receiver's view: only *differences* ``arrival - send`` matter
    (the "delay" below), so an unknown constant clock offset changes nothing.
    """

    send_s: np.ndarray
    arrival_s: np.ndarray
    talkspurt_start: np.ndarray = field(default=None)
    frame_s: float = 0.02
    name: str = ""

    def __post_init__(self):
        send = np.asarray(self.send_s, dtype=float)
        arrival = np.asarray(self.arrival_s, dtype=float)
        if send.ndim != 1 or send.size == 0:
            raise ValueError(f"send_s must be a non-empty 1-D array, got shape {send.shape}")
        if arrival.shape != send.shape:
            raise ValueError(f"arrival_s must have the shape of send_s {send.shape}, got {arrival.shape}")
        if not np.all(np.isfinite(send)):
            raise ValueError("send_s must be finite (a lost packet is marked in arrival_s, not send_s)")
        if np.any(np.diff(send) < 0):
            raise ValueError("send_s must be non-decreasing (frames in sending order)")
        if np.any(np.isinf(arrival)):
            raise ValueError("arrival_s must be finite or nan (nan = lost), got inf")
        if not 0.0025 <= self.frame_s <= 0.12:
            raise ValueError(f"frame_s must be in [0.0025, 0.12] s, got {self.frame_s!r}")
        if self.talkspurt_start is None:
            starts = np.zeros(send.shape, dtype=bool)
        else:
            starts = np.asarray(self.talkspurt_start, dtype=bool)
            if starts.shape != send.shape:
                raise ValueError(f"talkspurt_start must have the shape of send_s {send.shape}, got {starts.shape}")
            starts = starts.copy()
        starts[0] = True
        for name, value in (("send_s", send), ("arrival_s", arrival), ("talkspurt_start", starts)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    # -- views -------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.send_s.size

    @property
    def received(self) -> np.ndarray:
        """True for packets that arrived (at any time)."""
        return ~np.isnan(self.arrival_s)

    @property
    def delay_s(self) -> np.ndarray:
        """Network delay ``arrival - send`` of each packet (``nan`` when lost)."""
        return self.arrival_s - self.send_s

    @property
    def talkspurt_id(self) -> np.ndarray:
        """Index of the talkspurt each frame belongs to (0, 1, 2 ...)."""
        return np.cumsum(self.talkspurt_start) - 1

    @property
    def n_talkspurts(self) -> int:
        return int(self.talkspurt_start.sum())

    @property
    def loss_rate(self) -> float:
        """Fraction of packets the network lost (never arrived)."""
        return float(np.mean(~self.received))

    @property
    def duration_s(self) -> float:
        return float(self.send_s[-1] - self.send_s[0] + self.frame_s)

    def with_arrivals(self, arrival_s, name: str | None = None) -> "PacketTrace":
        """The same frames with other arrival times (e.g. after FEC or NACK recovery)."""
        return PacketTrace(self.send_s, arrival_s, self.talkspurt_start, self.frame_s,
                           self.name if name is None else name)

    def __repr__(self) -> str:
        d = self.delay_s[self.received]
        spread = f"delay {np.min(d) * 1e3:.0f}–{np.max(d) * 1e3:.0f} ms" if d.size else "nothing arrived"
        return (f"PacketTrace({self.name + ', ' if self.name else ''}{len(self)} frames of "
                f"{self.frame_s * 1e3:g} ms, {self.n_talkspurts} talkspurts, "
                f"{self.loss_rate:.1%} lost, {spread})")


def continuous_trace(arrival_s, frame_s: float = 0.02, start_s: float = 0.0, name: str = "") -> PacketTrace:
    """A trace of back-to-back frames (no silences) sent every ``frame_s`` from ``start_s``."""
    arrival = np.asarray(arrival_s, dtype=float)
    send = start_s + frame_s * np.arange(arrival.size)
    return PacketTrace(send, arrival, None, frame_s, name)
