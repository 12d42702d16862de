"""Named RTP header extensions that WebRTC uses, on top of RFC 8285 elements.

An RFC 8285 element is only ``(local id, value bytes)``; which id means what is agreed
in SDP (``a=extmap:3 http://...``).  :class:`ExtensionMap` holds that agreement for
three extensions and converts their values:

- **abs-send-time** (``http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time``):
  the send time as a 24-bit 6.18 fixed-point number of seconds, wrapping every 64 s;
  delay-based congestion control (GCC, chapter 08) reads inter-departure times from it.
- **transport-wide sequence number**
  (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2): a 16-bit counter
  across all streams of a transport, which transport-cc feedback refers to.
- **audio level** (RFC 6464, ``urn:ietf:params:rtp-hdrext:ssrc-audio-level``): one
  byte, a voice-activity bit and the level in -dBov (0 = loudest, 127 = silence), so
  a mixer or SFU can pick the loudest speakers without decoding audio.

Used in: notebooks/05_rtp_rtcp.ipynb; :mod:`rtlib.rtp.session` stamps every packet.
"""

from __future__ import annotations

from dataclasses import dataclass

from rtlib.rtp.errors import ParseError

ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
TRANSPORT_CC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

ABS_SEND_TIME_WRAP_S = 64.0  # 2**24 / 2**18
_BYTES = [bytes((b,)) for b in range(256)]


def encode_abs_send_time(t_s: float) -> bytes:
    """abs-send-time: ``t_s`` modulo 64 s as 6.18 fixed point, 3 bytes."""
    if not t_s >= 0:
        raise ValueError(f"t_s must be a non-negative number of seconds, got {t_s!r}")
    return (int(t_s * 262144.0 + 0.5) & 0xFFFFFF).to_bytes(3, "big")  # 2**18, rounded


def decode_abs_send_time(value: bytes) -> float:
    """Seconds in [0, 64) from an abs-send-time value (3 bytes)."""
    if len(value) != 3:
        raise ParseError(f"abs-send-time value must be 3 bytes, got {len(value)}")
    return int.from_bytes(value, "big") / (1 << 18)


def encode_transport_seq(seq: int) -> bytes:
    """Transport-wide sequence number, 2 bytes (draft-holmer-...-01 section 2)."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 0xFFFF:
        raise ValueError(f"transport_seq must be an integer in [0, 65535], got {seq!r}")
    return seq.to_bytes(2, "big")


def encode_audio_level(level_dbov: int, voice: bool = False) -> bytes:
    """RFC 6464 section 3: ``V`` bit, then the level as 0-127 (-dBov), one byte.

    ``level_dbov`` is the level itself, in [-127, 0] dBov (0 dBov = full scale).
    """
    if isinstance(level_dbov, bool) or not isinstance(level_dbov, int) or not -127 <= level_dbov <= 0:
        raise ValueError(f"level_dbov must be an integer in [-127, 0] dBov, got {level_dbov!r}")
    return bytes(((0x80 if voice else 0) | -level_dbov,))


def decode_audio_level(value: bytes) -> tuple[bool, int]:
    """``(voice, level_dbov)`` with ``level_dbov`` in [-127, 0].

    RFC 6464 allows the value to be padded (e.g. to 2 or 4 bytes in the two-byte form),
    so only the first byte is read.
    """
    if len(value) < 1:
        raise ParseError("audio level value is empty")
    b = value[0]
    return bool(b & 0x80), -(b & 0x7F)


@dataclass(slots=True)
class NamedExtensions:
    """The named values found in one packet (``None`` where absent)."""

    abs_send_time_s: float | None = None
    transport_seq: int | None = None
    audio_level_dbov: int | None = None
    voice: bool | None = None


@dataclass(frozen=True)
class ExtensionMap:
    """Which RFC 8285 id carries which named extension (as agreed in SDP ``a=extmap``).

    The defaults (1 audio level, 2 abs-send-time, 3 transport-wide seq) are this
    course's choice; ``ExtensionMap.from_uris({uri: id})`` takes an SDP's.  ``None``
    disables an extension.
    """

    audio_level: int | None = 1
    abs_send_time: int | None = 2
    transport_seq: int | None = 3

    def __post_init__(self):
        ids = [i for i in (self.audio_level, self.abs_send_time, self.transport_seq) if i is not None]
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= 255:
                raise ValueError(f"extension ids must be integers in [1, 255] (1-14 for the one-byte form), got {i!r}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"extension ids must be distinct, got {ids}")

    @classmethod
    def from_uris(cls, ids: dict[str, int]) -> "ExtensionMap":
        """Build from ``{uri: id}`` (unknown URIs are ignored)."""
        return cls(audio_level=ids.get(AUDIO_LEVEL_URI), abs_send_time=ids.get(ABS_SEND_TIME_URI),
                   transport_seq=ids.get(TRANSPORT_CC_URI))

    def uris(self) -> dict[str, int]:
        """``{uri: id}`` for the enabled extensions (what SDP would announce)."""
        pairs = ((AUDIO_LEVEL_URI, self.audio_level), (ABS_SEND_TIME_URI, self.abs_send_time),
                 (TRANSPORT_CC_URI, self.transport_seq))
        return {u: i for u, i in pairs if i is not None}

    def encode(self, *, abs_send_time_s: float | None = None, transport_seq: int | None = None,
               audio_level_dbov: int | None = None, voice: bool = False) -> dict[int, bytes]:
        """RFC 8285 elements ``{id: value}`` for the values given (and enabled)."""
        out: dict[int, bytes] = {}
        if audio_level_dbov is not None and self.audio_level is not None:
            if audio_level_dbov.__class__ is not int or not -127 <= audio_level_dbov <= 0:
                encode_audio_level(audio_level_dbov, voice)  # raises the named error
            out[self.audio_level] = _BYTES[(0x80 if voice else 0) | -audio_level_dbov]
        if abs_send_time_s is not None and self.abs_send_time is not None:
            if not abs_send_time_s >= 0:
                raise ValueError(f"abs_send_time_s must be a non-negative number of seconds, got {abs_send_time_s!r}")
            out[self.abs_send_time] = (int(abs_send_time_s * 262144.0 + 0.5) & 0xFFFFFF).to_bytes(3, "big")
        if transport_seq is not None and self.transport_seq is not None:
            if transport_seq.__class__ is not int or not 0 <= transport_seq <= 0xFFFF:
                encode_transport_seq(transport_seq)  # raises the named error
            out[self.transport_seq] = transport_seq.to_bytes(2, "big")
        return out

    def decode(self, extensions: dict[int, bytes]) -> NamedExtensions:
        """The named values in ``extensions`` (a packet's ``.extensions``).

        Raises :class:`ParseError` when a present value has the wrong size.
        """
        ast = tseq = level = voice = None
        get = extensions.get
        v = get(self.abs_send_time)
        if v is not None:
            if len(v) != 3:
                raise ParseError(f"abs-send-time value must be 3 bytes, got {len(v)}")
            ast = int.from_bytes(v, "big") / 262144.0  # 2**18: 6.18 fixed point
        v = get(self.transport_seq)
        if v is not None:
            if len(v) != 2:
                raise ParseError(f"transport-wide sequence number must be 2 bytes, got {len(v)}")
            tseq = (v[0] << 8) | v[1]
        v = get(self.audio_level)
        if v is not None:
            if not v:
                raise ParseError("audio level value is empty")
            voice, level = v[0] > 127, -(v[0] & 0x7F)
        return NamedExtensions(ast, tseq, level, voice)


DEFAULT_EXTENSION_MAP = ExtensionMap()
