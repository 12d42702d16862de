"""What a QoS dashboard samples from a live call, every 250 ms: one :class:`StatsSample` format for both stacks.

A :class:`StatsSample` is one row of the dashboard (notebooks/12_live_call.ipynb):
the media direction A→B seen at time ``t_s`` (seconds since the call's media
started).  ``None`` means "not known (yet)".

=====================  ==================================================================
field                  meaning (and where it comes from)
=====================  ==================================================================
``rtt_ms``             round-trip time from RTCP SR/RR, LSR and DLSR (RFC 3550 6.4.1)
``jitter_ms``          interarrival jitter (RFC 3550 6.4.1 / A.8) of the audio stream,
                       converted from RTP timestamp units: jitter / clock rate
``loss_fraction``      packets lost / packets expected *in the last interval*
                       (RFC 3550 6.4.1 "fraction lost", computed from the counters)
``packets_lost``       cumulative packets lost (RFC 3550 A.3), all media streams
                       (retransmission streams, RFC 4588, left out: they are repairs)
``packets_received``   cumulative RTP packets received, the same streams
``send_kbps``          what A's transport sent in the last interval (kbit/s, all UDP payload)
``recv_kbps``          what B's transport received in the last interval
``frames_decoded``     cumulative video frames the receiver decoded
``fps``                decoded frames per second over the last second
``freeze_count``       cumulative video freezes, W3C webrtc-stats ``freezeCount``
``freeze_s``           cumulative freeze time, W3C ``totalFreezesDuration``
``e2e_delay_ms``       median capture-to-render delay of the frames completed in the
                       last interval, measured, not estimated: for aiortc, the capture
                       time stamped into the pixels and read back after decoding
                       (glass to glass); for the rtlib endpoint, the capture time in
                       each frame's abs-capture-time extension, read when the frame is
                       complete and ready to render (no decoder in the loop)
``audio_concealed_ms`` cumulative audio the receiver did not get in time and had to
                       conceal (W3C ``concealedSamples`` / sample rate)
=====================  ==================================================================

The freeze rule is W3C *Identifiers for WebRTC's Statistics API*, section
RTCInboundRtpStreamStats, ``freezeCount``
(https://www.w3.org/TR/webrtc-stats/#dom-rtcinboundrtpstreamstats-freezecount):
a rendered frame whose duration (time since the previous rendered frame) is at
least max(3 × avg, avg + 150 ms), where avg is the mean duration of the last 30
rendered frames, is a freeze; ``totalFreezesDuration`` adds up those durations.
:class:`FreezeDetector` implements it as a plain class fed with frame times.

Used in: notebooks/12_live_call.ipynb (the QoS dashboard), ``python -m rtlib live-call``,
:mod:`rtlib.live.aiortc_call` and the rtlib endpoint.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

#: the W3C rule's constants (webrtc-stats, freezeCount)
FREEZE_WINDOW_FRAMES = 30
FREEZE_FACTOR = 3.0
FREEZE_MARGIN_S = 0.150
# libwebrtc's VideoQualityObserver (the code behind Chrome's freezeCount) judges no gap
# a freeze before it has this many inter-frame durations (kMinFrameSamplesToDetectFreeze):
# a call's first frames are too few to say what normal is.
FREEZE_MIN_SAMPLES = 5

SAMPLE_INTERVAL_S = 0.25


@dataclass
class StatsSample:
    """One dashboard row (see the module docstring for each field's meaning and source)."""

    t_s: float
    rtt_ms: float | None = None
    jitter_ms: float | None = None
    loss_fraction: float | None = None
    packets_lost: int | None = None
    packets_received: int | None = None
    send_kbps: float | None = None
    recv_kbps: float | None = None
    frames_decoded: int | None = None
    fps: float | None = None
    freeze_count: int | None = None
    freeze_s: float | None = None
    e2e_delay_ms: float | None = None
    audio_concealed_ms: float | None = None

    def to_dict(self) -> dict:
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict) -> "StatsSample":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown StatsSample field(s) {unknown}; fields: {sorted(names)}")
        if "t_s" not in d:
            raise ValueError("a StatsSample needs t_s (seconds since the call started)")
        return cls(**d)


SAMPLE_FIELDS = tuple(f.name for f in fields(StatsSample))


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return None if math.isnan(v) else v
    return v


