"""Clocks: a device's own clock, and estimating another device's clock as NTP does.

Every device keeps time with its own oscillator.  Its clock reads

    local(t) = offset_s + (1 + skew_ppm · 10⁻⁶) · t

at true time ``t``: a constant **offset** (nobody set it to the second) and a
**skew** (the crystal runs a little fast or slow; tens of ppm is common).
:class:`DeviceClock` is that model, used by the simulator only: the protocol objects
never see true time, only their own clock's readings.

To put a follower's media on the leader's timeline, the follower estimates the
leader's clock with NTP's on-wire exchange (RFC 5905 section 8).  The follower
stamps a request when it leaves (T1, its clock); the leader stamps its arrival (T2)
and its reply's departure (T3), both on the leader's clock; the follower stamps the
reply's arrival (T4).  Then

    offset θ = ((T2 − T1) + (T3 − T4)) / 2        (leader clock − follower clock)
    delay  δ = (T4 − T1) − (T3 − T2)              (the round trip, minus the leader's hold)

:func:`ntp_sample` computes both.  θ is exact when the request and the reply take
equal times; otherwise it is off by **half the asymmetry**, (d_forward − d_back) / 2
(:func:`offset_error_s`), and no exchange of timestamps can tell (RFC 5905 section 8
says so: the true offset lies within θ ± δ/2).  Queueing adds delay to one direction
at a time, so the sample with the **least delay** is the one least disturbed:
:class:`OffsetEstimator` keeps the last N samples and answers with the offset of the
one of least delay, as NTP's clock filter does (RFC 5905 section 10, eight
samples).

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from rtlib.validate import check_number

#: NTP's clock filter keeps the last eight samples (RFC 5905 section 10).
NTP_FILTER_SAMPLES = 8


@dataclass(frozen=True)
class NtpSample:
    """One request/reply exchange: offset θ and round-trip delay δ, in seconds."""

    offset_s: float
    delay_s: float
    t4_s: float


def ntp_sample(t1_s: float, t2_s: float, t3_s: float, t4_s: float) -> NtpSample:
    """Offset and delay from the four timestamps of one exchange (RFC 5905 section 8).

    ``t1_s``/``t4_s`` on the asking clock, ``t2_s``/``t3_s`` on the answering one.
    The offset is answering-clock minus asking-clock.

    >>> s = ntp_sample(10.0, 15.05, 15.06, 10.11)
    >>> round(s.offset_s, 6), round(s.delay_s, 6)
    (5.0, 0.1)
    """
    for name, v in (("t1_s", t1_s), ("t2_s", t2_s), ("t3_s", t3_s), ("t4_s", t4_s)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number of seconds, got {v!r}")
    if t3_s < t2_s:
        raise ValueError(f"t3_s must be >= t2_s (the reply leaves after the request arrived), got {t3_s!r} < {t2_s!r}")
    if t4_s < t1_s:
        raise ValueError(f"t4_s must be >= t1_s (the reply arrives after the request left), got {t4_s!r} < {t1_s!r}")
    offset = ((t2_s - t1_s) + (t3_s - t4_s)) / 2.0
    delay = (t4_s - t1_s) - (t3_s - t2_s)
    return NtpSample(offset, delay, float(t4_s))


def offset_error_s(forward_s: float, backward_s: float) -> float:
    """The error of NTP's offset when the request takes ``forward_s`` and the reply
    ``backward_s``: half the asymmetry, ``(forward_s − backward_s) / 2``."""
    check_number("forward_s", forward_s, 0, 3600, "s")
    check_number("backward_s", backward_s, 0, 3600, "s")
    return (forward_s - backward_s) / 2.0


class OffsetEstimator:
    """Best of the last ``window`` NTP samples: the offset of the one with least delay.

    >>> est = OffsetEstimator(window=3)
    >>> est.add(ntp_sample(0.0, 5.30, 5.30, 0.40))   # slow forward: offset biased
    >>> est.add(ntp_sample(1.0, 6.02, 6.02, 1.04))   # quick and symmetric
    >>> round(est.offset_s, 3), round(est.delay_s, 3)
    (5.0, 0.04)
    """

    def __init__(self, window: int = NTP_FILTER_SAMPLES):
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 1000:
            raise ValueError(f"window must be an integer in [1, 1000] samples, got {window!r}")
        self.window = window
        self.samples: deque[NtpSample] = deque(maxlen=window)

    def add(self, sample: NtpSample) -> None:
        self.samples.append(sample)

    @property
    def best(self) -> NtpSample | None:
        """The kept sample of least delay (None before the first)."""
        return min(self.samples, key=lambda s: s.delay_s) if self.samples else None

    @property
    def offset_s(self) -> float | None:
        b = self.best
        return None if b is None else b.offset_s

    @property
    def delay_s(self) -> float | None:
        b = self.best
        return None if b is None else b.delay_s


class DeviceClock:
    """A device's clock at true time ``t``: ``offset_s + (1 + skew_ppm·10⁻⁶)·t`` (simulator side).

    ``offset_s`` in [-86400, 86400] s, ``skew_ppm`` in [-1000, 1000] ppm.
    """

    def __init__(self, offset_s: float = 0.0, skew_ppm: float = 0.0):
        self.offset_s = check_number("offset_s", offset_s, -86400, 86400, "s")
        self.skew_ppm = check_number("skew_ppm", skew_ppm, -1000, 1000, "ppm")
        self._k = 1.0 + self.skew_ppm * 1e-6

    def local(self, t_s: float) -> float:
        """The clock's reading at true time ``t_s``."""
        return self.offset_s + self._k * t_s

    def true(self, local_s: float) -> float:
        """The true time at which the clock reads ``local_s``."""
        return (local_s - self.offset_s) / self._k
