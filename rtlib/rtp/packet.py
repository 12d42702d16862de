"""RTP data packets on the wire (RFC 3550 section 5) with RFC 8285 header extensions.

The fixed header, 12 bytes, network (big-endian) byte order::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                           timestamp                           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           synchronization source (SSRC) identifier            |
    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
    |            contributing source (CSRC) identifiers             |
    |                             ....                              |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

followed, when X is set, by one header extension (RFC 3550 5.3.1: a 16-bit profile
word, a 16-bit length in 32-bit words, then the body), then the payload, then, when P
is set, padding whose last byte counts the padding bytes (itself included).

RFC 8285 fills the extension body with *elements* (id, value), in a one-byte form
(profile 0xBEDE: ids 1-14, values of 1-16 bytes) or a two-byte form (profile
0x100X: ids 1-255, values of 0-255 bytes).  :class:`RtpPacket` keeps the elements as a
``{id: value bytes}`` dict; :mod:`rtlib.rtp.extensions` names the ones WebRTC uses
(abs-send-time, transport-wide sequence number, audio level).

Used in: notebooks/05_rtp_rtcp.ipynb (a packet dissected byte by byte), and by
:mod:`rtlib.rtp.session` for every packet the sender and receiver exchange.
"""

from __future__ import annotations

import struct

from rtlib.rtp.errors import ParseError

RTP_VERSION = 2
HEADER_SIZE = 12
ONE_BYTE_PROFILE = 0xBEDE
TWO_BYTE_PROFILE = 0x1000  # 0x1000-0x100F: the low 4 bits are "appbits" (RFC 8285 4.3)

_HDR = struct.Struct("!BBHII")
_HH = struct.Struct("!HH")
_ONE_BYTE_HEAD = [bytes((b,)) for b in range(256)]
_ZEROS = (b"", b"\x00", b"\x00\x00", b"\x00\x00\x00")


def is_rtcp(data: bytes) -> bool:
    """True when a datagram is RTCP rather than RTP (RFC 5761 section 4).

    RTCP packet types 192-223 fall where an RTP packet would carry marker=1 and
    payload types 64-95, which RTP sessions that multiplex the two avoid.
    """
    return len(data) >= 2 and 192 <= data[1] <= 223


def is_two_byte_profile(profile: int) -> bool:
    return profile & 0xFFF0 == TWO_BYTE_PROFILE


def is_rfc8285_profile(profile: int) -> bool:
    return profile == ONE_BYTE_PROFILE or profile & 0xFFF0 == TWO_BYTE_PROFILE


def parse_extension_elements(profile: int, body: bytes) -> dict[int, bytes]:
    """The RFC 8285 elements of an extension body, as ``{id: value}``.

    Padding bytes (0) between and after elements are skipped.  In the one-byte form an
    id of 15 ends processing (RFC 8285 4.2: reserved, "its length field MUST be
    ignored"); a byte with id 0 is padding whatever its length bits (as libwebrtc).
    Raises :class:`ParseError` when an element runs past the body.
    """
    if not isinstance(body, bytes):
        body = bytes(body)
    out: dict[int, bytes] = {}
    pos, end = 0, len(body)
    if profile == ONE_BYTE_PROFILE:
        while pos < end:
            b = body[pos]
            ext_id = b >> 4
            if ext_id == 0:
                pos += 1
                continue
            if ext_id == 15:
                break
            stop = pos + 1 + (b & 0x0F) + 1
            if stop > end:
                raise ParseError(f"RTP one-byte header extension element id {ext_id} runs past the extension")
            out[ext_id] = body[pos + 1 : stop]
            pos = stop
    elif profile & 0xFFF0 == TWO_BYTE_PROFILE:
        while pos < end:
            ext_id = body[pos]
            if ext_id == 0:
                pos += 1
                continue
            if pos + 2 > end:
                raise ParseError(f"RTP two-byte header extension element id {ext_id} is truncated")
            stop = pos + 2 + body[pos + 1]
            if stop > end:
                raise ParseError(f"RTP two-byte header extension element id {ext_id} runs past the extension")
            out[ext_id] = body[pos + 2 : stop]
            pos = stop
    else:
        raise ValueError(f"profile must be 0xBEDE or 0x1000-0x100F (RFC 8285), got {profile:#06x}")
    return out


def fits_one_byte_form(extensions: dict[int, bytes]) -> bool:
    """True when every element fits the one-byte form (ids 1-14, 1-16 byte values)."""
    return all(1 <= i <= 14 and 1 <= len(v) <= 16 for i, v in extensions.items())


