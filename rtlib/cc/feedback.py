"""Congestion-control feedback on the wire: transport-wide feedback, REMB and PLI as RTCP bytes.

The receiver of a media stream tells the sender what happened to its packets, in
RTCP packets built and parsed with :mod:`rtlib.rtp.rtcp` (real bytes that Wireshark
decodes), carried back over a return path that has its own delay and loss:

- **send-side estimation** (draft-ietf-rmcat-gcc-02 section 3, first variant):
  :class:`TransportFeedbackReceiver` notes the transport-wide sequence number
  (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2) and arrival time of
  every packet and sends a *transport-wide congestion control feedback* message
  (same draft, section 3.1) every ``interval_s`` (50 ms; the GCC draft recommends one
  per video frame or at least every 30-100 ms).  :class:`SendHistory`, at the sender,
  maps the reported sequence numbers back to send times and sizes and yields
  :class:`~rtlib.cc.base.PacketResult` lists for the controller, plus an RTT sample.
- **receive-side estimation** (section 3, second variant): the receiver runs the
  delay-based estimator itself and sends its result in a REMB message
  (draft-alvestrand-rmcat-remb-03); see :mod:`rtlib.cc.aiortc_remb`.
- **picture loss indication** (RFC 4585 section 6.3.1): when a video frame cannot be
  decoded, the receiver asks for a keyframe.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

from rtlib.cc.base import PacketResult
from rtlib.rtp.rtcp import Pli, Remb, TransportCC

#: IPv4 + UDP header bytes around an RTCP datagram on the return path.
RTCP_OVERHEAD_BYTES = 28


class SeqUnwrapper:
    """Turns 16-bit sequence numbers into a monotonic count (RFC 3550 A.1's idea)."""

    __slots__ = ("_last",)

    def __init__(self):
        self._last: int | None = None

    def unwrap(self, seq16: int) -> int:
        if self._last is None:
            self._last = seq16
            return seq16
        diff = (seq16 - self._last) & 0xFFFF
        if diff >= 0x8000:
            diff -= 0x10000
        value = self._last + diff
        if diff > 0:
            self._last = value
        return value


class TransportFeedbackReceiver:
    """Receiver half of transport-wide feedback: arrivals in, TransportCC bytes out.

    ``on_packet(transport_seq16, arrival_s)`` for every media packet received;
    ``build(now_s)`` returns the RTCP bytes covering every sequence number from the
    first not yet reported to the highest received (gaps reported as not received),
    or ``None`` if nothing arrived since the last call.  A report too long in time for
    a 16-bit receive delta is cut and the rest sent in the next one.
    """

    def __init__(self, ssrc: int = 1, media_ssrc: int = 0):
        self.ssrc, self.media_ssrc = ssrc, media_ssrc
        self._unwrap = SeqUnwrapper()
        self._arrivals: dict[int, float] = {}
        self._next: int | None = None  # first unwrapped seq not yet reported
        self._high = -1
        self._fb_count = 0

    def on_packet(self, transport_seq16: int, arrival_s: float) -> None:
        seq = self._unwrap.unwrap(transport_seq16)
        if self._next is None:
            self._next = seq
        if seq < self._next:
            return  # too late: already reported as lost
        self._arrivals[seq] = arrival_s
        if seq > self._high:
            self._high = seq

    def build(self, now_s: float | None = None) -> bytes | None:
        if self._next is None or self._high < self._next or not self._arrivals:
            return None
        start, arrivals = self._next, self._arrivals
        times = [arrivals.pop(s, None) for s in range(start, self._high + 1)]
        self._next = self._high + 1
        fb = TransportCC.from_arrivals(self.ssrc, self.media_ssrc, start & 0xFFFF, times,
                                       fb_pkt_count=self._fb_count & 0xFF)
        self._fb_count += 1
        return bytes(fb)


class SendHistory:
    """Sender half: remembers what was sent and turns feedback into PacketResults.

    It also counts the bytes *in flight*: sent and not yet covered by feedback
    (:meth:`outstanding_bytes`), the quantity a congestion window bounds.  A packet
    whose feedback never comes (the report was lost on the return path) stops
    counting after ``in_flight_timeout_s``, so a lost report cannot stall the sender.
    """

    def __init__(self, keep: int = 8192, in_flight_timeout_s: float = 1.0):
        if not 0.05 <= in_flight_timeout_s <= 60:
            raise ValueError(f"in_flight_timeout_s must be in [0.05, 60] s, got {in_flight_timeout_s!r}")
        self._sent: dict[int, tuple[int, float, int]] = {}  # seq16 -> (unwrapped, send_s, size)
        self._seq = 0
        self.last_seq = -1  # unwrapped number of the last packet registered
        self._keep = keep
        self.in_flight_timeout_s = in_flight_timeout_s
        self._flight: dict[int, tuple[float, int]] = {}  # unwrapped seq -> (send_s, size), in send order
        self._flight_bytes = 0

    def next_seq(self, send_s: float, size_bytes: int) -> int:
        """Register a packet being sent now; returns its 16-bit transport-wide sequence number."""
        seq = self._seq
        self.last_seq = seq
        self._seq += 1
        seq16 = seq & 0xFFFF
        self._sent[seq16] = (seq, send_s, size_bytes)
        self._flight[seq] = (send_s, size_bytes)
        self._flight_bytes += size_bytes
        old = (seq - self._keep) & 0xFFFF
        if seq >= self._keep:
            self._sent.pop(old, None)
        return seq16

    def outstanding_bytes(self, now_s: float) -> int:
        """Bytes sent and not yet reported (received or lost), younger than the timeout."""
        flight, oldest = self._flight, now_s - self.in_flight_timeout_s
        while flight:
            seq = next(iter(flight))
            send_s, size = flight[seq]
            if send_s >= oldest:
                break
            del flight[seq]
            self._flight_bytes -= size
        return self._flight_bytes

    def results(self, fb: TransportCC, now_s: float) -> tuple[list[PacketResult], float | None]:
        """PacketResults for one feedback message and an RTT sample (seconds, or None)."""
        out = []
        sent = self._sent
        last_send = None
        for seq16, arrival in zip(fb.sequence_numbers(), fb.arrival_times_s()):
            rec = sent.pop(seq16, None)
            if rec is None:
                continue  # older than the history (or reported twice)
            seq, send_s, size = rec
            if self._flight.pop(seq, None) is not None:
                self._flight_bytes -= size
            out.append(PacketResult(seq, send_s, size, arrival))
            if arrival is not None:
                last_send = send_s
        return out, (now_s - last_send if last_send is not None else None)


def remb_bytes(ssrc: int, bitrate_bps: float, ssrcs: list[int]) -> bytes:
    """A REMB message (draft-alvestrand-rmcat-remb-03) as RTCP bytes."""
    return bytes(Remb(ssrc, int(bitrate_bps), list(ssrcs)))


def pli_bytes(ssrc: int, media_ssrc: int) -> bytes:
    """A picture loss indication (RFC 4585 6.3.1) as RTCP bytes."""
    return bytes(Pli(ssrc, media_ssrc))


__all__ = ["RTCP_OVERHEAD_BYTES", "SendHistory", "SeqUnwrapper", "TransportFeedbackReceiver", "pli_bytes",
           "remb_bytes"]
