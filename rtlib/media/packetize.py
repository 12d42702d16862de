"""Packetizers: codec frames to RTP payloads and back.

- **Audio** (RFC 3551 §4.2, RFC 7587): one frame per packet, or, for sample-based
  codecs (G.711, L16, G.722), several frames concatenated (a longer *ptime*).  The
  RTP timestamp advances by the samples a packet holds, in the codec's RTP clock;
  the marker bit flags the first packet of a talkspurt (RFC 3551 §4.1).
- **VP8** (RFC 7741): a payload descriptor (1 byte, or 4 with the 15-bit PictureID)
  before each fragment of a frame; S=1 on the fragment that starts the frame
  (partition 0); the marker bit on the frame's last packet (§4.1).
- **H.264** (RFC 6184, packetization-mode 1): the Annex B stream is split into NAL
  units; small ones are sent alone (single NAL unit packet) or aggregated (STAP-A,
  §5.7.1), large ones fragmented (FU-A, §5.8).

Packetizers return :class:`RtpPayload` records (payload, timestamp, marker);
:func:`to_rtp_packets` wraps them in ``rtlib.rtp`` packets with sequence numbers.
Depacketizers take payloads back (with sequence numbers when there may be loss:
a video frame with a missing fragment is dropped whole, never half-assembled).

Interoperability: tests check both directions against aiortc's own VP8 and H.264
packetizers and depacketizers.

A malformed payload handed to a depacketizer raises :class:`rtlib.ParseError`, the
same class the RTP and RTCP parsers raise.

Used in: notebooks/06_codecs.ipynb (bitrate on the wire), notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from rtlib.errors import ParseError
from rtlib.media.codecs.base import AudioCodec, Codec

MAX_PAYLOAD_BYTES = 1200  # a common WebRTC budget: fits a 1500-byte MTU with IP/UDP/SRTP/extensions


@dataclass(frozen=True)
class RtpPayload:
    """What a packetizer produces: one RTP packet's payload, timestamp and marker bit."""

    payload: bytes
    timestamp: int
    marker: bool = False


def _check_max(max_payload_bytes: int) -> int:
    if not (isinstance(max_payload_bytes, int) and 16 <= max_payload_bytes <= 65_000):
        raise ValueError(f"max_payload_bytes must be an integer in [16, 65000], got {max_payload_bytes!r}")
    return max_payload_bytes


# --- audio ------------------------------------------------------------------------

_SAMPLE_BASED = {"pcm", "pcmu", "pcma", "g722"}


class AudioPacketizer:
    """Codec payloads in, RTP payloads out: ``frames_per_packet`` frames per packet.

    ``push(payload, talkspurt_start=False)`` returns a list with one :class:`RtpPayload`
    once enough frames are collected (else an empty list).  Only sample-based codecs
    (G.711, L16, G.722) may put several frames in one packet; Opus, DVI4 and the MDCT
    codec send one frame per packet.
    """

    def __init__(self, codec: AudioCodec, frames_per_packet: int = 1, initial_timestamp: int = 0):
        if not (isinstance(frames_per_packet, int) and 1 <= frames_per_packet <= 12):
            raise ValueError(f"frames_per_packet must be an integer in [1, 12], got {frames_per_packet!r}")
        if frames_per_packet > 1 and codec.name not in _SAMPLE_BASED:
            raise ValueError(f"frames_per_packet must be 1 for {codec.name} (only {sorted(_SAMPLE_BASED)} concatenate)")
        self.codec = codec
        self.frames_per_packet = frames_per_packet
        self.timestamp = int(initial_timestamp) & 0xFFFFFFFF
        self._pending: list[bytes] = []
        self._marker = False

    @property
    def packet_ms(self) -> float:
        """Audio per packet (the SDP ``ptime``)."""
        return self.frames_per_packet * self.codec.frame_ms

    def push(self, payload: bytes, talkspurt_start: bool = False) -> list[RtpPayload]:
        if not self._pending:
            self._marker = bool(talkspurt_start)
        self._pending.append(bytes(payload))
        if len(self._pending) < self.frames_per_packet:
            return []
        out = RtpPayload(b"".join(self._pending), self.timestamp, self._marker)
        self.timestamp = (self.timestamp + self.codec.timestamp_step * self.frames_per_packet) & 0xFFFFFFFF
        self._pending = []
        return [out]

    def skip(self, frames: int = 1) -> None:
        """Advance the clock over frames not sent (silence suppression, RFC 3551 §4.1)."""
        self.timestamp = (self.timestamp + self.codec.timestamp_step * frames) & 0xFFFFFFFF


