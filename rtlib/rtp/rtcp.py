"""RTCP on the wire: reports, descriptions and feedback, in compound packets.

Every RTCP packet starts with the same 4-byte header (RFC 3550 6.4.1)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|  count  |  packet type  |   length (32-bit words - 1)   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

and several are stacked in one UDP datagram, a *compound* packet (RFC 3550 6.1).
The packet types built and parsed here:

=====================  ====  ===  =============================================
class                  PT    FMT  specification
=====================  ====  ===  =============================================
:class:`SenderReport`  200         RFC 3550 6.4.1 (SR)
:class:`ReceiverReport` 201        RFC 3550 6.4.2 (RR)
:class:`Sdes`          202         RFC 3550 6.5 (CNAME and other items)
:class:`Bye`           203         RFC 3550 6.6
:class:`App`           204         RFC 3550 6.7
:class:`GenericNack`   205   1    RFC 4585 6.2.1 (RTPFB generic NACK)
:class:`TransportCC`   205   15   draft-holmer-rmcat-transport-wide-cc-extensions-01 3.1
:class:`Pli`           206   1    RFC 4585 6.3.1 (PSFB picture loss indication)
:class:`Fir`           206   4    RFC 5104 4.3.1 (full intra request)
:class:`Remb`          206   15   draft-alvestrand-rmcat-remb-03 (REMB)
=====================  ====  ===  =============================================

Other feedback formats parse into :class:`Feedback`, other packet types in 192-223
into :class:`RawRtcp`, so nothing valid is lost and every class round-trips:
``parse_rtcp(build_rtcp(packets)) == packets``.  (:class:`GenericNack` keeps its
``lost`` list in a canonical form, de-duplicated and in wrap-aware order, on
construction, which is what makes it round-trip for any list given.)  Malformed input raises
:class:`~rtlib.rtp.errors.ParseError` and nothing else.

Used in: notebooks/05_rtp_rtcp.ipynb (RTT from SR/RR), :mod:`rtlib.rtp.session`
(SR/RR generation, NACK), and chapter 08 (transport-cc feedback for rate control).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import ClassVar, Sequence

from rtlib.rtp.errors import ParseError

SR, RR, SDES, BYE, APP, RTPFB, PSFB = 200, 201, 202, 203, 204, 205, 206
FMT_NACK, FMT_TCC = 1, 15
FMT_PLI, FMT_FIR, FMT_AFB = 1, 4, 15

# SDES item types (RFC 3550 6.5)
CNAME, NAME, EMAIL, PHONE, LOC, TOOL, NOTE, PRIV = range(1, 9)

TCC_DELTA_S = 250e-6  # receive deltas count 250 microseconds
TCC_REFERENCE_S = 0.064  # reference time counts 64 milliseconds

_BBH = struct.Struct("!BBH")
_I = struct.Struct("!I")
_II = struct.Struct("!II")
_RB = struct.Struct("!IIIIII")
_SI = struct.Struct("!IQIII")


def _uint(name: str, value, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must be an integer in [0, {(1 << bits) - 1}], got {value!r}")
    return value


def _header(packet_type: int, count: int, payload: bytes) -> bytes:
    if len(payload) % 4:
        raise ValueError(f"RTCP payload must be a multiple of 4 bytes, got {len(payload)}")
    words = len(payload) // 4
    if words > 0xFFFF:
        raise ValueError(f"RTCP packet too long: {len(payload)} bytes > {4 * 0xFFFF}")
    _uint("count", count, 5)
    return _BBH.pack(0x80 | count, packet_type, words) + payload


def _words(b: bytes, what: str) -> bytes:
    """``b`` as bytes, which RFC 3550/4585 require to be whole 32-bit words."""
    if len(b) % 4:
        raise ParseError(f"RTCP {what} must be a multiple of 4 bytes, got {len(b)}")
    return bytes(b)


def _pad4(b: bytes) -> bytes:
    return b + b"\x00" * (-len(b) % 4)


class RtcpPacket:
    """Base class: ``bytes(packet)`` serialises one RTCP packet (header included).

    Every subclass has a ``packet_type`` (200-223), a class constant or, for
    :class:`Feedback` and :class:`RawRtcp`, a field.
    """

    def __bytes__(self) -> bytes:  # pragma: no cover - every subclass overrides
        raise NotImplementedError


# -- reports ----------------------------------------------------------------------------
@dataclass
class ReportBlock:
    """One reception report block (RFC 3550 6.4.1), 24 bytes.

    ``fraction_lost`` is the fraction lost since the previous report as an 8-bit fixed
    point number (lost/expected × 256); ``packets_lost`` the cumulative number lost
    (24-bit signed, negative with duplicates); ``highest_seq`` the extended highest
    sequence number (cycles × 65536 + seq); ``jitter`` in timestamp units; ``lsr`` the
    middle 32 bits of the last SR's NTP timestamp and ``dlsr`` the delay since that SR
    in 1/65536 s (RFC 3550 6.4.1), from which the sender computes the RTT.
    """

    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0
    highest_seq: int = 0
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    SIZE: ClassVar[int] = 24

    def __bytes__(self) -> bytes:
        _uint("ssrc", self.ssrc, 32)
        _uint("fraction_lost", self.fraction_lost, 8)
        lost = self.packets_lost
        if isinstance(lost, bool) or not isinstance(lost, int) or not -(1 << 23) <= lost < (1 << 23):
            raise ValueError(f"packets_lost must be an integer in [-8388608, 8388607], got {lost!r}")
        for name in ("highest_seq", "jitter", "lsr", "dlsr"):
            _uint(name, getattr(self, name), 32)
        return _RB.pack(self.ssrc, (self.fraction_lost << 24) | (lost & 0xFFFFFF), self.highest_seq,
                        self.jitter, self.lsr, self.dlsr)

    @classmethod
    def parse(cls, data: bytes, pos: int = 0) -> "ReportBlock":
        if pos + 24 > len(data):
            raise ParseError("RTCP report block is truncated")
        ssrc, fl, hs, jitter, lsr, dlsr = _RB.unpack_from(data, pos)
        lost = fl & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, fl >> 24, lost, hs, jitter, lsr, dlsr)


def _parse_blocks(body: bytes, pos: int, count: int, what: str) -> tuple[list[ReportBlock], int]:
    if pos + 24 * count > len(body):
        raise ParseError(f"RTCP {what} announces {count} report blocks but holds {max(0, len(body) - pos) // 24}")
    return [ReportBlock.parse(body, pos + 24 * i) for i in range(count)], pos + 24 * count


@dataclass
class SenderReport(RtcpPacket):
    """SR (RFC 3550 6.4.1): the sender's clocks and counters, plus reception reports.

    ``ntp_timestamp`` is 64-bit NTP (seconds since 1900 in 32.32 fixed point) and
    ``rtp_timestamp`` the same instant on the media clock, which lets a receiver
    synchronise streams; ``packet_count`` and ``octet_count`` (payload octets) count
    what was sent since the start.
    """

    ssrc: int
    ntp_timestamp: int = 0
    rtp_timestamp: int = 0
    packet_count: int = 0
    octet_count: int = 0
    reports: list[ReportBlock] = field(default_factory=list)
    profile_extension: bytes = b""

    packet_type: ClassVar[int] = SR

    def __bytes__(self) -> bytes:
        _uint("ssrc", self.ssrc, 32)
        _uint("ntp_timestamp", self.ntp_timestamp, 64)
        for name in ("rtp_timestamp", "packet_count", "octet_count"):
            _uint(name, getattr(self, name), 32)
        if len(self.reports) > 31:
            raise ValueError(f"an SR carries at most 31 report blocks, got {len(self.reports)}")
        body = _SI.pack(self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count)
        return _header(SR, len(self.reports), body + b"".join(bytes(r) for r in self.reports)
                       + bytes(self.profile_extension))

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "SenderReport":
        if len(body) < 24:
            raise ParseError(f"RTCP SR is {len(body)} bytes, shorter than its 24-byte sender info")
        ssrc, ntp, rtp_ts, pc, oc = _SI.unpack_from(body)
        reports, pos = _parse_blocks(body, 24, count, "SR")
        return cls(ssrc, ntp, rtp_ts, pc, oc, reports, _words(body[pos:], "SR profile-specific extension"))

    @property
    def lsr(self) -> int:
        """The middle 32 bits of the NTP timestamp: what a receiver echoes as LSR."""
        return (self.ntp_timestamp >> 16) & 0xFFFFFFFF


@dataclass
class ReceiverReport(RtcpPacket):
    """RR (RFC 3550 6.4.2): reception reports from a participant that is not sending."""

    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)
    profile_extension: bytes = b""

    packet_type: ClassVar[int] = RR

    def __bytes__(self) -> bytes:
        _uint("ssrc", self.ssrc, 32)
        if len(self.reports) > 31:
            raise ValueError(f"an RR carries at most 31 report blocks, got {len(self.reports)}")
        return _header(RR, len(self.reports), _I.pack(self.ssrc) + b"".join(bytes(r) for r in self.reports)
                       + bytes(self.profile_extension))

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "ReceiverReport":
        if len(body) < 4:
            raise ParseError(f"RTCP RR is {len(body)} bytes, shorter than its SSRC")
        reports, pos = _parse_blocks(body, 4, count, "RR")
        return cls(_I.unpack_from(body)[0], reports, _words(body[pos:], "RR profile-specific extension"))


# -- source description, goodbye, application ----------------------------------------------
@dataclass
class SdesChunk:
    """One SDES chunk: an SSRC and its items ``[(type, value bytes)]`` (type 1 = CNAME)."""

    ssrc: int
    items: list[tuple[int, bytes]] = field(default_factory=list)

    @property
    def cname(self) -> str | None:
        for t, v in self.items:
            if t == CNAME:
                return v.decode("utf-8", "replace")
        return None


@dataclass
class Sdes(RtcpPacket):
    """SDES (RFC 3550 6.5): source descriptions, at least the CNAME of each source.

    Each chunk is 32-bit aligned: SSRC, items (type, length, text), then one null
    octet ending the list and nulls up to the next 32-bit boundary.
    """

    chunks: list[SdesChunk] = field(default_factory=list)

    packet_type: ClassVar[int] = SDES

    def __bytes__(self) -> bytes:
        if len(self.chunks) > 31:
            raise ValueError(f"an SDES packet carries at most 31 chunks, got {len(self.chunks)}")
        out = []
        for chunk in self.chunks:
            parts = [_I.pack(_uint("ssrc", chunk.ssrc, 32))]
            for t, v in chunk.items:
                _uint("SDES item type", t, 8)
                if t == 0:
                    raise ValueError("SDES item type must be in [1, 255] (0 ends the list)")
                v = bytes(v)
                if len(v) > 255:
                    raise ValueError(f"SDES item value must be at most 255 bytes, got {len(v)}")
                parts.append(bytes((t, len(v))) + v)
            c = b"".join(parts) + b"\x00"
            out.append(_pad4(c))
        return _header(SDES, len(self.chunks), b"".join(out))

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "Sdes":
        chunks, pos, n = [], 0, len(body)
        for _ in range(count):
            if pos + 4 > n:
                raise ParseError("RTCP SDES chunk is truncated (no SSRC)")
            ssrc = _I.unpack_from(body, pos)[0]
            pos += 4
            items = []
            while True:
                if pos >= n:
                    raise ParseError("RTCP SDES chunk has no terminating null item")
                t = body[pos]
                if t == 0:
                    pos += 1
                    pos += -pos % 4
                    break
                if pos + 2 > n:
                    raise ParseError("RTCP SDES item is truncated")
                stop = pos + 2 + body[pos + 1]
                if stop > n:
                    raise ParseError("RTCP SDES item runs past the packet")
                items.append((t, bytes(body[pos + 2 : stop])))
                pos = stop
            chunks.append(SdesChunk(ssrc, items))
        if any(body[pos:]):
            raise ParseError(f"RTCP SDES has {n - pos} unexpected bytes after its {count} chunks")
        return cls(chunks)


@dataclass
class Bye(RtcpPacket):
    """BYE (RFC 3550 6.6): these sources are leaving, with an optional reason."""

    sources: list[int] = field(default_factory=list)
    reason: str = ""

    packet_type: ClassVar[int] = BYE

    def __bytes__(self) -> bytes:
        if len(self.sources) > 31:
            raise ValueError(f"a BYE carries at most 31 sources, got {len(self.sources)}")
        body = b"".join(_I.pack(_uint("source", s, 32)) for s in self.sources)
        if self.reason:
            r = self.reason.encode("utf-8")
            if len(r) > 255:
                raise ValueError(f"reason must be at most 255 bytes in UTF-8, got {len(r)}")
            body += _pad4(bytes((len(r),)) + r)
        return _header(BYE, len(self.sources), body)

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "Bye":
        if 4 * count > len(body):
            raise ParseError(f"RTCP BYE announces {count} sources but holds {len(body) // 4}")
        sources = list(struct.unpack_from(f"!{count}I", body)) if count else []
        pos = 4 * count
        reason = ""
        if pos < len(body) and body[pos]:
            stop = pos + 1 + body[pos]
            if stop > len(body):
                raise ParseError("RTCP BYE reason runs past the packet")
            try:
                reason = bytes(body[pos + 1 : stop]).decode("utf-8")
            except UnicodeDecodeError:
                raise ParseError("RTCP BYE reason is not UTF-8") from None
        return cls(sources, reason)


@dataclass
class App(RtcpPacket):
    """APP (RFC 3550 6.7): application-defined data under a 4-character name."""

    ssrc: int
    name: str = "TEST"
    subtype: int = 0
    data: bytes = b""

    packet_type: ClassVar[int] = APP

    def __bytes__(self) -> bytes:
        name = self.name.encode("ascii") if self.name.isascii() else b""
        if len(name) != 4:
            raise ValueError(f"name must be 4 ASCII characters, got {self.name!r}")
        if len(self.data) % 4:
            raise ValueError(f"data must be a multiple of 4 bytes, got {len(self.data)}")
        return _header(APP, _uint("subtype", self.subtype, 5), _I.pack(_uint("ssrc", self.ssrc, 32)) + name
                       + bytes(self.data))

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "App":
        if len(body) < 8:
            raise ParseError(f"RTCP APP is {len(body)} bytes, shorter than SSRC + name")
        name = bytes(body[4:8])
        if not name.isascii():
            raise ParseError(f"RTCP APP name must be ASCII, got {name!r}")
        return cls(_I.unpack_from(body)[0], name.decode("ascii"), count, _words(body[8:], "APP data"))


# -- feedback (RFC 4585 6.1: PT 205/206, FMT in the count field) ---------------------------
@dataclass
class Feedback(RtcpPacket):
    """A feedback message (RFC 4585 6.1) of a format this module does not name."""

    packet_type: int
    fmt: int
    ssrc: int
    media_ssrc: int = 0
    fci: bytes = b""

    def __bytes__(self) -> bytes:
        if self.packet_type not in (RTPFB, PSFB):
            raise ValueError(f"packet_type must be 205 (RTPFB) or 206 (PSFB), got {self.packet_type!r}")
        fci = bytes(self.fci)
        return _fb(self.packet_type, self.fmt, self.ssrc, self.media_ssrc, fci)


def _fb(packet_type: int, fmt: int, ssrc: int, media_ssrc: int, fci: bytes = b"") -> bytes:
    """A feedback message: the common header, both SSRCs, then the FCI (RFC 4585 6.1)."""
    return _header(packet_type, fmt, _II.pack(_uint("ssrc", ssrc, 32), _uint("media_ssrc", media_ssrc, 32)) + fci)


def _fb_head(body: bytes, what: str) -> tuple[int, int]:
    if len(body) < 8:
        raise ParseError(f"RTCP {what} is {len(body)} bytes, shorter than its two SSRCs")
    return _II.unpack_from(body)


def _canonical_seqs(seqs) -> list[int]:
    """16-bit sequence numbers de-duplicated and sorted in wrap-aware order.

    The numbers are placed on the 16-bit circle and read in increasing order,
    starting after the largest gap between neighbours (ties: plain numeric order),
    so ``[1, 65535, 0, 1]`` becomes ``[65535, 0, 1]``: the order a receiver would
    have noticed the losses in, whenever the losses span less than half the circle.
    """
    values = sorted({_uint("lost sequence number", s, 16) for s in seqs})
    if len(values) < 2:
        return values
    gaps = [values[0] + 0x10000 - values[-1]] + [b - a for a, b in zip(values, values[1:])]
    start = max(range(len(gaps)), key=lambda i: (gaps[i], -i))  # the first largest gap
    return values[start:] + values[:start]


@dataclass
class GenericNack(RtcpPacket):
    """Generic NACK (RFC 4585 6.2.1): "I miss these sequence numbers".

    Each 4-byte FCI entry holds a packet id (PID) and a 16-bit bitmask (BLP) of the
    16 packets after it; ``lost`` lists the sequence numbers.  ``lost`` is kept in a
    canonical form, on construction and on parsing: each number once, in wrap-aware
    order (``[65534, 65535, 0, 1]``; see :func:`_canonical_seqs`).  A NACK is a set of
    missing packets, so this loses nothing, and it makes every GenericNack round-trip:
    ``parse(bytes(nack)) == nack`` for any list given.  Bytes from another encoder
    (overlapping or unordered FCIs, which RFC 4585 does not forbid) parse to the same
    canonical list, so re-encoding them may give fewer, different FCI entries for the
    same set of sequence numbers.
    """

    ssrc: int
    media_ssrc: int
    lost: list[int] = field(default_factory=list)

    packet_type: ClassVar[int] = RTPFB
    fmt: ClassVar[int] = FMT_NACK

    def __post_init__(self) -> None:
        if isinstance(self.lost, (str, bytes)) or not hasattr(self.lost, "__iter__"):
            raise ValueError(f"lost must be a list of 16-bit sequence numbers, got {self.lost!r}")
        self.lost = _canonical_seqs(self.lost)

    def __bytes__(self) -> bytes:
        lost = _canonical_seqs(self.lost)  # again: the list may have been changed in place
        if not lost:
            raise ValueError("lost must list at least one sequence number (RFC 4585 6.2.1)")
        fci = []
        pid = blp = None
        for s in lost:
            if pid is not None:
                d = (s - pid - 1) & 0xFFFF
                if d < 16:
                    blp |= 1 << d
                    continue
                fci.append(struct.pack("!HH", pid, blp))
            pid, blp = s, 0
        fci.append(struct.pack("!HH", pid, blp))
        return _fb(RTPFB, FMT_NACK, self.ssrc, self.media_ssrc, b"".join(fci))

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "GenericNack":
        ssrc, media = _fb_head(body, "generic NACK")
        fci = body[8:]
        if not fci or len(fci) % 4:
            raise ParseError(f"RTCP generic NACK needs one or more 4-byte FCI entries, got {len(fci)} bytes")
        lost = []
        for pos in range(0, len(fci), 4):
            pid, blp = struct.unpack_from("!HH", fci, pos)
            lost.append(pid)
            for d in range(16):
                if blp >> d & 1:
                    lost.append((pid + d + 1) & 0xFFFF)
        return cls(ssrc, media, lost)


@dataclass
class Pli(RtcpPacket):
    """Picture Loss Indication (RFC 4585 6.3.1): "send me a decodable picture"."""

    ssrc: int
    media_ssrc: int

    packet_type: ClassVar[int] = PSFB
    fmt: ClassVar[int] = FMT_PLI

    def __bytes__(self) -> bytes:
        return _fb(PSFB, FMT_PLI, self.ssrc, self.media_ssrc)

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "Pli":
        ssrc, media = _fb_head(body, "PLI")
        if len(body) != 8:
            raise ParseError(f"RTCP PLI must carry no FCI (RFC 4585 6.3.1), got {len(body) - 8} bytes")
        return cls(ssrc, media)


@dataclass
class Fir(RtcpPacket):
    """Full Intra Request (RFC 5104 4.3.1): ``entries`` of (media SSRC, command seq nr).

    The common "SSRC of media source" is unused and SHALL be 0 (RFC 5104 4.3.1.2).
    """

    ssrc: int
    entries: list[tuple[int, int]] = field(default_factory=list)
    media_ssrc: int = 0

    packet_type: ClassVar[int] = PSFB
    fmt: ClassVar[int] = FMT_FIR

    def __bytes__(self) -> bytes:
        if not self.entries:
            raise ValueError("entries must hold at least one (ssrc, seq_nr) pair")
        fci = b"".join(struct.pack("!IB3x", _uint("entry ssrc", s, 32), _uint("entry seq_nr", n, 8))
                       for s, n in self.entries)
        return _fb(PSFB, FMT_FIR, self.ssrc, self.media_ssrc, fci)

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "Fir":
        ssrc, media = _fb_head(body, "FIR")
        fci = body[8:]
        if not fci or len(fci) % 8:
            raise ParseError(f"RTCP FIR needs one or more 8-byte FCI entries, got {len(fci)} bytes")
        entries = [struct.unpack_from("!IB", fci, p) for p in range(0, len(fci), 8)]
        return cls(ssrc, [(s, n) for s, n in entries], media)


@dataclass
class Remb(RtcpPacket):
    """Receiver Estimated Maximum Bitrate (draft-alvestrand-rmcat-remb-03).

    A PSFB application-layer message (FMT 15) whose FCI starts with "REMB": the
    number of SSRCs, the bitrate as an 18-bit mantissa and 6-bit exponent, then the
    SSRCs it applies to.  Bitrates above 2**18 - 1 lose their low bits on the wire;
    :meth:`representable` gives the value that survives.
    """

    ssrc: int
    bitrate_bps: int
    ssrcs: list[int] = field(default_factory=list)
    media_ssrc: int = 0

    packet_type: ClassVar[int] = PSFB
    fmt: ClassVar[int] = FMT_AFB

    @staticmethod
    def _mantissa_exponent(bitrate_bps: int) -> tuple[int, int]:
        """The 18-bit mantissa and 6-bit exponent on the wire (low bits dropped)."""
        m, e = int(bitrate_bps), 0
        while m > 0x3FFFF:
            m >>= 1
            e += 1
        return m, e

    @staticmethod
    def representable(bitrate_bps: int) -> int:
        """The bitrate after the mantissa/exponent encoding (rounded down)."""
        m, e = Remb._mantissa_exponent(bitrate_bps)
        return m << e

    def __bytes__(self) -> bytes:
        br = self.bitrate_bps
        if isinstance(br, bool) or not isinstance(br, int) or not 0 <= br <= 0x3FFFF << 63:
            raise ValueError(f"bitrate_bps must be a non-negative integer below 2**81, got {br!r}")
        if len(self.ssrcs) > 255:
            raise ValueError(f"a REMB lists at most 255 SSRCs, got {len(self.ssrcs)}")
        m, e = self._mantissa_exponent(br)
        fci = b"REMB" + struct.pack("!BBH", len(self.ssrcs), (e << 2) | (m >> 16), m & 0xFFFF)
        fci += b"".join(_I.pack(_uint("ssrc in ssrcs", s, 32)) for s in self.ssrcs)
        return _fb(PSFB, FMT_AFB, self.ssrc, self.media_ssrc, fci)

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "Remb":
        ssrc, media = _fb_head(body, "REMB")
        fci = body[8:]
        if len(fci) < 8:
            raise ParseError("RTCP REMB FCI is truncated")
        num = fci[4]
        exp = fci[5] >> 2
        mant = ((fci[5] & 3) << 16) | (fci[6] << 8) | fci[7]
        if 8 + 4 * num > len(fci):
            raise ParseError(f"RTCP REMB announces {num} SSRCs but holds {(len(fci) - 8) // 4}")
        ssrcs = list(struct.unpack_from(f"!{num}I", fci, 8)) if num else []
        return cls(ssrc, mant << exp, ssrcs, media)


@dataclass
class TransportCC(RtcpPacket):
    """Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01, 3.1).

    For the ``len(recv_deltas)`` packets with transport-wide sequence numbers
    ``base_seq``, ``base_seq + 1``, ... (mod 2**16): ``None`` when not received, else
    the arrival time minus the previous received packet's arrival (the first: minus
    ``reference_time`` × 64 ms), in 250 µs ticks.  On the wire the statuses travel as
    2-byte *packet chunks*, run-length (one symbol repeated up to 8191 times) or
    status vectors (14 one-bit or 7 two-bit symbols), followed by the deltas: 1 byte
    unsigned for 0-63.75 ms ("small"), 2 bytes signed otherwise ("large").

    :meth:`from_arrivals` builds one from arrival times in seconds and
    :meth:`arrival_times_s` recovers them (to 250 µs).  Chapter 08's delay-based rate
    controller reads them.
    """

    ssrc: int
    media_ssrc: int
    base_seq: int
    reference_time: int
    fb_pkt_count: int
    recv_deltas: list[int | None] = field(default_factory=list)

    packet_type: ClassVar[int] = RTPFB
    fmt: ClassVar[int] = FMT_TCC

    # -- symbols: 0 not received, 1 small delta, 2 large (or negative) delta --------------
    @staticmethod
    def _symbol(d: int | None) -> int:
        if d is None:
            return 0
        return 1 if 0 <= d <= 255 else 2

    @staticmethod
    def encode_chunks(symbols: Sequence[int]) -> list[int]:
        """Packet chunks (16-bit ints) for a list of status symbols.

        Greedy: a run of 7 or more equal symbols (14 when all are 0/1) becomes a
        run-length chunk; otherwise a one-bit vector of 14 when the next 14 symbols
        are all 0/1, else a two-bit vector of 7.  Vectors at the end are padded with
        "not received", which the parser ignores beyond the status count.
        """
        chunks, i, n = [], 0, len(symbols)
        while i < n:
            s = symbols[i]
            run = 1
            while i + run < n and symbols[i + run] == s and run < 0x1FFF:
                run += 1
            window = symbols[i : i + 14]
            one_bit_ok = all(x <= 1 for x in window)
            if run >= (14 if one_bit_ok else 7):
                chunks.append((s << 13) | run)
                i += run
            elif one_bit_ok:
                v = 0
                for k in range(14):
                    v = (v << 1) | (window[k] if k < len(window) else 0)
                chunks.append(0x8000 | v)
                i += 14
            else:
                window = symbols[i : i + 7]
                v = 0
                for k in range(7):
                    v = (v << 2) | (window[k] if k < len(window) else 0)
                chunks.append(0xC000 | v)
                i += 7
        return chunks

    def __bytes__(self) -> bytes:
        _uint("ssrc", self.ssrc, 32)
        _uint("media_ssrc", self.media_ssrc, 32)
        _uint("base_seq", self.base_seq, 16)
        _uint("fb_pkt_count", self.fb_pkt_count, 8)
        ref = self.reference_time
        if isinstance(ref, bool) or not isinstance(ref, int) or not -(1 << 23) <= ref < (1 << 23):
            raise ValueError(f"reference_time must be an integer in [-8388608, 8388607] (64 ms units), got {ref!r}")
        n = len(self.recv_deltas)
        if not 1 <= n <= 0xFFFF:
            raise ValueError(f"recv_deltas must cover 1 to 65535 packets, got {n}")
        symbols, deltas = [], []
        for d in self.recv_deltas:
            if d is not None and (isinstance(d, bool) or not isinstance(d, int) or not -32768 <= d <= 32767):
                raise ValueError(f"recv_deltas must be None or integers in [-32768, 32767] (250 µs ticks), got {d!r}")
            s = self._symbol(d)
            symbols.append(s)
            if s == 1:
                deltas.append(bytes((d,)))
            elif s == 2:
                deltas.append(struct.pack("!h", d))
        chunks = self.encode_chunks(symbols)
        fci = (struct.pack("!HHI", self.base_seq, n, ((ref & 0xFFFFFF) << 8) | self.fb_pkt_count)
               + struct.pack(f"!{len(chunks)}H", *chunks) + b"".join(deltas))
        return _header(RTPFB, FMT_TCC, _II.pack(self.ssrc, self.media_ssrc) + _pad4(fci))

    @classmethod
    def _parse(cls, count: int, body: bytes) -> "TransportCC":
        ssrc, media = _fb_head(body, "transport-cc feedback")
        n_body = len(body)
        if n_body < 16:
            raise ParseError("RTCP transport-cc feedback is truncated (no base seq / status count / reference time)")
        base_seq, status_count, ref_fb = struct.unpack_from("!HHI", body, 8)
        if status_count == 0:
            raise ParseError("RTCP transport-cc feedback reports no packets (status count 0)")
        ref = ref_fb >> 8
        if ref & 0x800000:
            ref -= 1 << 24
        symbols: list[int] = []
        pos = 16
        while len(symbols) < status_count:
            if pos + 2 > n_body:
                raise ParseError("RTCP transport-cc packet chunks are truncated")
            c = (body[pos] << 8) | body[pos + 1]
            pos += 2
            left = status_count - len(symbols)
            if c & 0x8000 == 0:
                s = (c >> 13) & 3
                if s == 3:
                    raise ParseError("RTCP transport-cc run-length chunk uses the reserved symbol 3")
                symbols.extend([s] * min(c & 0x1FFF, left))
            elif c & 0x4000 == 0:
                symbols.extend([(c >> (13 - k)) & 1 for k in range(min(14, left))])
            else:
                vec = [(c >> (12 - 2 * k)) & 3 for k in range(min(7, left))]
                if 3 in vec:
                    raise ParseError("RTCP transport-cc status vector uses the reserved symbol 3")
                symbols.extend(vec)
        deltas: list[int | None] = []
        for s in symbols:
            if s == 0:
                deltas.append(None)
            elif s == 1:
                if pos >= n_body:
                    raise ParseError("RTCP transport-cc receive deltas are truncated")
                deltas.append(body[pos])
                pos += 1
            else:
                if pos + 2 > n_body:
                    raise ParseError("RTCP transport-cc receive deltas are truncated")
                deltas.append(struct.unpack_from("!h", body, pos)[0])
                pos += 2
        return cls(ssrc, media, base_seq, ref, ref_fb & 0xFF, deltas)

    # -- time conversions -------------------------------------------------------------------
    @classmethod
    def from_arrivals(cls, ssrc: int, media_ssrc: int, base_seq: int, arrival_s: Sequence[float | None],
                      fb_pkt_count: int = 0) -> "TransportCC":
        """Feedback for packets ``base_seq, base_seq + 1, ...`` that arrived at ``arrival_s``.

        ``None`` (or NaN) marks a packet not received; at least one must be received.
        The reference time is the first arrival rounded down to 64 ms; each delta is
        rounded to 250 µs against the *reconstructed* previous time, so rounding
        errors do not accumulate (as libwebrtc does).
        """
        times = [None if t is None or (isinstance(t, float) and math.isnan(t)) else float(t) for t in arrival_s]
        got = [t for t in times if t is not None]
        if not got:
            raise ValueError("arrival_s must hold at least one received packet (not None/NaN)")
        ref = math.floor(got[0] / TCC_REFERENCE_S)
        last_us = ref * 64_000
        deltas: list[int | None] = []
        for t in times:
            if t is None:
                deltas.append(None)
                continue
            ticks = round((t * 1e6 - last_us) / 250)
            if not -32768 <= ticks <= 32767:
                raise ValueError(f"arrival gap of {(t * 1e6 - last_us) / 1e3:.1f} ms does not fit a receive delta "
                                 "(±8.19 s); split the feedback")
            deltas.append(ticks)
            last_us += ticks * 250
        wrapped = ((ref + (1 << 23)) % (1 << 24)) - (1 << 23)
        return cls(ssrc, media_ssrc, base_seq, wrapped, fb_pkt_count, deltas)

    def arrival_times_s(self) -> list[float | None]:
        """Arrival time (seconds, on the feedback sender's clock) per packet, ``None`` if lost."""
        t_us = self.reference_time * 64_000
        out: list[float | None] = []
        for d in self.recv_deltas:
            if d is None:
                out.append(None)
            else:
                t_us += d * 250
                out.append(t_us / 1e6)
        return out

    def sequence_numbers(self) -> list[int]:
        """The transport-wide sequence numbers covered, in order (wrapping at 2**16)."""
        return [(self.base_seq + i) & 0xFFFF for i in range(len(self.recv_deltas))]


@dataclass
class RawRtcp(RtcpPacket):
    """An RTCP packet of a type this module does not parse (e.g. XR, 207): kept verbatim."""

    packet_type: int
    count: int
    payload: bytes = b""

    def __bytes__(self) -> bytes:
        if not 192 <= self.packet_type <= 223:
            raise ValueError(f"packet_type must be in [192, 223], got {self.packet_type!r}")
        payload = bytes(self.payload)
        pad = -len(payload) % 4
        if pad == 0:
            return _header(self.packet_type, self.count, payload)
        # a body that is not whole words (it was padded): pad it again, P bit set (RFC 3550 6.4.1)
        out = bytearray(_header(self.packet_type, self.count, payload + b"\x00" * (pad - 1) + bytes((pad,))))
        out[0] |= 0x20
        return bytes(out)


# -- compound packets -------------------------------------------------------------------------
_SIMPLE = {SR: SenderReport, RR: ReceiverReport, SDES: Sdes, BYE: Bye, APP: App}
_RTPFB = {FMT_NACK: GenericNack, FMT_TCC: TransportCC}
_PSFB = {FMT_PLI: Pli, FMT_FIR: Fir}


def _dispatch(pt: int, count: int, body: bytes) -> RtcpPacket:
    cls = _SIMPLE.get(pt)
    if cls is not None:
        return cls._parse(count, body)
    if pt == RTPFB or pt == PSFB:
        if pt == RTPFB:
            cls = _RTPFB.get(count)
        elif count == FMT_AFB and body[8:12] == b"REMB":
            cls = Remb
        else:
            cls = _PSFB.get(count)
        if cls is not None:
            return cls._parse(count, body)
        ssrc, media = _fb_head(body, "feedback message")
        return Feedback(pt, count, ssrc, media, _words(body[8:], "feedback control information"))
    return RawRtcp(pt, count, bytes(body))


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Parse a compound RTCP datagram into its packets (RFC 3550 6.1, A.2).

    Checks each packet's version and length, and padding (the P bit: the last byte
    counts padding bytes, at least 1, within the packet).  It does not insist that a
    compound starts with SR/RR: RFC 5506 (reduced-size RTCP) allows lone feedback.
    Raises :class:`ParseError` on malformed input.
    """
    n = len(data)
    if n == 0:
        raise ParseError("RTCP datagram is empty")
    out: list[RtcpPacket] = []
    pos = 0
    while pos < n:
        if pos + 4 > n:
            raise ParseError(f"RTCP packet header truncated at byte {pos} ({n - pos} bytes left)")
        b0, pt, words = _BBH.unpack_from(data, pos)
        if b0 >> 6 != 2:
            raise ParseError(f"RTCP version must be 2, got {b0 >> 6} (packet at byte {pos})")
        if not 192 <= pt <= 223:
            raise ParseError(f"RTCP packet type must be in [192, 223], got {pt} (packet at byte {pos})")
        end = pos + 4 + 4 * words
        if end > n:
            raise ParseError(f"RTCP packet at byte {pos} announces {4 * words} bytes but {n - pos - 4} remain")
        body = data[pos + 4 : end]
        if b0 & 0x20:
            pad = body[-1] if body else 0
            if pad == 0 or pad > len(body):
                raise ParseError(f"RTCP padding count {pad} is invalid for a {len(body)}-byte packet body")
            body = body[: len(body) - pad]
        out.append(_dispatch(pt, b0 & 0x1F, body))
        pos = end
    return out


def build_rtcp(packets: Sequence[RtcpPacket]) -> bytes:
    """Serialise packets into one compound datagram (RFC 3550 6.1)."""
    if not packets:
        raise ValueError("packets must hold at least one RTCP packet")
    return b"".join(bytes(p) for p in packets)
