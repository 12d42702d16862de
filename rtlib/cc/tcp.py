"""A simple Reno-like TCP sender, to compete with media flows (RFC 8867 section 5.6).

Enough of TCP to push a bottleneck the way a long download does: a congestion window
(in segments) that grows by one segment per ACK in slow start and by one segment per
RTT in congestion avoidance (RFC 5681 section 3.1); a loss, detected when three later
segments have been acknowledged (the "three duplicate ACKs" of fast retransmit,
RFC 5681 section 3.2, expressed with per-segment ACKs as SACK would give them),
halves the window once per round trip; a retransmission timeout (RFC 6298: at least
1 s) drops the window to one segment.  Lost data is not retransmitted: only the
congestion behaviour matters here, not reliability.

It is sans-IO: ``send(now_s)`` says which segment to send, ``on_ack(seq, now_s)``
digests an ACK, ``timeout_due()`` says when the retransmission timer would fire.

Used in: notebooks/08_adaptive_bitrate.ipynb (media against TCP).
"""

from __future__ import annotations

import math


class RenoSender:
    """Reno-like congestion control with per-segment ACKs (see the module docstring)."""

    def __init__(self, segment_bytes: int = 1500, initial_cwnd: float = 10.0, max_cwnd: float = 10_000.0,
                 min_rto_s: float = 1.0):
        if not 100 <= segment_bytes <= 65535:
            raise ValueError(f"segment_bytes must be in [100, 65535], got {segment_bytes!r}")
        if not 1 <= initial_cwnd <= max_cwnd:
            raise ValueError(f"need 1 <= initial_cwnd <= max_cwnd, got {initial_cwnd!r}, {max_cwnd!r}")
        self.segment_bytes = int(segment_bytes)
        self.cwnd = float(initial_cwnd)     # RFC 6928's initial window of 10 segments
        self.ssthresh = math.inf
        self.max_cwnd = float(max_cwnd)
        self.min_rto_s = min_rto_s
        self._outstanding: dict[int, float] = {}  # seq -> send time, in send order
        self._next_seq = 0
        self._recover_seq = -1                    # no new halving until this is acked
        self.srtt_s: float | None = None
        self.rttvar_s = 0.0
        self._last_progress_s = 0.0
        self.losses = 0
        self.timeouts = 0

    @property
    def inflight(self) -> int:
        return len(self._outstanding)

    @property
    def rto_s(self) -> float:
        if self.srtt_s is None:
            return max(self.min_rto_s, 1.0)
        return max(self.min_rto_s, self.srtt_s + 4 * self.rttvar_s)

    def can_send(self) -> bool:
        return len(self._outstanding) < int(self.cwnd)

    def send(self, now_s: float) -> int:
        """Register a new segment sent now; returns its sequence number."""
        seq = self._next_seq
        self._next_seq += 1
        if not self._outstanding:
            self._last_progress_s = now_s
        self._outstanding[seq] = now_s
        return seq

    def on_ack(self, seq: int, now_s: float) -> None:
        sent = self._outstanding.pop(seq, None)
        if sent is None:
            return  # already declared lost
        self._last_progress_s = now_s
        rtt = now_s - sent
        if self.srtt_s is None:  # RFC 6298 section 2
            self.srtt_s, self.rttvar_s = rtt, rtt / 2
        else:
            self.rttvar_s = 0.75 * self.rttvar_s + 0.25 * abs(self.srtt_s - rtt)
            self.srtt_s = 0.875 * self.srtt_s + 0.125 * rtt
        # segments sent before seq - 2 that are still outstanding: lost (dupthresh 3)
        lost = False
        out = self._outstanding
        while out:
            first = next(iter(out))
            if first > seq - 3:
                break
            del out[first]
            self.losses += 1
            lost = True
        if lost and seq > self._recover_seq:
            self.ssthresh = max(self.cwnd / 2, 2.0)
            self.cwnd = self.ssthresh
            self._recover_seq = self._next_seq - 1
        elif self.cwnd < self.ssthresh:
            self.cwnd = min(self.cwnd + 1, self.max_cwnd)
        else:
            self.cwnd = min(self.cwnd + 1 / self.cwnd, self.max_cwnd)

    def timeout_due(self) -> float | None:
        """When the retransmission timer fires if no ACK comes (None when nothing is outstanding)."""
        if not self._outstanding:
            return None
        return self._last_progress_s + self.rto_s

    def on_timeout(self, now_s: float) -> None:
        """The timer fired: everything outstanding is lost, restart from one segment."""
        self.losses += len(self._outstanding)
        self._outstanding.clear()
        self.timeouts += 1
        self.ssthresh = max(self.cwnd / 2, 2.0)
        self.cwnd = 1.0
        self._recover_seq = self._next_seq - 1
        self._last_progress_s = now_s