def audio_depacketize(codec: AudioCodec, payload: bytes) -> list[bytes]:
    """Split an audio RTP payload back into codec frames (several only for sample-based codecs)."""
    if codec.name not in _SAMPLE_BASED:
        return [bytes(payload)]
    bytes_per_frame = {"pcmu": 1, "pcma": 1, "g722": 0.5}.get(codec.name)
    if bytes_per_frame is None:  # linear PCM
        bytes_per_frame = 1 if codec.bits <= 8 else 2
    size = int(codec.samples_per_frame * bytes_per_frame)
    if len(payload) % size:
        raise ParseError(f"a {codec.name} payload must hold whole {size}-byte frames, got {len(payload)} bytes")
    return [bytes(payload[i:i + size]) for i in range(0, len(payload), size)]


# --- VP8, RFC 7741 ------------------------------------------------------------------

@dataclass(frozen=True)
class Vp8Descriptor:
    """The VP8 payload descriptor (RFC 7741 §4.2); only the fields WebRTC uses."""

    start: bool                   # S: this packet starts a VP8 partition
    partition_id: int = 0         # PID
    non_reference: bool = False   # N: the frame may be discarded without harm
    picture_id: int | None = None  # 7- or 15-bit PictureID (I bit)

    def to_bytes(self) -> bytes:
        first = (0x20 if self.non_reference else 0) | (0x10 if self.start else 0) | (self.partition_id & 0x0F)
        if self.picture_id is None:
            return bytes([first])
        return bytes([0x80 | first, 0x80]) + struct.pack("!H", 0x8000 | (self.picture_id & 0x7FFF))

    @classmethod
    def parse(cls, payload: bytes) -> tuple["Vp8Descriptor", bytes]:
        """(descriptor, VP8 data) from one RTP payload; :class:`ParseError` if malformed."""
        if len(payload) < 1:
            raise ParseError("VP8 payload is empty")
        b0 = payload[0]
        pos, picture_id = 1, None
        if b0 & 0x80:
            if len(payload) < 2:
                raise ParseError("VP8 descriptor: X set but no extension byte")
            ext = payload[1]
            pos = 2
            if ext & 0x80:  # I: PictureID
                if len(payload) < pos + 1:
                    raise ParseError("VP8 descriptor: PictureID truncated")
                if payload[pos] & 0x80:
                    if len(payload) < pos + 2:
                        raise ParseError("VP8 descriptor: 15-bit PictureID truncated")
                    picture_id = struct.unpack_from("!H", payload, pos)[0] & 0x7FFF
                    pos += 2
                else:
                    picture_id = payload[pos]
                    pos += 1
            if ext & 0x40:  # L: TL0PICIDX
                pos += 1
            if ext & 0x30:  # T or K: one byte
                pos += 1
            if len(payload) < pos:
                raise ParseError("VP8 descriptor truncated")
        desc = cls(start=bool(b0 & 0x10), partition_id=b0 & 0x0F, non_reference=bool(b0 & 0x20),
                   picture_id=picture_id)
        return desc, bytes(payload[pos:])


