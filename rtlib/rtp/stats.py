"""Receiver statistics of RFC 3550: sequence numbers, loss, jitter, RTT, RTCP timing.

- :class:`SourceStats`: per-source state of RFC 3550 A.1 (extended highest sequence
  number across 16-bit wrap-around, probation, resync after a big jump), A.3 (expected,
  cumulative and fraction lost) and A.8 (interarrival jitter), and the report block
  an RR/SR carries (6.4.1).
- :func:`interarrival_jitter`: the A.8 estimator over whole arrays, for plots.
- NTP helpers and :func:`round_trip_time_s` (RTT = A - LSR - DLSR, 6.4.1).
- :func:`rtcp_interval`: the RTCP transmission interval of 6.3.1 / A.7 as a function
  of the session size, which learners plot.

Used in: notebooks/05_rtp_rtcp.ipynb; :mod:`rtlib.rtp.session`.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.rtp.rtcp import ReportBlock

RTP_SEQ_MOD = 1 << 16
MAX_DROPOUT = 3000  # RFC 3550 A.1
MAX_MISORDER = 100
MIN_SEQUENTIAL = 2

NTP_UNIX_OFFSET_S = 2_208_988_800  # 1900-01-01 to 1970-01-01
# The simulated wall clock: virtual time 0 is this many seconds after 1970 (2024-01-01),
# so captures show sensible dates and NTP timestamps are realistic.
DEFAULT_EPOCH_S = 1_704_067_200.0


# -- NTP ----------------------------------------------------------------------------------
def ntp_from_unix_s(t_s: float) -> int:
    """64-bit NTP timestamp (32.32 fixed point since 1900) for a Unix time in seconds."""
    if not math.isfinite(t_s) or t_s < -NTP_UNIX_OFFSET_S:
        raise ValueError(f"t_s must be a finite Unix time after 1900, got {t_s!r}")
    v = int(round((t_s + NTP_UNIX_OFFSET_S) * (1 << 32)))
    return v & 0xFFFF_FFFF_FFFF_FFFF


def unix_s_from_ntp(ntp: int) -> float:
    """Unix seconds for a 64-bit NTP timestamp (era 0, 1900-2036)."""
    return ntp / (1 << 32) - NTP_UNIX_OFFSET_S


def ntp_short(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp (16.16 seconds): LSR's format."""
    return (ntp >> 16) & 0xFFFFFFFF


