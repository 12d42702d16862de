"""Why media rides UDP: a reliable in-order stream vs datagrams over the same lossy path.

A reliable, in-order transport (TCP, or a single QUIC stream) never loses a byte:
it retransmits what the path dropped.  But it also hands data to the application
*in order*, so one lost packet holds back every packet behind it until its
retransmission arrives, at least one round trip later: **head-of-line blocking**.
Datagrams (UDP, which RTP rides) hand each packet over as soon as it arrives and
simply miss the lost ones; a real-time receiver conceals a miss (chapter 07) far
more gracefully than it can absorb a delay spike.

The model here is deliberately small: the first transmission of every packet goes
through :func:`rtlib.net.simulate_path`; a loss is detected by three duplicate
acknowledgements (fast retransmit, RFC 5681 section 3.2) when enough later packets
arrive, or else by the retransmission timeout (RTO, RFC 6298: SRTT + 4·RTTVAR, at
least ``rto_min_ms``, doubling after each timeout as in section 5.5); the
retransmission crosses the same kind of path again and may be lost again.  Not
modelled: the congestion window (a real TCP would also slow down after each loss,
which only makes the stream look worse) and losses of the acks themselves.

Used in: notebooks/04_network.ipynb.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from rtlib.net.path import simulate_path


def in_order_delivery(first_arrival_s) -> np.ndarray:
    """When each packet can be handed to the application by an in-order transport.

    Packet i is delivered once it *and every packet before it* have arrived:
    ``delivery[i] = max(first_arrival[0..i])``.  A packet that never arrives
    (``nan``) blocks everything behind it for ever (``inf``).
    """
    a = np.asarray(first_arrival_s, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"first_arrival_s must be a 1-D array of times in seconds, got shape {a.shape}")
    return np.maximum.accumulate(np.where(np.isnan(a), np.inf, a)) if a.size else a.copy()


@dataclass
class StreamComparison:
    """The same packets over the same path, as datagrams and as a reliable in-order stream."""

    send_s: np.ndarray
    datagram_arrival_s: np.ndarray  # nan = lost (first transmission only)
    first_arrival_s: np.ndarray  # reliable stream: first copy that got through (nan if it never did)
    delivery_s: np.ndarray  # reliable stream: handed to the application, in order
    transmissions: np.ndarray  # copies sent per packet
    rto_s: float

    @property
    def datagram_delay_s(self) -> np.ndarray:
        return self.datagram_arrival_s - self.send_s

    @property
    def stream_delay_s(self) -> np.ndarray:
        return self.delivery_s - self.send_s

    def late_or_lost(self, deadline_ms: float) -> dict:
        """Share of packets that miss a playout deadline (lost, or later than ``deadline_ms``)."""
        d = deadline_ms / 1000.0
        dg = self.datagram_delay_s
        return {
            "datagrams": float(np.mean(~(dg <= d))),  # nan (lost) counts as missed
            "stream": float(np.mean(~(self.stream_delay_s <= d))),
        }


def compare_stream_and_datagrams(send_s, size_bytes, *, delay_ms: float = 50.0, jitter_ms: float = 0.0,
                                 jitter_dist: str = "normal", loss: float = 0.0, burst_len: float = 1.0,
                                 ack_delay_ms: float | None = None, dupthresh: int = 3,
                                 rto_min_ms: float = 200.0, max_rounds: int = 30, seed: int = 0) -> StreamComparison:
    """Send the same packets as datagrams and as a reliable in-order stream (see the module docstring).

    ``delay_ms``/``jitter_ms``/``loss``/``burst_len`` describe the forward path (as in
    :func:`simulate_path`); acks come back after ``ack_delay_ms`` (default: ``delay_ms``).
    The datagrams are exactly the stream's first transmissions, so both see the same losses.
    """
    if isinstance(dupthresh, bool) or not isinstance(dupthresh, numbers.Integral) or not 1 <= dupthresh <= 100:
        raise ValueError(f"dupthresh must be an integer in [1, 100], got {dupthresh!r}")
    if not isinstance(rto_min_ms, numbers.Real) or not 1 <= rto_min_ms <= 60_000:
        raise ValueError(f"rto_min_ms must be in [1, 60000] ms, got {rto_min_ms!r}")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, numbers.Integral) or not 1 <= max_rounds <= 100:
        raise ValueError(f"max_rounds must be an integer in [1, 100], got {max_rounds!r}")
    ack_delay_ms = delay_ms if ack_delay_ms is None else ack_delay_ms
    if not isinstance(ack_delay_ms, numbers.Real) or not 0 <= ack_delay_ms < math.inf:
        raise ValueError(f"ack_delay_ms must be a finite number >= 0 ms, got {ack_delay_ms!r}")
    kw = dict(delay_ms=delay_ms, jitter_ms=jitter_ms, jitter_dist=jitter_dist, loss=loss, burst_len=burst_len,
              reorder=False)
    first = simulate_path(send_s, size_bytes, seed=seed, **kw)
    send, size = first.send_s, first.size_bytes
    n = send.size
    arrival = first.arrival_s.copy()
    tx = np.ones(n, dtype=np.int64)
    # RFC 6298 section 2: RTO = SRTT + 4 RTTVAR, with the path's mean RTT and its jitter as the variation
    srtt_s = (delay_ms + ack_delay_ms + jitter_ms) / 1000.0
    rto_s = max(rto_min_ms / 1000.0, srtt_s + 4 * jitter_ms / 1000.0)
    back_s = ack_delay_ms / 1000.0

    lost = np.flatnonzero(np.isnan(arrival))
    if lost.size:
        # fast retransmit: the dupthresh-th later packet to arrive triggers the third duplicate ack
        got = np.flatnonzero(~np.isnan(arrival))
        k = np.searchsorted(got, lost, side="right") + dupthresh - 1
        t_fast = np.full(lost.size, np.inf)
        ok = k < got.size
        t_fast[ok] = arrival[got[k[ok]]] + back_s
        resend = np.minimum(t_fast, send[lost] + rto_s)
        backoff = np.full(lost.size, rto_s)
        for r in range(1, max_rounds):
            order = np.argsort(resend, kind="stable")
            idx, t = lost[order], resend[order]
            res = simulate_path(t, size[idx], seed=seed, stream=f"retransmission-{r}", **kw)
            tx[idx] += 1
            got_now = ~res.lost
            arrival[idx[got_now]] = res.arrival_s[got_now]
            # still lost: only the timer notices now, and it backs off (RFC 6298 section 5.5)
            lost, resend, backoff = idx[~got_now], t[~got_now] + backoff[order][~got_now], \
                2 * backoff[order][~got_now]
            if lost.size == 0:
                break
    return StreamComparison(send_s=send, datagram_arrival_s=first.arrival_s, first_arrival_s=arrival,
                            delivery_s=in_order_delivery(arrival), transmissions=tx, rto_s=rto_s)