def vp8_packetize(frame: bytes, picture_id: int | None = None,
                  max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """Split one VP8 frame into RTP payloads (RFC 7741 §4), each with a descriptor."""
    _check_max(max_payload_bytes)
    if not frame:
        raise ValueError("frame must hold at least one byte")
    out, pos = [], 0
    while pos < len(frame):
        desc = Vp8Descriptor(start=(pos == 0), picture_id=picture_id).to_bytes()
        size = min(len(frame) - pos, max_payload_bytes - len(desc))
        out.append(desc + frame[pos:pos + size])
        pos += size
    return out


def vp8_depacketize(payloads: list[bytes]) -> bytes:
    """Reassemble one VP8 frame from its RTP payloads, in order."""
    if not payloads:
        raise ParseError("no payloads to reassemble")
    parts = []
    for i, p in enumerate(payloads):
        desc, data = Vp8Descriptor.parse(p)
        if (i == 0) != (desc.start and desc.partition_id == 0):
            raise ParseError("VP8 frame must start with S=1, PID=0 and have no other start")
        parts.append(data)
    return b"".join(parts)


# --- H.264, RFC 6184 ------------------------------------------------------------------

def split_annexb(stream: bytes) -> list[bytes]:
    """NAL units of an H.264 Annex B byte stream (start codes 00 00 01 / 00 00 00 01 removed)."""
    nals, i, n = [], 0, len(stream)
    starts = []
    while i < n - 2:
        if stream[i] == 0 and stream[i + 1] == 0 and stream[i + 2] == 1:
            starts.append(i + 3)
            i += 3
        else:
            i += 1
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else n
        nal = stream[s:end]
        nal = nal.rstrip(b"\x00") if k + 1 < len(starts) else nal  # the zero of a 4-byte start code
        if nal:
            nals.append(nal)
    return nals


def h264_packetize(frame: bytes, max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
    """Packetise one H.264 access unit (Annex B) for RTP, packetization-mode 1.

    NAL units that fit are aggregated into STAP-A packets (§5.7.1) while they fit
    together, or sent alone (§5.6); larger ones are fragmented into FU-A (§5.8).
    """
    _check_max(max_payload_bytes)
    nals = split_annexb(frame)
    if not nals:
        raise ValueError("frame holds no NAL unit (expected an Annex B byte stream)")
    out: list[bytes] = []
    group: list[bytes] = []

    def flush():
        if len(group) == 1:
            out.append(group[0])
        elif group:
            nri = max(n[0] & 0x60 for n in group)
            out.append(bytes([nri | 24]) + b"".join(struct.pack("!H", len(n)) + n for n in group))
        group.clear()

    for nal in nals:
        if len(nal) > max_payload_bytes:
            flush()
            header, body = nal[0], nal[1:]
            chunk = max_payload_bytes - 2
            for pos in range(0, len(body), chunk):
                s = 0x80 if pos == 0 else 0
                e = 0x40 if pos + chunk >= len(body) else 0
                out.append(bytes([(header & 0xE0) | 28, s | e | (header & 0x1F)]) + body[pos:pos + chunk])
            continue
        stap_size = 1 + sum(2 + len(n) for n in group) + 2 + len(nal)
        if group and stap_size > max_payload_bytes:
            flush()
        group.append(nal)
    flush()
    return out


def h264_depacketize(payloads: list[bytes]) -> bytes:
    """Rebuild an Annex B access unit from its RTP payloads, in order."""
    if not payloads:
        raise ParseError("no payloads to reassemble")
    out, fu = [], None
    for p in payloads:
        if len(p) < 1:
            raise ParseError("H.264 payload is empty")
        kind = p[0] & 0x1F
        if 1 <= kind <= 23:
            out.append(b"\x00\x00\x00\x01" + p)
        elif kind == 24:
            pos = 1
            while pos < len(p):
                if pos + 2 > len(p):
                    raise ParseError("STAP-A length field truncated")
                size = struct.unpack_from("!H", p, pos)[0]
                pos += 2
                if pos + size > len(p) or size == 0:
                    raise ParseError("STAP-A NAL unit truncated")
                out.append(b"\x00\x00\x00\x01" + p[pos:pos + size])
                pos += size
        elif kind == 28:
            if len(p) < 2:
                raise ParseError("FU-A header truncated")
            start, end = bool(p[1] & 0x80), bool(p[1] & 0x40)
            if start:
                fu = bytearray([(p[0] & 0xE0) | (p[1] & 0x1F)]) + p[2:]
            elif fu is None:
                raise ParseError("FU-A fragment without its start")
            else:
                fu += p[2:]
            if end:
                out.append(b"\x00\x00\x00\x01" + bytes(fu))
                fu = None
        else:
            raise ParseError(f"H.264 NAL unit type {kind} is not supported in packetization-mode 1")
    if fu is not None:
        raise ParseError("FU-A fragments end without E=1")
    return b"".join(out)


# --- video: frames <-> packets with timestamps and loss ---------------------------------

class VideoPacketizer:
    """One encoded video frame in, its RTP payloads out (marker bit on the last)."""

    def __init__(self, codec: Codec, max_payload_bytes: int = MAX_PAYLOAD_BYTES, initial_timestamp: int = 0,
                 initial_picture_id: int = 0):
        if codec.name not in ("vp8", "h264"):
            raise ValueError(f"codec must be vp8 or h264, got {codec.name!r}")
        self.codec = codec
        self.max_payload_bytes = _check_max(max_payload_bytes)
        self.timestamp = int(initial_timestamp) & 0xFFFFFFFF
        self.picture_id = int(initial_picture_id) & 0x7FFF

    def push(self, frame: bytes) -> list[RtpPayload]:
        if not frame:  # the encoder skipped this picture: only the clock moves
            self.timestamp = (self.timestamp + self.codec.timestamp_step) & 0xFFFFFFFF
            return []
        if self.codec.name == "vp8":
            parts = vp8_packetize(frame, self.picture_id, self.max_payload_bytes)
            self.picture_id = (self.picture_id + 1) & 0x7FFF
        else:
            parts = h264_packetize(frame, self.max_payload_bytes)
        out = [RtpPayload(p, self.timestamp, i == len(parts) - 1) for i, p in enumerate(parts)]
        self.timestamp = (self.timestamp + self.codec.timestamp_step) & 0xFFFFFFFF
        return out


class VideoDepacketizer:
    """RTP payloads in (in order, with sequence numbers), whole frames out.

    ``push(payload, timestamp, marker, sequence_number)`` returns the frame's bytes
    when its last packet (marker) arrives and no packet of it was missing; a frame
    with a gap is dropped (``dropped_frames`` counts them) and the decoder will
    show a freeze or ask for a key frame.
    """

    def __init__(self, codec: Codec):
        if codec.name not in ("vp8", "h264"):
            raise ValueError(f"codec must be vp8 or h264, got {codec.name!r}")
        self.codec = codec
        self._parts: list[bytes] = []
        self._ts: int | None = None
        self._next_seq: int | None = None
        self._broken = False
        self.dropped_frames = 0

    def push(self, payload: bytes, timestamp: int, marker: bool, sequence_number: int | None = None) -> bytes | None:
        if sequence_number is not None:
            if self._next_seq is not None and sequence_number != self._next_seq:
                self._broken = True  # a packet went missing: this frame (or the previous) is incomplete
                if self._parts and self._ts != timestamp:
                    self.dropped_frames += 1
                    self._parts, self._ts = [], None
            self._next_seq = (sequence_number + 1) & 0xFFFF
        if self._ts is not None and timestamp != self._ts:
            # A new frame started before the old one ended (its marker packet was lost).
            self.dropped_frames += 1
            self._parts = []
            self._broken = False
        if not self._parts:
            self._ts = timestamp
        self._parts.append(bytes(payload))
        if not marker:
            return None
        parts, broken = self._parts, self._broken
        self._parts, self._ts, self._broken = [], None, False
        if broken:
            self.dropped_frames += 1
            return None
        try:
            return vp8_depacketize(parts) if self.codec.name == "vp8" else h264_depacketize(parts)
        except ParseError:
            self.dropped_frames += 1
            return None


def to_rtp_packets(payloads: list[RtpPayload], payload_type: int, ssrc: int, first_sequence_number: int = 0):
    """Wrap payloads into ``rtlib.rtp`` RTP packets with consecutive sequence numbers."""
    from rtlib.rtp.packet import RtpPacket

    if not 0 <= payload_type <= 127:
        raise ValueError(f"payload_type must be in [0, 127], got {payload_type!r}")
    return [
        RtpPacket(payload_type=payload_type, sequence_number=(first_sequence_number + i) & 0xFFFF,
                  timestamp=p.timestamp, ssrc=ssrc, payload=p.payload, marker=p.marker)
        for i, p in enumerate(payloads)
    ]


# --- bit rate on the wire ----------------------------------------------------------------

HEADER_BYTES = {"ipv4": 20, "ipv6": 40, "udp": 8, "rtp": 12}


def wire_bitrate_bps(payload_bytes: float, packet_ms: float, ip_version: int = 4, extra_bytes: float = 0) -> float:
    """The bit rate on the wire of a stream of ``payload_bytes`` every ``packet_ms``.

    Adds RTP (12 bytes, RFC 3550 §5.1), UDP (8, RFC 768) and IPv4 (20, RFC 791) or
    IPv6 (40, RFC 8200) headers per packet, plus ``extra_bytes`` (e.g. SRTP's 10-byte
    auth tag, header extensions).  Link-layer framing is not counted.
    """
    if payload_bytes < 0:
        raise ValueError(f"payload_bytes must be >= 0, got {payload_bytes!r}")
    if not 0 < packet_ms <= 1000:
        raise ValueError(f"packet_ms must be in (0, 1000] ms, got {packet_ms!r}")
    if ip_version not in (4, 6):
        raise ValueError(f"ip_version must be 4 or 6, got {ip_version!r}")
    headers = HEADER_BYTES["rtp"] + HEADER_BYTES["udp"] + HEADER_BYTES["ipv4" if ip_version == 4 else "ipv6"]
    return (payload_bytes + headers + extra_bytes) * 8 * 1000 / packet_ms