def round_trip_time_s(arrival_ntp_short: int, lsr: int, dlsr: int) -> float | None:
    """RTT at the sender from a report block (RFC 3550 6.4.1): ``A - LSR - DLSR``.

    All three are in 1/65536 s: ``A`` is the middle 32 bits of the NTP time the
    report arrived, ``lsr`` the middle 32 bits of the SR it answers, ``dlsr`` the time
    the receiver held that SR.  Returns ``None`` when ``lsr`` is 0 (no SR received
    yet); a negative result (clocks that jumped) is clamped to 0.

    >>> round_trip_time_s(0xB7108000, 0xB7052000, 0x00054000)  # RFC 3550 6.4.1's example
    6.125
    """
    for name, v in (("arrival_ntp_short", arrival_ntp_short), ("lsr", lsr), ("dlsr", dlsr)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= 0xFFFFFFFF:
            raise ValueError(f"{name} must be a 32-bit unsigned integer (1/65536 s units), got {v!r}")
    if lsr == 0:
        return None
    rtt = (int(arrival_ntp_short) - int(lsr) - int(dlsr)) & 0xFFFFFFFF
    if rtt & 0x80000000:
        return 0.0
    return rtt / 65536


# -- per-source statistics ----------------------------------------------------------------------
class SourceStats:
    """What a receiver knows about one RTP source (RFC 3550 A.1, A.3, A.8).

    Feed it every packet with :meth:`update` (sequence number, RTP timestamp, arrival
    time in seconds).  ``min_sequential`` is A.1's probation: a new source becomes
    valid after that many packets in sequence (RFC default 2; packets in probation
    are not counted, as in A.1).  Use 1 to count every packet from the first, as
    Wireshark does.

    Attributes follow A.1: ``max_seq``, ``cycles`` (count of wraps × 65536),
    ``base_seq``, ``bad_seq``, ``probation``, ``received``; jitter in timestamp units
    (``jitter``) and milliseconds (``jitter_ms``).
    """

    def __init__(self, ssrc: int, clock_rate_hz: int, *, min_sequential: int = MIN_SEQUENTIAL):
        if isinstance(clock_rate_hz, bool) or not isinstance(clock_rate_hz, (int, np.integer)) or not 1 <= clock_rate_hz <= 10_000_000:
            raise ValueError(f"clock_rate_hz must be an integer in [1, 10000000], got {clock_rate_hz!r}")
        if not isinstance(min_sequential, int) or not 1 <= min_sequential <= 100:
            raise ValueError(f"min_sequential must be an integer in [1, 100], got {min_sequential!r}")
        self.ssrc = ssrc
        self.clock_rate_hz = int(clock_rate_hz)
        self.min_sequential = min_sequential
        self.started = False
        self.max_seq = 0
        self.cycles = 0
        self.base_seq = 0
        self.bad_seq = RTP_SEQ_MOD + 1
        self.probation = min_sequential
        self.received = 0
        self.expected_prior = 0
        self.received_prior = 0
        self.duplicates = 0
        self.jitter = 0.0
        self._transit: float | None = None
        self._seen: set[int] = set()

    # A.1 ------------------------------------------------------------------------------
    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1  # so seq == bad_seq is false
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0
        self._seen = set()

    def update_seq(self, seq: int) -> bool:
        """RFC 3550 A.1 ``update_seq``: True when the packet counts as valid."""
        if not self.started:
            # A.1: "init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL"
            self._init_seq(seq)
            self.max_seq = (seq - 1) & 0xFFFF
            self.probation = self.min_sequential
            self.started = True
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self._init_seq(seq)
                    self._count(seq)
                    return True
            else:
                self.probation = self.min_sequential - 1
                self.max_seq = seq
            return False
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:  # wrapped: one more cycle
                self.cycles += RTP_SEQ_MOD
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            # a very large jump: the source may have restarted
            if seq == self.bad_seq:
                self._init_seq(seq)
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                return False
        # else: duplicate or reordered packet, counted below
        self._count(seq)
        return True

    def _count(self, seq: int) -> None:
        self.received += 1
        ext = self._extended(seq)
        if ext in self._seen:
            self.duplicates += 1
        else:
            self._seen.add(ext)
            if len(self._seen) > 4 * MAX_DROPOUT:  # forget numbers too old to come back
                floor = self.extended_max_seq - MAX_DROPOUT
                self._seen = {x for x in self._seen if x >= floor}

    def mark_repaired(self, seq: int) -> int | None:
        """Note ``seq`` as present without counting it as received: it came as a repair in
        another stream (an RFC 4588 retransmission), so the loss this source reports stays
        the loss before repair.  Returns its extended number, or ``None`` if ``seq`` was
        already here (a later copy then counts as a duplicate, as usual)."""
        ext = self._extended(seq)
        if ext in self._seen:
            return None
        self._seen.add(ext)
        return ext

    def _extended(self, seq: int) -> int:
        """The extended number of ``seq`` nearest the current maximum."""
        ext = self.cycles + seq
        top = self.extended_max_seq
        if ext > top + (RTP_SEQ_MOD >> 1):
            ext -= RTP_SEQ_MOD
        elif ext < top - (RTP_SEQ_MOD >> 1):
            ext += RTP_SEQ_MOD
        return ext

    # A.8 ------------------------------------------------------------------------------
    def update_jitter(self, rtp_timestamp: int, arrival_s: float) -> float:
        """RFC 3550 A.8: J += (|D| - J) / 16, D the change in transit time (timestamp units)."""
        transit = arrival_s * self.clock_rate_hz - rtp_timestamp
        if self._transit is not None:
            d = transit - self._transit
            # RTP timestamps wrap at 2**32: take the difference modulo 2**32, signed.
            d = (d + 2**31) % 2**32 - 2**31
            self.jitter += (abs(d) - self.jitter) / 16
        self._transit = transit
        return self.jitter

    def update(self, seq: int, rtp_timestamp: int, arrival_s: float) -> bool:
        """Account one received packet; returns whether it was valid (A.1)."""
        valid = self.update_seq(seq)
        if valid:
            self.update_jitter(rtp_timestamp, arrival_s)
        return valid

    # A.3 ------------------------------------------------------------------------------
    @property
    def extended_max_seq(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max_seq - self.base_seq + 1 if self.started and not self.probation else 0

    @property
    def lost(self) -> int:
        """Cumulative packets lost: expected - received (negative with duplicates)."""
        return self.expected - self.received

    @property
    def jitter_ms(self) -> float:
        return self.jitter * 1000 / self.clock_rate_hz

    def fraction_lost(self, *, advance: bool = True) -> int:
        """Fraction lost since the last call, 8-bit fixed point (RFC 3550 A.3).

        ``advance=False`` peeks without starting a new interval.
        """
        expected, received = self.expected, self.received
        expected_interval = expected - self.expected_prior
        received_interval = received - self.received_prior
        if advance:
            self.expected_prior, self.received_prior = expected, received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            return 0
        return (lost_interval << 8) // expected_interval

    def report_block(self, *, lsr: int = 0, dlsr: int = 0) -> ReportBlock:
        """A reception report block for this source (starts a new fraction-lost interval)."""
        lost = max(-(1 << 23), min((1 << 23) - 1, self.lost))
        return ReportBlock(ssrc=self.ssrc, fraction_lost=self.fraction_lost(), packets_lost=lost,
                           highest_seq=self.extended_max_seq & 0xFFFFFFFF,
                           jitter=min(int(self.jitter), 0xFFFFFFFF), lsr=lsr, dlsr=dlsr)

    def summary(self) -> dict:
        return {"ssrc": self.ssrc, "received": self.received, "expected": self.expected, "lost": self.lost,
                "duplicates": self.duplicates, "extended_max_seq": self.extended_max_seq,
                "jitter": self.jitter, "jitter_ms": self.jitter_ms}


# -- vectorised helpers for notebooks ------------------------------------------------------------
def interarrival_jitter(arrival_s, rtp_timestamp, clock_rate_hz: int, *, gain_inverse: int = 16) -> np.ndarray:
    """RFC 3550 A.8's jitter estimate after each packet, in timestamp units.

    ``arrival_s`` and ``rtp_timestamp`` list packets in *arrival* order.  With
    ``D(i-1, i) = (R_i - R_{i-1}) - (S_i - S_{i-1})`` (arrival and RTP timestamps, both
    in timestamp units), ``J_i = J_{i-1} + (|D(i-1, i)| - J_{i-1}) / 16``, ``J_0 = 0``.
    Divide by ``clock_rate_hz`` (× 1000) for milliseconds.  ``gain_inverse`` replaces
    the 16 (the RFC's value) to show what the gain does (chapter 05's widget).
    """
    r = np.asarray(arrival_s, dtype=float)
    s = np.asarray(rtp_timestamp, dtype=np.int64)
    if r.shape != s.shape or r.ndim != 1:
        raise ValueError(f"arrival_s and rtp_timestamp must be 1-D arrays of one length, got {r.shape} and {s.shape}")
    if not 1 <= clock_rate_hz <= 10_000_000:
        raise ValueError(f"clock_rate_hz must be in [1, 10000000], got {clock_rate_hz!r}")
    if isinstance(gain_inverse, bool) or not isinstance(gain_inverse, (int, np.integer)) or gain_inverse < 1:
        raise ValueError(f"gain_inverse must be an integer >= 1, got {gain_inverse!r}")
    transit = r * clock_rate_hz - s
    d = np.diff(transit)
    d = np.abs((d + 2**31) % 2**32 - 2**31)
    j = np.zeros(len(r))
    acc = 0.0
    for i, x in enumerate(d, start=1):  # a recurrence: a loop reads clearest
        acc += (x - acc) / gain_inverse
        j[i] = acc
    return j


def extend_sequence_numbers(seq) -> np.ndarray:
    """Unwrap 16-bit sequence numbers (in arrival order) into extended ones (A.1's idea).

    Each number is placed in the 65536-cycle that puts it nearest the previous one,
    so a wrap 65535 → 0 continues to 65536 and a late packet stays behind.
    """
    s = np.asarray(seq, dtype=np.int64)
    if s.ndim != 1 or (s.size and (s.min() < 0 or s.max() > 0xFFFF)):
        raise ValueError("seq must be a 1-D array of integers in [0, 65535]")
    if s.size == 0:
        return s
    step = np.diff(s)
    step = (step + 32768) % 65536 - 32768
    return np.concatenate(([s[0]], s[0] + np.cumsum(step)))


def rtcp_interval(members, senders, rtcp_bw_bps: float, we_sent: bool, avg_rtcp_size_bytes: float,
                  initial: bool = False, *, u=None):
    """The RTCP report interval in seconds (RFC 3550 6.3.1 and A.7 ``rtcp_interval``).

    ``rtcp_bw_bps`` is the RTCP bandwidth of the whole session (RFC 3550 recommends 5 %
    of the session bandwidth), in bit/s.  When senders are at most a quarter of the
    members, senders share 25 % of it and receivers 75 %.  The deterministic interval
    is ``max(Tmin, avg_size × n / bw)`` with ``Tmin`` 5 s (2.5 s before the first
    report, ``initial``).  Given ``u`` in [0, 1] (a uniform draw), the randomised
    interval ``T × (u + 0.5) / (e - 3/2)`` is returned instead, which spreads reports
    and compensates the timer-reconsideration bias.

    ``members``, ``senders`` and ``u`` may be numpy arrays (broadcast), so the curve
    over session size is one call.
    """
    m = np.asarray(members, dtype=float)
    s = np.asarray(senders, dtype=float)
    if np.any(m < 1) or np.any(s < 0) or np.any(s > m):
        raise ValueError("members must be >= 1 and senders in [0, members]")
    if not rtcp_bw_bps > 0:
        raise ValueError(f"rtcp_bw_bps must be > 0 bit/s, got {rtcp_bw_bps!r}")
    if not avg_rtcp_size_bytes > 0:
        raise ValueError(f"avg_rtcp_size_bytes must be > 0 bytes, got {avg_rtcp_size_bytes!r}")
    t_min = 2.5 if initial else 5.0
    bw = np.full(np.broadcast(m, s).shape, rtcp_bw_bps / 8.0)  # bytes/s
    n = np.broadcast_to(m, bw.shape).astype(float).copy()
    split = s <= 0.25 * m
    split = np.broadcast_to(split, bw.shape)
    s_b = np.broadcast_to(s, bw.shape)
    if we_sent:
        bw = np.where(split, bw * 0.25, bw)
        n = np.where(split, s_b, n)
    else:
        bw = np.where(split, bw * 0.75, bw)
        n = np.where(split, n - s_b, n)
    n = np.maximum(n, 1)  # A.7 never divides by an empty group
    t = np.maximum(avg_rtcp_size_bytes * n / bw, t_min)
    if u is not None:
        uu = np.asarray(u, dtype=float)
        if np.any((uu < 0) | (uu > 1)):
            raise ValueError("u must be in [0, 1]")
        t = t * (uu + 0.5) / (math.e - 1.5)
    return float(t) if np.ndim(t) == 0 else t