def pack_extension_elements(extensions: dict[int, bytes], profile: int | None = None) -> tuple[int, bytes]:
    """``(profile, body)`` for RFC 8285 elements, the body zero-padded to 32 bits.

    With ``profile=None`` the compact one-byte form is chosen when every element fits
    it, else the two-byte form (RFC 8285 4.1: one form per packet).
    """
    if profile is None:
        profile = ONE_BYTE_PROFILE if fits_one_byte_form(extensions) else TWO_BYTE_PROFILE
    parts = []
    if profile == ONE_BYTE_PROFILE:
        for ext_id, value in extensions.items():
            if not 1 <= ext_id <= 14:
                raise ValueError(f"one-byte extension id must be in [1, 14], got {ext_id!r}")
            if not 1 <= len(value) <= 16:
                raise ValueError(f"one-byte extension value must be 1-16 bytes, got {len(value)} (id {ext_id})")
            parts.append(bytes(((ext_id << 4) | (len(value) - 1),)))
            parts.append(value)
    elif profile & 0xFFF0 == TWO_BYTE_PROFILE:
        for ext_id, value in extensions.items():
            if not 1 <= ext_id <= 255:
                raise ValueError(f"two-byte extension id must be in [1, 255], got {ext_id!r}")
            if len(value) > 255:
                raise ValueError(f"two-byte extension value must be 0-255 bytes, got {len(value)} (id {ext_id})")
            parts.append(bytes((ext_id, len(value))))
            parts.append(value)
    else:
        raise ValueError(f"extension_profile must be 0xBEDE or 0x1000-0x100F for elements, got {profile:#06x}")
    body = b"".join(parts)
    return profile, body + b"\x00" * (-len(body) % 4)