def _pct(values, q):
    v = [x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    return float(np.percentile(v, q)) if v else None


@dataclass
class CallStats:
    """The samples of one call plus its ``config`` (stack, impairments, seed ...)."""

    samples: list[StatsSample] = field(default_factory=list)
    config: dict = field(default_factory=dict)

    def add(self, sample: StatsSample) -> None:
        self.samples.append(sample)

    def column(self, name: str) -> list:
        """One field over time (``None`` where unknown)."""
        if name not in SAMPLE_FIELDS:
            raise ValueError(f"name must be one of {list(SAMPLE_FIELDS)}, got {name!r}")
        return [getattr(s, name) for s in self.samples]

    def _last(self, name):
        for s in reversed(self.samples):
            v = getattr(s, name)
            if v is not None:
                return v
        return None

    def summary(self) -> dict:
        """The call in one dict: p50/p95 of the time series, totals, loss and freeze rate.

        ``loss_fraction`` is the whole call's: lost / (lost + received) from the last
        cumulative counters.  ``freeze_rate_per_min`` is freezes per minute of call;
        ``frozen_fraction`` the share of time frozen (the stall rate, 卡顿率).
        """
        n = len(self.samples)
        duration_s = self.samples[-1].t_s if n else 0.0
        out: dict = {"samples": n, "duration_s": duration_s}
        for name in ("rtt_ms", "jitter_ms", "send_kbps", "recv_kbps", "fps", "e2e_delay_ms"):
            col = self.column(name)
            out[f"{name}_p50"] = _pct(col, 50)
            out[f"{name}_p95"] = _pct(col, 95)
        lost, received = self._last("packets_lost"), self._last("packets_received")
        out["packets_lost"], out["packets_received"] = lost, received
        total = (lost or 0) + (received or 0)
        out["loss_fraction"] = (lost / total) if lost is not None and total > 0 else None
        out["frames_decoded"] = self._last("frames_decoded")
        fc, fs = self._last("freeze_count"), self._last("freeze_s")
        out["freeze_count"], out["freeze_s"] = fc, fs
        out["freeze_rate_per_min"] = fc / (duration_s / 60.0) if fc is not None and duration_s > 0 else None
        out["frozen_fraction"] = fs / duration_s if fs is not None and duration_s > 0 else None
        out["audio_concealed_ms"] = self._last("audio_concealed_ms")
        return out

    def to_dict(self) -> dict:
        return {"config": self.config, "samples": [s.to_dict() for s in self.samples]}

    @classmethod
    def from_dict(cls, d: dict) -> "CallStats":
        if not isinstance(d, dict) or "samples" not in d:
            raise ValueError("a CallStats dict needs 'samples' (and optionally 'config')")
        return cls(samples=[StatsSample.from_dict(s) for s in d["samples"]], config=dict(d.get("config") or {}))

    def to_json(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def from_json(cls, path: str | Path) -> "CallStats":
        return cls.from_dict(json.loads(Path(path).read_text()))


# -- pure detectors ---------------------------------------------------------------------
class FreezeDetector:
    """W3C webrtc-stats ``freezeCount`` / ``totalFreezesDuration`` from rendered-frame times.

    Feed :meth:`frame` with each rendered (decoded) frame's time in seconds.  A frame
    whose duration d (since the previous frame) satisfies
    d >= max(3 × avg, avg + 150 ms), avg = mean of the previous 30 durations, counts
    one freeze of duration d, once at least :data:`FREEZE_MIN_SAMPLES` durations are known
    (libwebrtc's rule; before that, no gap counts).  :meth:`pending_s` tells how long the current gap has
    lasted, so a dashboard can show a freeze that has not ended yet.
    """

    def __init__(self, window_frames: int = FREEZE_WINDOW_FRAMES):
        if isinstance(window_frames, bool) or not isinstance(window_frames, int) or window_frames < 1:
            raise ValueError(f"window_frames must be an integer >= 1, got {window_frames!r}")
        self._durations: deque[float] = deque(maxlen=window_frames)
        self._sum_s = 0.0
        self.last_t_s: float | None = None
        self.frames = 0
        self.freeze_count = 0
        self.freeze_s = 0.0

    def threshold_s(self) -> float | None:
        """The duration that would count as a freeze now (None before :data:`FREEZE_MIN_SAMPLES`
        inter-frame durations are known)."""
        if len(self._durations) < FREEZE_MIN_SAMPLES:
            return None
        avg = sum(self._durations) / len(self._durations)
        return max(FREEZE_FACTOR * avg, avg + FREEZE_MARGIN_S)

    def frame(self, t_s: float) -> bool:
        """A frame rendered at ``t_s``; True when it ends a freeze."""
        if not math.isfinite(t_s):
            raise ValueError(f"t_s must be a finite time in seconds, got {t_s!r}")
        self.frames += 1
        froze = False
        if self.last_t_s is not None:
            d = t_s - self.last_t_s
            if d < 0:
                raise ValueError(f"frame times must not go back: {t_s!r} after {self.last_t_s!r}")
            th = self.threshold_s()
            if th is not None and d >= th:
                self.freeze_count += 1
                self.freeze_s += d
                froze = True
            self._durations.append(d)
        self.last_t_s = t_s
        return froze

    def pending_s(self, now_s: float) -> float:
        """How long the screen has shown the same frame at ``now_s``, if that already is a freeze (else 0)."""
        th = self.threshold_s()
        if th is None or self.last_t_s is None:
            return 0.0
        gap = now_s - self.last_t_s
        return gap if gap >= th else 0.0


def count_freezes(frame_times_s) -> tuple[int, float]:
    """``(freeze_count, freeze_s)`` of a sequence of rendered-frame times (W3C rule, see :class:`FreezeDetector`)."""
    det = FreezeDetector()
    for t in frame_times_s:
        det.frame(float(t))
    return det.freeze_count, det.freeze_s


class AudioGapCounter:
    """Audio the receiver never got, from the RTP timestamps of the frames it decoded.

    Each decoded frame carries its RTP timestamp ``pts`` and ``samples``; the next one
    should start at ``pts + samples``.  Anything skipped is audio a player must conceal
    (W3C webrtc-stats ``concealedSamples``), counted in samples and in ms.
    """

    def __init__(self, clock_rate_hz: int = 48000):
        if isinstance(clock_rate_hz, bool) or not isinstance(clock_rate_hz, int) or clock_rate_hz <= 0:
            raise ValueError(f"clock_rate_hz must be an integer > 0, got {clock_rate_hz!r}")
        self.clock_rate_hz = clock_rate_hz
        self._next: int | None = None
        self.concealed_samples = 0
        self.received_samples = 0

    def frame(self, pts: int, samples: int) -> None:
        pts, samples = int(pts), int(samples)
        if self._next is not None:
            gap = (pts - self._next) % (1 << 32)  # RTP timestamps wrap (RFC 3550 5.1)
            if gap < (1 << 31):  # ahead: a gap; behind would be a late or repeated frame
                self.concealed_samples += gap
        self._next = (pts + samples) % (1 << 32)
        self.received_samples += samples

    @property
    def concealed_ms(self) -> float:
        return 1000.0 * self.concealed_samples / self.clock_rate_hz


class RateMeter:
    """kbit/s between successive readings of a cumulative byte counter."""

    def __init__(self):
        self._last: tuple[float, int] | None = None

    def update(self, t_s: float, total_bytes: int | None) -> float | None:
        if total_bytes is None:
            return None
        last, self._last = self._last, (t_s, total_bytes)
        if last is None or t_s <= last[0]:
            return None
        return 8.0 * (total_bytes - last[1]) / (t_s - last[0]) / 1000.0


def interval_loss(prev: tuple[int, int] | None, lost: int, received: int) -> float | None:
    """Fraction lost between two readings of cumulative (lost, received) counters (RFC 3550 6.4.1)."""
    if prev is None:
        total = lost + received
        return lost / total if total > 0 else None
    d_lost, d_recv = lost - prev[0], received - prev[1]
    expected = d_lost + d_recv
    if expected <= 0:
        return None
    return min(max(d_lost / expected, 0.0), 1.0)


__all__ = ["AudioGapCounter", "CallStats", "FreezeDetector", "RateMeter", "SAMPLE_FIELDS", "SAMPLE_INTERVAL_S",
           "StatsSample", "count_freezes", "interval_loss"]
