"""Sans-IO RTP endpoints: :class:`RtpSender` and :class:`RtpReceiver`.

Plain objects fed with bytes and the current time (seconds), returning bytes to send
and their next deadline; no sockets, no sleeps, no wall clock.  The same objects run
under :class:`rtlib.sim.EventLoop` (deterministic, fast) and under real asyncio UDP.

- The sender cuts frames into packets (RFC 3550 5.1; audio: one frame per packet,
  marker on the first packet of a talkspurt, RFC 3551 4.1; video: packets of at most
  ``mtu_bytes``, marker on the last packet of a frame), stamps the header extensions
  (abs-send-time, transport-wide sequence number, audio level), keeps a history for
  retransmission, emits SR + SDES on its RTCP timer (RFC 3550 6.4.1) and answers
  generic NACKs (RFC 4585 6.2.1) by resending from the history.
- The receiver validates and counts packets per source (RFC 3550 A.1/A.3/A.8,
  :class:`~rtlib.rtp.stats.SourceStats`), reassembles frames, NACKs gaps and emits
  RR + SDES with LSR/DLSR so the sender can compute the round-trip time.

By default a retransmission resends the original packet (same SSRC and sequence
number), so the receiver's statistics see it as a very late packet.  With
``RtpSender(rtx_ssrc=...)`` and ``RtpReceiver(rtx_payload_types=..., rtx_ssrcs=...)``
it travels as RFC 4588 RTX instead (:mod:`rtlib.rtp.rtx`): its own stream, counted
apart, so the original stream's reports keep describing the network.

Used in: notebooks/05_rtp_rtcp.ipynb (frames → packets → frames, RTT from SR/RR),
``python -m rtlib call``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

from rtlib.rtp.errors import ParseError
from rtlib.rtp.extensions import DEFAULT_EXTENSION_MAP, ExtensionMap
from rtlib.rtp.packet import RtpPacket, is_rtcp
from rtlib.rtp.rtx import unwrap_rtx, wrap_rtx
from rtlib.rtp.rtcp import (
    CNAME,
    Fir,
    GenericNack,
    Pli,
    ReceiverReport,
    Remb,
    SdesChunk,
    Sdes,
    SenderReport,
    TransportCC,
    build_rtcp,
    parse_rtcp,
)
from rtlib.rtp.stats import (
    DEFAULT_EPOCH_S,
    SourceStats,
    ntp_from_unix_s,
    ntp_short,
    round_trip_time_s,
)


def _check_u32(name, v, bits=32):
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < (1 << bits):
        raise ValueError(f"{name} must be an integer in [0, {(1 << bits) - 1}], got {v!r}")
    return v


def _check_time(name, t):
    if not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
        raise ValueError(f"{name} must be a finite time >= 0 s, got {t!r}")
    return float(t)


@dataclass
class Frame:
    """A media frame as the receiver reassembled it."""

    ssrc: int
    timestamp: int
    payload: bytes
    first_seq: int
    last_seq: int
    packets: int
    marker: bool
    arrival_s: float  # when the packet that completed it arrived


class RtpSender:
    """Sends one RTP stream (sans-IO).

    Parameters: ``ssrc``, ``payload_type`` (e.g. 0 = PCMU, RFC 3551), ``clock_rate_hz``
    (8000 for PCMU, 90000 for video), ``kind`` ("audio" or "video"), ``mtu_bytes``
    (largest RTP packet), initial ``seq`` and ``timestamp_offset`` (RFC 3550 says random;
    here explicit, so runs are reproducible), ``ext_map`` (which header extensions),
    ``history_size`` (packets kept for NACK), ``rtcp_interval_s`` (first SR after half of
    it, RFC 3550 6.3's initial halving) and ``epoch_s`` (Unix time of virtual time 0,
    for NTP timestamps).  ``rtx_ssrc`` (default ``None``: resend the original bytes)
    answers NACKs with RFC 4588 retransmissions in stream ``rtx_ssrc`` with payload type
    ``rtx_payload_type``, numbered from ``rtx_seq``.
    """

    def __init__(self, ssrc: int, payload_type: int, clock_rate_hz: int, *, kind: str = "audio",
                 mtu_bytes: int = 1200, seq: int = 0, timestamp_offset: int = 0, cname: str = "sender@rtlib",
                 ext_map: ExtensionMap | None = DEFAULT_EXTENSION_MAP, transport_seq: int = 0,
                 history_size: int = 512, rtcp_interval_s: float = 5.0, epoch_s: float = DEFAULT_EPOCH_S,
                 rtx_ssrc: int | None = None, rtx_payload_type: int = 97, rtx_seq: int = 0):
        self.ssrc = _check_u32("ssrc", ssrc)
        self.payload_type = _check_u32("payload_type", payload_type, 7)
        self.rtx_ssrc = None if rtx_ssrc is None else _check_u32("rtx_ssrc", rtx_ssrc)
        self.rtx_payload_type = _check_u32("rtx_payload_type", rtx_payload_type, 7)
        self.rtx_seq = _check_u32("rtx_seq", rtx_seq, 16)
        if self.rtx_ssrc is not None and (self.rtx_ssrc == self.ssrc or self.rtx_payload_type == self.payload_type):
            raise ValueError("rtx_ssrc and rtx_payload_type must differ from the media stream's ssrc and payload_type "
                             "(RFC 4588 section 5)")
        if isinstance(clock_rate_hz, bool) or not isinstance(clock_rate_hz, int) or not 1 <= clock_rate_hz <= 10_000_000:
            raise ValueError(f"clock_rate_hz must be an integer in [1, 10000000], got {clock_rate_hz!r}")
        if kind not in ("audio", "video"):
            raise ValueError(f"kind must be 'audio' or 'video', got {kind!r}")
        if not isinstance(mtu_bytes, int) or not 64 <= mtu_bytes <= 65_000:
            raise ValueError(f"mtu_bytes must be an integer in [64, 65000], got {mtu_bytes!r}")
        if not isinstance(history_size, int) or not 0 <= history_size <= 65_536:
            raise ValueError(f"history_size must be an integer in [0, 65536], got {history_size!r}")
        if not 0.01 <= rtcp_interval_s <= 3600:
            raise ValueError(f"rtcp_interval_s must be in [0.01, 3600] s, got {rtcp_interval_s!r}")
        self.clock_rate_hz = clock_rate_hz
        self.kind = kind
        self.mtu_bytes = mtu_bytes
        self.seq = _check_u32("seq", seq, 16)
        self.timestamp_offset = _check_u32("timestamp_offset", timestamp_offset)
        self.transport_seq = _check_u32("transport_seq", transport_seq, 16)
        self.cname = cname
        self.ext_map = ext_map
        self.history_size = history_size
        self.rtcp_interval_s = float(rtcp_interval_s)
        self.epoch_s = float(epoch_s)
        self.history: OrderedDict[int, bytes] = OrderedDict()
        self.packet_count = 0
        self.octet_count = 0
        self.retransmitted = 0
        self.frames_sent = 0
        self.rtt_samples: list[tuple[float, float]] = []  # (time, rtt) pairs
        self.report_blocks: list[tuple[float, object]] = []  # (time, ReportBlock) about our stream
        self.keyframe_requests = 0
        self.remb_bps: int | None = None
        self.transport_feedback: list[TransportCC] = []
        self._next_rtcp_s: float | None = None
        self._started = False
        self._header_cache: dict = {}

    # -- media ----------------------------------------------------------------------------
    def rtp_timestamp(self, t_s: float) -> int:
        """The media clock at time ``t_s`` (RFC 3550 5.1: sampling instant, offset, mod 2**32)."""
        return (self.timestamp_offset + round(t_s * self.clock_rate_hz)) & 0xFFFFFFFF

    def send_frame(self, payload: bytes, t_s: float, *, capture_s: float | None = None, marker: bool | None = None,
                   audio_level_dbov: int | None = None, voice: bool = False) -> list[bytes]:
        """Packetize one encoded frame sent at ``t_s``; returns the RTP datagrams.

        ``capture_s`` (default ``t_s``) sets the RTP timestamp.  Audio: the frame must fit
        one packet; ``marker`` defaults to True for the very first frame (the start of a
        talkspurt).  Video: the frame is split into packets of at most ``mtu_bytes`` and
        the marker is set on the last one.
        """
        t_s = _check_time("t_s", t_s)
        capture = t_s if capture_s is None else _check_time("capture_s", capture_s)
        ts = self.rtp_timestamp(capture)
        payload = bytes(payload)
        room = self.mtu_bytes - self._header_bytes(audio_level_dbov is not None)
        if self.kind == "audio":
            if len(payload) > room:
                raise ValueError(f"an audio frame must fit one packet: {len(payload)} bytes > {room}")
            pieces = [payload]
            marks = [self.frames_sent == 0 if marker is None else bool(marker)]
        else:
            pieces = [payload[i:i + room] for i in range(0, len(payload), room)] or [b""]
            marks = [False] * (len(pieces) - 1) + [True if marker is None else bool(marker)]
        out = []
        for piece, m in zip(pieces, marks):
            ext = {}
            if self.ext_map is not None:
                ext = self.ext_map.encode(abs_send_time_s=t_s, transport_seq=self.transport_seq,
                                          audio_level_dbov=audio_level_dbov if self.kind == "audio" else None,
                                          voice=voice)
                self.transport_seq = (self.transport_seq + 1) & 0xFFFF
            data = bytes(RtpPacket(self.payload_type, self.seq, ts, self.ssrc, piece, marker=m, extensions=ext))
            if self.history_size:
                self.history[self.seq] = data
                if len(self.history) > self.history_size:
                    self.history.popitem(last=False)
            self.seq = (self.seq + 1) & 0xFFFF
            self.packet_count += 1
            self.octet_count += len(piece)
            out.append(data)
        self.frames_sent += 1
        if not self._started:
            self._started = True
            self._next_rtcp_s = t_s + self.rtcp_interval_s / 2
        return out

    def _header_bytes(self, with_level: bool) -> int:
        """Bytes of RTP header (fixed + extension block) each packet of this sender carries."""
        if self.ext_map is None:
            return 12
        key = (self.ext_map, with_level and self.kind == "audio")
        if key not in self._header_cache:
            ext = self.ext_map.encode(abs_send_time_s=0.0, transport_seq=0, audio_level_dbov=0 if key[1] else None)
            self._header_cache[key] = RtpPacket(extensions=ext).header_size
        return self._header_cache[key]

    # -- RTCP -------------------------------------------------------------------------------
    def ntp_at(self, now_s: float) -> int:
        return ntp_from_unix_s(self.epoch_s + now_s)

    def make_sender_report(self, now_s: float) -> bytes:
        """SR + SDES(CNAME) compound at ``now_s`` (RFC 3550 6.4.1, 6.1)."""
        now_s = _check_time("now_s", now_s)
        sr = SenderReport(self.ssrc, self.ntp_at(now_s), self.rtp_timestamp(now_s), self.packet_count & 0xFFFFFFFF,
                          self.octet_count & 0xFFFFFFFF)
        return build_rtcp([sr, Sdes([SdesChunk(self.ssrc, [(CNAME, self.cname.encode())])])])

    def next_deadline_s(self) -> float | None:
        """When :meth:`on_timer` next has something to do (the next SR), or None."""
        return self._next_rtcp_s

    def on_timer(self, now_s: float) -> list[bytes]:
        """Emit an SR compound when it is due; returns datagrams to send."""
        if self._next_rtcp_s is None or now_s < self._next_rtcp_s:
            return []
        self._next_rtcp_s = now_s + self.rtcp_interval_s
        return [self.make_sender_report(now_s)]

    def receive_rtcp(self, data: bytes, now_s: float) -> list[bytes]:
        """Handle an RTCP compound from the receiver; returns datagrams to send (retransmissions).

        Report blocks about our SSRC give the RTT (``rtt_samples``); generic NACKs are
        answered from the history; PLI/FIR count as keyframe requests; REMB and
        transport-cc feedback are stored for a rate controller.  Malformed input raises
        :class:`~rtlib.rtp.errors.ParseError`.
        """
        now_s = _check_time("now_s", now_s)
        out: list[bytes] = []
        for p in parse_rtcp(data):
            if isinstance(p, (ReceiverReport, SenderReport)):
                for rb in p.reports:
                    if rb.ssrc != self.ssrc:
                        continue
                    self.report_blocks.append((now_s, rb))
                    rtt = round_trip_time_s(ntp_short(self.ntp_at(now_s)), rb.lsr, rb.dlsr)
                    if rtt is not None:
                        self.rtt_samples.append((now_s, rtt))
            elif isinstance(p, GenericNack) and p.media_ssrc == self.ssrc:
                for s in p.lost:
                    data_s = self.history.get(s)
                    if data_s is not None:
                        out.append(data_s if self.rtx_ssrc is None else self._rtx_bytes(data_s))
                        self.retransmitted += 1
            elif isinstance(p, (Pli, Fir)):
                self.keyframe_requests += 1
            elif isinstance(p, Remb):
                self.remb_bps = p.bitrate_bps
            elif isinstance(p, TransportCC):
                self.transport_feedback.append(p)
        return out

    def _rtx_bytes(self, original: bytes) -> bytes:
        rtx = wrap_rtx(RtpPacket.parse(original), ssrc=self.rtx_ssrc, payload_type=self.rtx_payload_type,
                       sequence_number=self.rtx_seq)
        self.rtx_seq = (self.rtx_seq + 1) & 0xFFFF
        return bytes(rtx)

    @property
    def rtt_s(self) -> float | None:
        """The latest round-trip time measured from a report block, or None."""
        return self.rtt_samples[-1][1] if self.rtt_samples else None


class RtpReceiver:
    """Receives RTP streams (sans-IO): statistics, frames, NACK and RR.

    ``receive(data, now_s)`` takes RTP or RTCP (told apart as in RFC 5761) and returns
    completed :class:`Frame` objects; ``datagrams_to_send()`` hands out NACKs and RRs;
    ``on_timer(now_s)`` at ``next_deadline_s()`` emits the periodic RR and NACK retries.

    ``min_sequential`` is RFC 3550 A.1's probation (default 1: count every packet from
    the first, like Wireshark); ``nack`` enables generic NACKs for gaps of at most
    ``max_nack_gap`` packets, retried every ``nack_retry_s`` up to ``nack_retries`` times.

    RFC 4588 retransmissions are recognised by payload type, ``rtx_payload_types`` =
    ``{rtx payload type: associated payload type}`` (SDP's ``a=fmtp:97 apt=96``), and
    belong to the media stream ``rtx_ssrcs[rtx ssrc]``.  They fill the gap they repair
    (frames, NACK retries stop) but leave that stream's statistics alone: its loss and
    jitter stay those of the network, before repair (the distinction RFC 7509 names).
    ``rtx_received``, ``rtx_repaired`` and ``rtx_duplicates`` count them; an RTX
    packet from an unknown stream counts in ``rtx_unknown`` and is dropped.
    """

    def __init__(self, ssrc: int, clock_rate_hz: int, *, kind: str = "audio", nack: bool = True,
                 cname: str = "receiver@rtlib", min_sequential: int = 1, rtcp_interval_s: float = 5.0,
                 nack_retry_s: float = 0.1, nack_retries: int = 3, max_nack_gap: int = 100,
                 epoch_s: float = DEFAULT_EPOCH_S, rtx_payload_types: dict[int, int] | None = None,
                 rtx_ssrcs: dict[int, int] | None = None):
        self.ssrc = _check_u32("ssrc", ssrc)
        self.rtx_payload_types = {_check_u32("rtx payload type", k, 7): _check_u32("associated payload type", v, 7)
                                  for k, v in (rtx_payload_types or {}).items()}
        self.rtx_ssrcs = {_check_u32("rtx ssrc", k): _check_u32("media ssrc", v) for k, v in (rtx_ssrcs or {}).items()}
        self.rtx_received = self.rtx_repaired = self.rtx_duplicates = self.rtx_unknown = 0
        if isinstance(clock_rate_hz, bool) or not isinstance(clock_rate_hz, int) or not 1 <= clock_rate_hz <= 10_000_000:
            raise ValueError(f"clock_rate_hz must be an integer in [1, 10000000], got {clock_rate_hz!r}")
        if kind not in ("audio", "video"):
            raise ValueError(f"kind must be 'audio' or 'video', got {kind!r}")
        if not 0.01 <= rtcp_interval_s <= 3600:
            raise ValueError(f"rtcp_interval_s must be in [0.01, 3600] s, got {rtcp_interval_s!r}")
        if not 0.001 <= nack_retry_s <= 10:
            raise ValueError(f"nack_retry_s must be in [0.001, 10] s, got {nack_retry_s!r}")
        if not isinstance(nack_retries, int) or not 1 <= nack_retries <= 100:
            raise ValueError(f"nack_retries must be an integer in [1, 100], got {nack_retries!r}")
        if not isinstance(max_nack_gap, int) or not 1 <= max_nack_gap <= 1000:
            raise ValueError(f"max_nack_gap must be an integer in [1, 1000], got {max_nack_gap!r}")
        self.clock_rate_hz = clock_rate_hz
        self.kind = kind
        self.nack = nack
        self.cname = cname
        self.min_sequential = min_sequential
        self.rtcp_interval_s = float(rtcp_interval_s)
        self.nack_retry_s = float(nack_retry_s)
        self.nack_retries = nack_retries
        self.max_nack_gap = max_nack_gap
        self.epoch_s = float(epoch_s)
        self.sources: dict[int, SourceStats] = {}
        self.invalid = 0  # datagrams that failed to parse
        self.nacks_sent = 0
        self.sr_received: dict[int, tuple[int, float]] = {}  # ssrc -> (LSR, arrival time)
        self._outbox: list[bytes] = []
        self._missing: dict[int, dict[int, list]] = {}  # ssrc -> ext seq -> [next_retry_s, tries]
        self._pkt_ts: dict[int, dict[int, int]] = {}  # ssrc -> ext seq -> timestamp (video)
        self._pending: dict[int, dict[int, RtpPacket]] = {}  # ssrc -> ext seq -> packet (video)
        self._first_ext: dict[int, int] = {}
        self._emitted: dict[int, set[int]] = {}
        self._next_rtcp_s: float | None = None

    # -- input ------------------------------------------------------------------------------
    def receive(self, data: bytes, now_s: float) -> list[Frame]:
        """Take one datagram (RTP or RTCP) arriving at ``now_s``; return completed frames.

        A malformed datagram is counted in ``invalid`` and dropped (a receiver must not
        crash on garbage from the network).
        """
        now_s = _check_time("now_s", now_s)
        if self._next_rtcp_s is None:
            self._next_rtcp_s = now_s + self.rtcp_interval_s / 2
        try:
            if is_rtcp(data):
                self._on_rtcp(parse_rtcp(data), now_s)
                return []
            pkt = RtpPacket.parse(data)
        except ParseError:
            self.invalid += 1
            return []
        return self._on_rtp(pkt, now_s)

    def _on_rtcp(self, packets, now_s: float) -> None:
        for p in packets:
            if isinstance(p, SenderReport):
                self.sr_received[p.ssrc] = (p.lsr, now_s)

    def _on_rtx(self, pkt: RtpPacket, now_s: float) -> list[Frame]:
        media_ssrc = self.rtx_ssrcs.get(pkt.ssrc)
        src = self.sources.get(media_ssrc) if media_ssrc is not None else None
        if src is None or not src.started:
            self.rtx_unknown += 1
            return []
        try:
            orig = unwrap_rtx(pkt, ssrc=media_ssrc, payload_type=self.rtx_payload_types[pkt.payload_type])
        except ParseError:
            self.invalid += 1
            return []
        self.rtx_received += 1
        ext = src.mark_repaired(orig.sequence_number)
        if ext is None:  # the original, or an earlier retransmission, is already here
            self.rtx_duplicates += 1
            return []
        self._missing.get(media_ssrc, {}).pop(ext, None)
        self.rtx_repaired += 1
        if self.kind == "audio":
            return [Frame(media_ssrc, orig.timestamp, orig.payload, orig.sequence_number, orig.sequence_number, 1,
                          orig.marker, now_s)]
        return self._assemble(orig, ext, now_s)

    def _on_rtp(self, pkt: RtpPacket, now_s: float) -> list[Frame]:
        if pkt.payload_type in self.rtx_payload_types:
            return self._on_rtx(pkt, now_s)
        src = self.sources.get(pkt.ssrc)
        if src is None:
            src = self.sources[pkt.ssrc] = SourceStats(pkt.ssrc, self.clock_rate_hz, min_sequential=self.min_sequential)
        before_max = src.extended_max_seq if src.started and not src.probation else None
        dup_before = src.duplicates
        if not src.update(pkt.sequence_number, pkt.timestamp, now_s):
            return []
        ext = src._extended(pkt.sequence_number)
        # the lowest number seen starts the stream (a reordered early packet may come second)
        self._first_ext[pkt.ssrc] = min(self._first_ext.get(pkt.ssrc, ext), ext)
        missing = self._missing.setdefault(pkt.ssrc, {})
        missing.pop(ext, None)
        if self.nack and before_max is not None and ext > before_max + 1:
            gap = range(before_max + 1, ext)
            if len(gap) <= self.max_nack_gap:
                for e in gap:
                    missing[e] = [now_s + self.nack_retry_s, 1]
                self._send_nack(pkt.ssrc, [e & 0xFFFF for e in gap])
        if src.duplicates != dup_before:
            return []
        if self.kind == "audio":
            return [Frame(pkt.ssrc, pkt.timestamp, pkt.payload, pkt.sequence_number, pkt.sequence_number, 1,
                          pkt.marker, now_s)]
        return self._assemble(pkt, ext, now_s)

    def _assemble(self, pkt: RtpPacket, ext: int, now_s: float) -> list[Frame]:
        ssrc = pkt.ssrc
        pts = self._pkt_ts.setdefault(ssrc, {})
        pend = self._pending.setdefault(ssrc, {})
        emitted = self._emitted.setdefault(ssrc, set())
        pts[ext] = pkt.timestamp
        pend[ext] = pkt
        frames = []
        for probe in (ext, ext + 1):
            f = self._try_frame(ssrc, probe, now_s)
            if f is not None:
                frames.append(f)
        if len(pts) > 4096:  # forget old packets
            floor = max(pts) - 2048
            for d in (pts, pend):
                for k in [k for k in d if k < floor]:
                    del d[k]
            emitted.difference_update({k for k in emitted if k < floor})
        return frames

    def _try_frame(self, ssrc: int, ext: int, now_s: float) -> Frame | None:
        pend, pts, emitted = self._pending[ssrc], self._pkt_ts[ssrc], self._emitted[ssrc]
        if ext not in pend:
            return None
        ts = pend[ext].timestamp
        end = ext
        while not pend[end].marker:  # forward to the marker packet
            nxt = end + 1
            if nxt not in pend or pend[nxt].timestamp != ts:
                return None
            end = nxt
        first = ext
        while first - 1 in pend and pend[first - 1].timestamp == ts:
            first -= 1
        before = first - 1
        starts = (first == self._first_ext[ssrc] or (before in pts and pts[before] != ts)
                  or (before in emitted and pts.get(before) != ts))
        if not starts:
            return None
        parts = [pend.pop(e) for e in range(first, end + 1)]
        emitted.update(range(first, end + 1))
        return Frame(ssrc, ts, b"".join(p.payload for p in parts), parts[0].sequence_number,
                     parts[-1].sequence_number, len(parts), True, now_s)

    def _send_nack(self, media_ssrc: int, lost: list[int]) -> None:
        self._outbox.append(build_rtcp([GenericNack(self.ssrc, media_ssrc, lost)]))
        self.nacks_sent += 1

    # -- output -----------------------------------------------------------------------------
    def datagrams_to_send(self) -> list[bytes]:
        """RTCP datagrams (NACKs, RRs) produced since the last call."""
        out, self._outbox = self._outbox, []
        return out

    def next_deadline_s(self) -> float | None:
        """The next RR or NACK retry time, or None before the first packet."""
        times = [self._next_rtcp_s] if self._next_rtcp_s is not None else []
        for missing in self._missing.values():
            times.extend(v[0] for v in missing.values())
        return min(times) if times else None

    def on_timer(self, now_s: float) -> list[bytes]:
        """Emit what is due at ``now_s`` (NACK retries, the periodic RR); also returns it."""
        now_s = _check_time("now_s", now_s)
        for ssrc, missing in self._missing.items():
            due = sorted(e for e, (t, _) in missing.items() if t <= now_s)
            again = []
            for e in due:
                entry = missing[e]
                if entry[1] >= self.nack_retries:
                    del missing[e]  # give up: the packet is lost for good
                    continue
                entry[0] = now_s + self.nack_retry_s
                entry[1] += 1
                again.append(e & 0xFFFF)
            if again:
                self._send_nack(ssrc, again)
        if self._next_rtcp_s is not None and now_s >= self._next_rtcp_s:
            self._next_rtcp_s = now_s + self.rtcp_interval_s
            self._outbox.append(self.make_receiver_report(now_s))
        return self.datagrams_to_send()

    def make_receiver_report(self, now_s: float) -> bytes:
        """RR + SDES(CNAME) with one report block per source (RFC 3550 6.4.2, A.3)."""
        blocks = []
        for ssrc, src in self.sources.items():
            if not src.started or src.probation:
                continue
            lsr, dlsr = 0, 0
            if ssrc in self.sr_received:
                lsr, t_sr = self.sr_received[ssrc]
                dlsr = min(int(round((now_s - t_sr) * 65536)), 0xFFFFFFFF)
            blocks.append(src.report_block(lsr=lsr, dlsr=dlsr))
        return build_rtcp([ReceiverReport(self.ssrc, blocks[:31]),
                           Sdes([SdesChunk(self.ssrc, [(CNAME, self.cname.encode())])])])