class RtpPacket:
    """One RTP packet: build it, ``bytes(packet)`` it, or :meth:`parse` it.

    Fields (RFC 3550 5.1): ``payload_type`` (0-127), ``sequence_number`` (16 bits),
    ``timestamp`` (32 bits, media clock units), ``ssrc`` (32 bits), ``marker`` (bool),
    ``csrc`` (up to 15 contributing sources), ``payload`` (bytes), ``padding_size``
    (0, or 1-255 padding bytes including the count byte).

    Header extension: ``extensions`` is a ``{id: value bytes}`` dict of RFC 8285
    elements; ``extension_profile`` is 0xBEDE (one-byte form), 0x1000-0x100F
    (two-byte form) or ``None`` (choose when serialising).  A non-RFC 8285 extension
    (RFC 3550 5.3.1) keeps its ``extension_profile`` and its raw body in
    ``extension_data``.

    Equality compares every field; an automatic profile compares equal to the profile
    it serialises with, so ``RtpPacket.parse(bytes(p)) == p``.

    >>> p = RtpPacket(payload_type=0, sequence_number=1, timestamp=160, ssrc=0x1234, payload=b"\\xff" * 4)
    >>> bytes(p).hex()
    '80000001000000a000001234ffffffff'
    >>> RtpPacket.parse(bytes(p)) == p
    True
    """

    __slots__ = ("payload_type", "sequence_number", "timestamp", "ssrc", "marker", "csrc",
                 "extensions", "extension_profile", "extension_data", "payload", "padding_size")

    def __init__(self, payload_type: int = 0, sequence_number: int = 0, timestamp: int = 0, ssrc: int = 0,
                 payload: bytes = b"", *, marker: bool = False, csrc=(), extensions: dict[int, bytes] | None = None,
                 extension_profile: int | None = None, extension_data: bytes = b"", padding_size: int = 0):
        self.payload_type = payload_type
        self.sequence_number = sequence_number
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.marker = marker is True or bool(marker)
        self.csrc = csrc if csrc.__class__ is tuple else tuple(csrc)
        self.extensions = {} if extensions is None else dict(extensions)
        self.extension_profile = extension_profile
        self.extension_data = extension_data if extension_data.__class__ is bytes else bytes(extension_data)
        self.payload = payload if payload.__class__ is bytes else bytes(payload)
        self.padding_size = padding_size

    # -- parsing ---------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes) -> "RtpPacket":
        """Parse one RTP packet; :class:`ParseError` for any malformed input."""
        if type(data) is not bytes:
            data = bytes(data)
        n = len(data)
        if n < 12:
            raise ParseError(f"RTP packet is {n} bytes, shorter than the 12-byte fixed header")
        b0, b1, seq, ts, ssrc = _HDR.unpack_from(data)
        if b0 >> 6 != 2:
            raise ParseError(f"RTP version must be 2, got {b0 >> 6}")
        cc = b0 & 0x0F
        pos = 12 + 4 * cc
        if pos > n:
            raise ParseError(f"RTP header announces {cc} CSRCs but the packet is only {n} bytes")
        p = cls.__new__(cls)
        p.payload_type = b1 & 0x7F
        p.marker = b1 > 127
        p.sequence_number = seq
        p.timestamp = ts
        p.ssrc = ssrc
        p.csrc = struct.unpack_from(f"!{cc}I", data, 12) if cc else ()
        p.extension_data = b""
        if b0 & 0x10:
            if pos + 4 > n:
                raise ParseError("RTP header extension is truncated (no profile/length word)")
            profile, words = _HH.unpack_from(data, pos)
            pos += 4
            stop = pos + 4 * words
            if stop > n:
                raise ParseError(f"RTP header extension of {4 * words} bytes runs past the packet")
            p.extension_profile = profile
            if profile == ONE_BYTE_PROFILE or profile & 0xFFF0 == TWO_BYTE_PROFILE:
                p.extensions = parse_extension_elements(profile, data[pos:stop])
            else:
                p.extensions = {}
                p.extension_data = data[pos:stop]
            pos = stop
        else:
            p.extension_profile = None
            p.extensions = {}
        if b0 & 0x20:
            pad = data[-1]
            if pad == 0 or pad > n - pos:
                raise ParseError(f"RTP padding count {pad} is invalid for {n - pos} bytes after the header")
            p.padding_size = pad
            p.payload = data[pos : n - pad]
        else:
            p.padding_size = 0
            p.payload = data[pos:]
        return p

    # -- serialising -----------------------------------------------------------------
    def __bytes__(self) -> bytes:
        extensions = self.extensions
        profile = self.extension_profile
        if extensions or profile is not None:
            x = 0x10
            ext = self._pack_extension(extensions, profile)
        else:
            x = 0
            ext = b""
        csrc = self.csrc
        pad = self.padding_size
        pt = self.payload_type
        try:
            if len(csrc) > 15 or pt > 127:
                raise struct.error("out of range")
            head = _HDR.pack(0xA0 | x | len(csrc) if pad else 0x80 | x | len(csrc),
                             0x80 | pt if self.marker else pt, self.sequence_number, self.timestamp, self.ssrc)
        except (struct.error, TypeError):
            self._check()
            raise
        if csrc:
            try:
                head += struct.pack(f"!{len(csrc)}I", *csrc)
            except struct.error:
                raise ValueError(f"csrc values must be 32-bit unsigned integers, got {csrc!r}") from None
        if pad:
            if not 1 <= pad <= 255:
                raise ValueError(f"padding_size must be in [0, 255], got {pad!r}")
            return b"".join((head, ext, self.payload, b"\x00" * (pad - 1), _ONE_BYTE_HEAD[pad]))
        return head + ext + self.payload

    def _pack_extension(self, extensions: dict, profile: int | None) -> bytes:
        """Profile word, length word and body of the header extension."""
        if profile is not None and not is_rfc8285_profile(profile):
            if extensions:
                raise ValueError(f"extension_profile {profile:#06x} is not RFC 8285, so extensions must be empty")
            body = self.extension_data
            if len(body) % 4:
                raise ValueError(f"extension_data must be a multiple of 4 bytes, got {len(body)}")
            if not 0 <= profile <= 0xFFFF or len(body) > 4 * 0xFFFF:
                raise ValueError(f"extension_profile must be in [0, 0xFFFF] and its body < 256 KiB, got {profile!r}")
            return _HH.pack(profile, len(body) >> 2) + body
        if profile is None or profile == ONE_BYTE_PROFILE:
            # the common case, inlined: the one-byte form (RFC 8285 4.2)
            body = b""
            heads = _ONE_BYTE_HEAD
            for ext_id, value in extensions.items():
                n = len(value)
                if not (0 < ext_id < 15 and 0 < n <= 16):
                    if profile == ONE_BYTE_PROFILE:
                        pack_extension_elements(extensions, profile)  # raises the named error
                    break
                body += heads[(ext_id << 4) | (n - 1)] + value
            else:
                n = len(body)
                return _HH.pack(ONE_BYTE_PROFILE, (n + 3) >> 2) + body + _ZEROS[-n % 4]
        profile, body = pack_extension_elements(extensions, None if profile is None else profile)
        if len(body) > 4 * 0xFFFF:
            raise ValueError(f"header extension body must be < 256 KiB, got {len(body)} bytes")
        return _HH.pack(profile, len(body) >> 2) + body

    serialize = __bytes__

    def _check(self) -> None:
        """Raise a ValueError naming the first field out of range."""
        for name, high in (("payload_type", 127), ("sequence_number", 0xFFFF), ("timestamp", 0xFFFFFFFF),
                           ("ssrc", 0xFFFFFFFF)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= high:
                raise ValueError(f"{name} must be an integer in [0, {high}], got {v!r}")
        if len(self.csrc) > 15:
            raise ValueError(f"csrc holds at most 15 sources, got {len(self.csrc)}")

    # -- conveniences ----------------------------------------------------------------
    @property
    def effective_extension_profile(self) -> int | None:
        """The profile word this packet serialises with (``None``: no extension)."""
        if self.extension_profile is not None:
            return self.extension_profile
        if not self.extensions:
            return None
        return ONE_BYTE_PROFILE if fits_one_byte_form(self.extensions) else TWO_BYTE_PROFILE

    @property
    def header_size(self) -> int:
        """Bytes before the payload: fixed header, CSRCs and header extension."""
        return len(bytes(self)) - len(self.payload) - self.padding_size

    def __len__(self) -> int:
        return len(bytes(self))

    def __eq__(self, other) -> bool:
        if not isinstance(other, RtpPacket):
            return NotImplemented
        return (self.payload_type == other.payload_type and self.sequence_number == other.sequence_number
                and self.timestamp == other.timestamp and self.ssrc == other.ssrc
                and self.marker == other.marker and tuple(self.csrc) == tuple(other.csrc)
                and self.extensions == other.extensions and self.extension_data == other.extension_data
                and self.effective_extension_profile == other.effective_extension_profile
                and self.payload == other.payload and self.padding_size == other.padding_size)

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        ext = f", extensions={self.extensions!r}" if self.extensions else ""
        csrc = f", csrc={list(self.csrc)!r}" if self.csrc else ""
        pad = f", padding_size={self.padding_size}" if self.padding_size else ""
        return (f"RtpPacket(pt={self.payload_type}, seq={self.sequence_number}, ts={self.timestamp}, "
                f"ssrc={self.ssrc:#010x}, marker={self.marker}{csrc}{ext}, payload={len(self.payload)} bytes{pad})")


def _element_rows(data: bytes, start: int, stop: int, profile: int, ext_map) -> list[dict]:
    """One row per RFC 8285 element (or padding run) of an extension body."""
    from rtlib.rtp.extensions import DEFAULT_EXTENSION_MAP

    ext_map = DEFAULT_EXTENSION_MAP if ext_map is None else ext_map
    names = {ext_map.audio_level: "audio level", ext_map.abs_send_time: "abs-send-time",
             ext_map.transport_seq: "transport-wide seq"}
    rows, pos = [], start
    if not is_rfc8285_profile(profile):
        return [{"bytes": f"{start}-{stop - 1}", "hex": data[start:stop].hex(), "field": "extension data",
                 "bits": str(8 * (stop - start)), "value": "(profile-specific)"}] if stop > start else []
    one = profile == ONE_BYTE_PROFILE
    while pos < stop:
        if data[pos] == 0 or (one and data[pos] >> 4 == 0):
            pad_end = pos
            while pad_end < stop and data[pad_end] == 0:
                pad_end += 1
            pad_end = max(pad_end, pos + 1)
            rows.append({"bytes": f"{pos}" if pad_end == pos + 1 else f"{pos}-{pad_end - 1}",
                         "hex": data[pos:pad_end].hex(), "field": "extension padding", "bits": str(8 * (pad_end - pos)),
                         "value": "zeros"})
            pos = pad_end
            continue
        if one and data[pos] >> 4 == 15:
            break
        ext_id, n, head = (data[pos] >> 4, (data[pos] & 0x0F) + 1, 1) if one else (data[pos], data[pos + 1], 2)
        value = data[pos + head:pos + head + n]
        name = names.get(ext_id, "")
        shown = value.hex()
        try:
            named = ext_map.decode({ext_id: value}) if name else None
        except ValueError:
            named = None
        if named is not None and named.audio_level_dbov is not None:
            shown = f"{'voice' if named.voice else 'no voice'}, {named.audio_level_dbov} dBov"
        elif named is not None and named.abs_send_time_s is not None:
            shown = f"{named.abs_send_time_s:.6f} s (mod 64 s)"
        elif named is not None and named.transport_seq is not None:
            shown = str(named.transport_seq)
        label = f"extension id {ext_id}" + (f" ({name})" if name else "")
        rows.append({"bytes": f"{pos}-{pos + head + n - 1}", "hex": data[pos:pos + head + n].hex(), "field": label,
                     "bits": f"{8 * head}+{8 * n}", "value": shown})
        pos += head + n
    return rows


def describe_header(data: bytes, ext_map=None) -> list[dict]:
    """The fields of an RTP packet's header, byte range by byte range, for dissection.

    Returns rows ``{"bytes": "0", "field": ..., "bits": ..., "value": ...}`` in wire
    order: what a learner sees when reading a packet byte by byte.  Header extension
    elements are named with ``ext_map`` (default :data:`~rtlib.rtp.extensions.DEFAULT_EXTENSION_MAP`).
    Raises :class:`ParseError` on malformed packets (it parses first).

    Used in: notebooks/05_rtp_rtcp.ipynb.
    """
    p = RtpPacket.parse(data)
    b0, b1 = data[0], data[1]
    rows = [
        {"bytes": "0", "hex": f"{b0:02x}", "field": "V (version)", "bits": "2", "value": b0 >> 6},
        {"bytes": "0", "hex": f"{b0:02x}", "field": "P (padding)", "bits": "1", "value": (b0 >> 5) & 1},
        {"bytes": "0", "hex": f"{b0:02x}", "field": "X (extension)", "bits": "1", "value": (b0 >> 4) & 1},
        {"bytes": "0", "hex": f"{b0:02x}", "field": "CC (CSRC count)", "bits": "4", "value": b0 & 0x0F},
        {"bytes": "1", "hex": f"{b1:02x}", "field": "M (marker)", "bits": "1", "value": b1 >> 7},
        {"bytes": "1", "hex": f"{b1:02x}", "field": "PT (payload type)", "bits": "7", "value": b1 & 0x7F},
        {"bytes": "2-3", "hex": data[2:4].hex(), "field": "sequence number", "bits": "16", "value": p.sequence_number},
        {"bytes": "4-7", "hex": data[4:8].hex(), "field": "timestamp", "bits": "32", "value": p.timestamp},
        {"bytes": "8-11", "hex": data[8:12].hex(), "field": "SSRC", "bits": "32", "value": f"{p.ssrc:#010x}"},
    ]
    pos = 12
    for i, c in enumerate(p.csrc):
        rows.append({"bytes": f"{pos}-{pos + 3}", "hex": data[pos:pos + 4].hex(), "field": f"CSRC {i}",
                     "bits": "32", "value": f"{c:#010x}"})
        pos += 4
    if b0 & 0x10:
        profile, words = _HH.unpack_from(data, pos)
        rows.append({"bytes": f"{pos}-{pos + 1}", "hex": data[pos:pos + 2].hex(), "field": "extension profile",
                     "bits": "16", "value": f"{profile:#06x}" + (" (RFC 8285 one-byte)" if profile == ONE_BYTE_PROFILE
                                                                 else " (RFC 8285 two-byte)" if is_two_byte_profile(profile) else "")})
        rows.append({"bytes": f"{pos + 2}-{pos + 3}", "hex": data[pos + 2:pos + 4].hex(),
                     "field": "extension length (32-bit words)", "bits": "16", "value": words})
        pos += 4
        rows.extend(_element_rows(data, pos, pos + 4 * words, profile, ext_map))
        pos += 4 * words
    end = len(data) - p.padding_size
    if end > pos:
        shown = data[pos:min(end, pos + 8)].hex() + ("…" if end - pos > 8 else "")
        rows.append({"bytes": f"{pos}-{end - 1}" if end - 1 > pos else f"{pos}", "hex": shown, "field": "payload",
                     "bits": str(8 * (end - pos)),
                     "value": f"{end - pos} bytes"})
    if p.padding_size:
        rows.append({"bytes": f"{end}-{len(data) - 1}", "hex": data[end:].hex(), "field": "padding",
                     "bits": str(8 * p.padding_size), "value": f"{p.padding_size} bytes (last byte = count)"})
    return rows
