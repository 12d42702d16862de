"""STUN messages on the wire (RFC 8489), with the ICE attributes of RFC 8445 section 16.1.

Sans-IO: bytes in, a :class:`StunMessage` out, and back.  No sockets, no clock.

Every STUN message starts with a 20-byte header (RFC 8489 section 5)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |0 0|     STUN Message Type     |         Message Length        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         Magic Cookie                          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                                                               |
    |                     Transaction ID (96 bits)                  |
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The 14-bit message type interleaves a 12-bit method and a 2-bit class::

      0                 1
      2  3  4 5 6 7 8 9 0 1 2 3 4 5
     +--+--+-+-+-+-+-+-+-+-+-+-+-+-+
     |M |M |M|M|M|C|M|M|M|C|M|M|M|M|
     |11|10|9|8|7|1|6|5|4|0|3|2|1|0|
     +--+--+-+-+-+-+-+-+-+-+-+-+-+-+

The Message Length counts the attributes only (not the header).  Then come
attributes, each a type-length-value (section 14) padded to a multiple of 4 bytes::

    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Type                  |            Length             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         Value (variable)                ....
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

The Length field is the value's length *before* padding.  Attributes 0x0000-0x7FFF
are comprehension-required (a receiver that does not know one must reject the
request with error 420 and an UNKNOWN-ATTRIBUTES list, section 6.3.1); 0x8000-0xFFFF
are comprehension-optional (ignored when unknown).

Two attributes protect the message and always come last, in this order:

* MESSAGE-INTEGRITY (section 14.5): HMAC-SHA1 over the message up to the attribute,
  with the header's length field set as if MESSAGE-INTEGRITY ended the message.
  With short-term credentials (section 9.1, as ICE uses them) the key is the
  password itself (OpaqueString-prepared: here its UTF-8 bytes).
* FINGERPRINT (section 14.7): CRC-32 over the message up to the attribute, the length
  field set as if FINGERPRINT ended it, XOR-ed with 0x5354554E ("STUN"), so a
  receiver can tell STUN from other protocols on the same port.

Attribute values in :class:`StunMessage` are keyed by their RFC names, as in aioice
(``"XOR-MAPPED-ADDRESS"``, ``"PRIORITY"``...), which keeps the tests that compare our
bytes with aioice's short.  Addresses are ``(ip: str, port: int)`` tuples.

The test vectors of RFC 5769 (sections 2.1-2.3) and byte-for-byte equality with
``aioice.stun.Message`` are checked in tests/conf/test_stun.py.

Used in: notebooks/10_many_participants.ipynb (a binding request dissected; the
connectivity checks of :mod:`rtlib.conf.ice` are real messages from this module).
"""

from __future__ import annotations

import binascii
import enum
import hmac
import ipaddress
import os
import struct
from dataclasses import dataclass, field
from typing import Any

from rtlib.errors import ParseError

MAGIC_COOKIE = 0x2112A442  # RFC 8489 section 5
HEADER_SIZE_BYTES = 20  # RFC 8489 section 5
TRANSACTION_ID_SIZE_BYTES = 12  # 96 bits, RFC 8489 section 5
FINGERPRINT_XOR = 0x5354554E  # "STUN", RFC 8489 section 14.7
INTEGRITY_SIZE_BYTES = 20  # HMAC-SHA1 output, RFC 8489 section 14.5
USERNAME_MAX_BYTES = 513  # RFC 8489 section 14.3
SOFTWARE_MAX_CHARS = 128  # RFC 8489 section 14.14
ERROR_REASON_MAX_CHARS = 128  # RFC 8489 section 14.8

FAMILY_IPV4 = 0x01  # RFC 8489 section 14.1
FAMILY_IPV6 = 0x02

_HEADER = struct.Struct("!HHI12s")
_TL = struct.Struct("!HH")
_U32 = struct.Struct("!I")
_U64 = struct.Struct("!Q")


class StunClass(enum.IntEnum):
    """The 2-bit message class (RFC 8489 section 5)."""

    REQUEST = 0b00
    INDICATION = 0b01
    SUCCESS_RESPONSE = 0b10
    ERROR_RESPONSE = 0b11


class StunMethod(enum.IntEnum):
    """Methods this course meets: Binding (RFC 8489 section 18.2) and TURN's (RFC 8656 section 17)."""

    BINDING = 0x001
    ALLOCATE = 0x003
    REFRESH = 0x004
    SEND = 0x006
    DATA = 0x007
    CREATE_PERMISSION = 0x008
    CHANNEL_BIND = 0x009


# Attribute types (RFC 8489 section 18.3, RFC 8445 section 16.1, RFC 8656 section 18).
MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
CHANNEL_NUMBER = 0x000C
LIFETIME = 0x000D
XOR_PEER_ADDRESS = 0x0012
DATA = 0x0013
XOR_RELAYED_ADDRESS = 0x0016
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A

#: name -> type code of every attribute this codec understands.
ATTRIBUTE_TYPES: dict[str, int] = {
    "MAPPED-ADDRESS": MAPPED_ADDRESS,
    "USERNAME": USERNAME,
    "MESSAGE-INTEGRITY": MESSAGE_INTEGRITY,
    "ERROR-CODE": ERROR_CODE,
    "UNKNOWN-ATTRIBUTES": UNKNOWN_ATTRIBUTES,
    "CHANNEL-NUMBER": CHANNEL_NUMBER,
    "LIFETIME": LIFETIME,
    "XOR-PEER-ADDRESS": XOR_PEER_ADDRESS,
    "DATA": DATA,
    "XOR-RELAYED-ADDRESS": XOR_RELAYED_ADDRESS,
    "XOR-MAPPED-ADDRESS": XOR_MAPPED_ADDRESS,
    "PRIORITY": PRIORITY,
    "USE-CANDIDATE": USE_CANDIDATE,
    "SOFTWARE": SOFTWARE,
    "FINGERPRINT": FINGERPRINT,
    "ICE-CONTROLLED": ICE_CONTROLLED,
    "ICE-CONTROLLING": ICE_CONTROLLING,
}
ATTRIBUTE_NAMES: dict[int, str] = {v: k for k, v in ATTRIBUTE_TYPES.items()}

#: Reason phrases of the error codes RFC 8489 section 14.8 and RFC 8445 section 7.3.1.1 name.
ERROR_REASONS: dict[int, str] = {
    300: "Try Alternate",
    400: "Bad Request",
    401: "Unauthenticated",
    420: "Unknown Attribute",
    438: "Stale Nonce",
    487: "Role Conflict",
    500: "Server Error",
}


def padding_size_bytes(length_bytes: int) -> int:
    """Bytes of padding after a value of ``length_bytes`` (to a 4-byte boundary, RFC 8489 section 14)."""
    return -length_bytes % 4


def message_type(method: int, message_class: int) -> int:
    """The 14-bit message type field for ``method`` and ``message_class`` (RFC 8489 section 5).

    >>> hex(message_type(StunMethod.BINDING, StunClass.SUCCESS_RESPONSE))
    '0x101'
    """
    if not 0 <= int(method) <= 0xFFF:
        raise ValueError(f"method must be in 0..0xFFF, got {method!r}")
    if not 0 <= int(message_class) <= 3:
        raise ValueError(f"message_class must be one of {[c.name for c in StunClass]}, got {message_class!r}")
    m, c = int(method), int(message_class)
    return ((m & 0xF80) << 2) | ((m & 0x070) << 1) | (m & 0x00F) | ((c & 0b10) << 7) | ((c & 0b01) << 4)


def split_message_type(value: int) -> tuple[int, StunClass]:
    """``(method, class)`` of a 14-bit message type (the inverse of :func:`message_type`)."""
    method = ((value >> 2) & 0xF80) | ((value >> 1) & 0x070) | (value & 0x00F)
    cls = StunClass(((value >> 7) & 0b10) | ((value >> 4) & 0b01))
    return method, cls


def new_transaction_id(rng: Any = None) -> bytes:
    """A 96-bit transaction id: from ``rng`` (a numpy Generator, for deterministic runs) or os.urandom."""
    if rng is None:
        return os.urandom(TRANSACTION_ID_SIZE_BYTES)
    return bytes(int(b) for b in rng.integers(0, 256, size=TRANSACTION_ID_SIZE_BYTES))


def short_term_key(password: str) -> bytes:
    """The MESSAGE-INTEGRITY key for short-term credentials: the password (RFC 8489 section 9.1.1).

    RFC 8489 runs the password through OpaqueString (RFC 8265); for the ASCII passwords ICE
    generates (RFC 8445 section 5.3: ice-pwd is 22-256 ice-chars) that is the identity.
    """
    if not isinstance(password, str):
        raise ValueError(f"password must be a str, got {type(password).__name__}")
    return password.encode("utf-8")


# --- attribute values -------------------------------------------------------------------


def _xor_pad(transaction_id: bytes) -> bytes:
    return _U32.pack(MAGIC_COOKIE) + transaction_id


def _encode_address(value: Any, name: str, xor_pad: bytes | None) -> bytes:
    try:
        host, port = value
        ip = ipaddress.ip_address(host)
        port = int(port)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an (ip, port) tuple, got {value!r}") from exc
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"{name} port must be in 0..65535, got {port}")
    family = FAMILY_IPV4 if ip.version == 4 else FAMILY_IPV6
    body = struct.pack("!H", port) + ip.packed
    if xor_pad is not None:
        body = bytes(a ^ b for a, b in zip(body, xor_pad[:2] + xor_pad))
    return bytes((0, family)) + body


def _decode_address(value: bytes, name: str, xor_pad: bytes | None) -> tuple[str, int]:
    if len(value) < 4:
        raise ParseError(f"{name}: {len(value)} bytes, an address needs at least 8")
    family = value[1]
    if family == FAMILY_IPV4:
        size = 4
    elif family == FAMILY_IPV6:
        size = 16
    else:
        raise ParseError(f"{name}: unknown address family {family:#04x} (0x01 IPv4, 0x02 IPv6)")
    if len(value) != 4 + size:
        raise ParseError(f"{name}: {len(value)} bytes, family {family} needs {4 + size}")
    body = value[2:]
    if xor_pad is not None:
        # X-Port is XOR-ed with the cookie's top 16 bits; X-Address with the cookie (IPv4)
        # or cookie + transaction id (IPv6), RFC 8489 section 14.2.
        body = bytes(a ^ b for a, b in zip(body, xor_pad[:2] + xor_pad))
    port = struct.unpack("!H", body[:2])[0]
    ip = ipaddress.IPv4Address(body[2:]) if size == 4 else ipaddress.IPv6Address(body[2:])
    return str(ip), port


def _text(value: Any, name: str, max_bytes: int | None = None, max_chars: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a str, got {type(value).__name__}")
    data = value.encode("utf-8")
    if max_bytes is not None and len(data) > max_bytes:
        raise ValueError(f"{name} must be at most {max_bytes} bytes of UTF-8, got {len(data)}")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{name} must be at most {max_chars} characters, got {len(value)}")
    return data


def _decode_text(value: bytes, name: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name}: not UTF-8 ({exc.reason})") from None


def _uint(value: Any, name: str, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << bits):
        raise ValueError(f"{name} must be an integer in 0..2**{bits}-1, got {value!r}")
    return value


def _decode_uint(value: bytes, name: str, size: int) -> int:
    if len(value) != size:
        raise ParseError(f"{name}: {len(value)} bytes, must be {size}")
    return int.from_bytes(value, "big")


def encode_attribute_value(name: str, value: Any, transaction_id: bytes) -> bytes:
    """The value bytes (unpadded) of attribute ``name`` (RFC 8489 section 14, RFC 8445 section 16.1)."""
    if name in ("MAPPED-ADDRESS",):
        return _encode_address(value, name, None)
    if name in ("XOR-MAPPED-ADDRESS", "XOR-PEER-ADDRESS", "XOR-RELAYED-ADDRESS"):
        return _encode_address(value, name, _xor_pad(transaction_id))
    if name == "USERNAME":
        return _text(value, name, max_bytes=USERNAME_MAX_BYTES)
    if name == "SOFTWARE":
        return _text(value, name, max_chars=SOFTWARE_MAX_CHARS)
    if name in ("PRIORITY", "LIFETIME", "FINGERPRINT"):
        return _U32.pack(_uint(value, name, 32))
    if name in ("ICE-CONTROLLED", "ICE-CONTROLLING"):
        return _U64.pack(_uint(value, name, 64))
    if name == "USE-CANDIDATE":
        if value not in (None, True):
            raise ValueError(f"USE-CANDIDATE has no value: pass None or True, got {value!r}")
        return b""
    if name == "CHANNEL-NUMBER":
        # 16-bit number then 16 bits RFFU (RFC 8656 section 18.1)
        return struct.pack("!HH", _uint(value, name, 16), 0)
    if name in ("MESSAGE-INTEGRITY", "DATA"):
        if not isinstance(value, (bytes, bytearray)):
            raise ValueError(f"{name} must be bytes, got {type(value).__name__}")
        if name == "MESSAGE-INTEGRITY" and len(value) != INTEGRITY_SIZE_BYTES:
            raise ValueError(f"MESSAGE-INTEGRITY must be {INTEGRITY_SIZE_BYTES} bytes, got {len(value)}")
        return bytes(value)
    if name == "ERROR-CODE":
        try:
            code, reason = value
        except (TypeError, ValueError):
            raise ValueError(f"ERROR-CODE must be a (code, reason) tuple, got {value!r}") from None
        if isinstance(code, bool) or not isinstance(code, int) or not 300 <= code <= 699:
            raise ValueError(f"ERROR-CODE code must be an integer in 300..699, got {code!r}")
        reason_bytes = _text(reason, "ERROR-CODE reason", max_chars=ERROR_REASON_MAX_CHARS)
        # 21 reserved bits, 3-bit class (hundreds), 8-bit number (RFC 8489 section 14.8)
        return struct.pack("!HBB", 0, code // 100, code % 100) + reason_bytes
    if name == "UNKNOWN-ATTRIBUTES":
        codes = list(value)
        return b"".join(struct.pack("!H", _uint(c, name, 16)) for c in codes)
    raise ValueError(f"attribute name must be one of {sorted(ATTRIBUTE_TYPES)}, got {name!r}")


def decode_attribute_value(attr_type: int, value: bytes, transaction_id: bytes) -> Any:
    """The Python value of a known attribute's value bytes; raises :class:`ParseError`."""
    name = ATTRIBUTE_NAMES[attr_type]
    if attr_type == MAPPED_ADDRESS:
        return _decode_address(value, name, None)
    if attr_type in (XOR_MAPPED_ADDRESS, XOR_PEER_ADDRESS, XOR_RELAYED_ADDRESS):
        return _decode_address(value, name, _xor_pad(transaction_id))
    if attr_type in (USERNAME, SOFTWARE):
        if attr_type == USERNAME and len(value) > USERNAME_MAX_BYTES:
            raise ParseError(f"USERNAME: {len(value)} bytes, at most {USERNAME_MAX_BYTES}")
        return _decode_text(value, name)
    if attr_type in (PRIORITY, LIFETIME, FINGERPRINT):
        return _decode_uint(value, name, 4)
    if attr_type in (ICE_CONTROLLED, ICE_CONTROLLING):
        return _decode_uint(value, name, 8)
    if attr_type == USE_CANDIDATE:
        if value:
            raise ParseError(f"USE-CANDIDATE: {len(value)} bytes, must be empty")
        return None
    if attr_type == CHANNEL_NUMBER:
        if len(value) != 4:
            raise ParseError(f"CHANNEL-NUMBER: {len(value)} bytes, must be 4")
        return int.from_bytes(value[:2], "big")
    if attr_type == MESSAGE_INTEGRITY:
        if len(value) != INTEGRITY_SIZE_BYTES:
            raise ParseError(f"MESSAGE-INTEGRITY: {len(value)} bytes, must be {INTEGRITY_SIZE_BYTES}")
        return bytes(value)
    if attr_type == DATA:
        return bytes(value)
    if attr_type == ERROR_CODE:
        if len(value) < 4:
            raise ParseError(f"ERROR-CODE: {len(value)} bytes, at least 4")
        cls, number = value[2] & 0x07, value[3]
        if not 3 <= cls <= 6 or number > 99:
            raise ParseError(f"ERROR-CODE: class {cls} number {number}, need class 3..6 and number 0..99")
        return cls * 100 + number, _decode_text(value[4:], name)
    if attr_type == UNKNOWN_ATTRIBUTES:
        if len(value) % 2:
            raise ParseError(f"UNKNOWN-ATTRIBUTES: {len(value)} bytes, must be a multiple of 2")
        return tuple(int.from_bytes(value[i : i + 2], "big") for i in range(0, len(value), 2))
    raise AssertionError(name)  # pragma: no cover - ATTRIBUTE_NAMES and this function agree


# --- integrity and fingerprint -----------------------------------------------------------


def _with_length(prefix: bytes, length_bytes: int) -> bytes:
    return prefix[:2] + struct.pack("!H", length_bytes) + prefix[4:]


def compute_integrity(prefix: bytes, key: bytes) -> bytes:
    """MESSAGE-INTEGRITY for a message whose bytes before the attribute are ``prefix`` (RFC 8489 section 14.5).

    The HMAC-SHA1 covers ``prefix`` with its length field set to include the 24-byte
    MESSAGE-INTEGRITY attribute (header 4 + value 20), as if it ended the message.
    """
    length = len(prefix) - HEADER_SIZE_BYTES + 4 + INTEGRITY_SIZE_BYTES
    return hmac.new(key, _with_length(prefix, length), "sha1").digest()


def compute_fingerprint(prefix: bytes) -> int:
    """FINGERPRINT for a message whose bytes before the attribute are ``prefix`` (RFC 8489 section 14.7).

    CRC-32 (as in ``binascii.crc32``) over ``prefix`` with its length field set to include the
    8-byte FINGERPRINT attribute, XOR-ed with 0x5354554E.
    """
    length = len(prefix) - HEADER_SIZE_BYTES + 8
    return binascii.crc32(_with_length(prefix, length)) ^ FINGERPRINT_XOR


# --- the message -------------------------------------------------------------------------


@dataclass
class StunMessage:
    """One STUN message: method, class, transaction id and its attributes in order.

    ``attributes`` maps RFC attribute names to values (see :func:`encode_attribute_value`);
    dict order is wire order.  MESSAGE-INTEGRITY and FINGERPRINT are not kept there: pass
    ``integrity_key`` / ``fingerprint`` to :meth:`encode`, and after :func:`parse_message`
    read :attr:`integrity` / :attr:`fingerprint` and call :meth:`check_integrity`.

    ``unknown_attributes`` holds, from parsing, the ``(type, value bytes)`` of attributes
    this codec does not know (RFC 8489 section 6.3: comprehension-optional ones are
    ignored; :meth:`unknown_comprehension_required` lists the ones that make a request fail
    with 420, see :func:`unknown_attributes_error`).
    """

    method: int
    message_class: StunClass
    transaction_id: bytes
    attributes: dict[str, Any] = field(default_factory=dict)
    unknown_attributes: list[tuple[int, bytes]] = field(default_factory=list)
    integrity: bytes | None = None
    fingerprint: int | None = None
    _integrity_prefix: bytes | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.transaction_id, (bytes, bytearray)) or len(self.transaction_id) != 12:
            raise ValueError(f"transaction_id must be 12 bytes, got {self.transaction_id!r}")
        self.transaction_id = bytes(self.transaction_id)
        if not isinstance(self.message_class, StunClass):
            try:
                self.message_class = StunClass(self.message_class)
            except ValueError:
                raise ValueError(
                    f"message_class must be one of {[c.name for c in StunClass]}, got {self.message_class!r}"
                ) from None
        message_type(self.method, self.message_class)  # validates method
        for name in self.attributes:
            if name in ("MESSAGE-INTEGRITY", "FINGERPRINT"):
                raise ValueError(
                    f"attributes must not hold {name}: pass integrity_key=/fingerprint= to encode()"
                )
            if name not in ATTRIBUTE_TYPES:
                raise ValueError(f"attribute name must be one of {sorted(ATTRIBUTE_TYPES)}, got {name!r}")

    def encode(
        self,
        integrity_key: bytes | None = None,
        fingerprint: bool = False,
        padding_byte: int = 0,
    ) -> bytes:
        """The message's bytes; MESSAGE-INTEGRITY (when ``integrity_key``) then FINGERPRINT last.

        ``padding_byte`` fills attribute padding: RFC 8489 section 14 lets a sender put any
        value there (receivers ignore it); 0 is the usual, RFC 5769's vectors use 0x20.
        """
        if not 0 <= padding_byte <= 255:
            raise ValueError(f"padding_byte must be in 0..255, got {padding_byte!r}")
        pad = bytes((padding_byte,)) * 3
        body = bytearray()
        for name, value in self.attributes.items():
            if name in ("MESSAGE-INTEGRITY", "FINGERPRINT"):
                raise ValueError(f"attributes must not hold {name}: pass integrity_key=/fingerprint= to encode()")
            if name not in ATTRIBUTE_TYPES:
                raise ValueError(f"attribute name must be one of {sorted(ATTRIBUTE_TYPES)}, got {name!r}")
            v = encode_attribute_value(name, value, self.transaction_id)
            if len(v) > 0xFFFF:
                raise ValueError(f"{name} value is {len(v)} bytes, at most 65535")
            body += _TL.pack(ATTRIBUTE_TYPES[name], len(v)) + v + pad[: padding_size_bytes(len(v))]
        header = _HEADER.pack(
            message_type(self.method, self.message_class), len(body), MAGIC_COOKIE, self.transaction_id
        )
        data = header + bytes(body)
        if integrity_key is not None:
            if not isinstance(integrity_key, (bytes, bytearray)):
                raise ValueError(f"integrity_key must be bytes (see short_term_key), got {integrity_key!r}")
            mac = compute_integrity(data, bytes(integrity_key))
            data = _with_length(data, len(data) - HEADER_SIZE_BYTES + 24)
            data += _TL.pack(MESSAGE_INTEGRITY, INTEGRITY_SIZE_BYTES) + mac
        if fingerprint:
            crc = compute_fingerprint(data)
            data = _with_length(data, len(data) - HEADER_SIZE_BYTES + 8)
            data += _TL.pack(FINGERPRINT, 4) + _U32.pack(crc)
        if len(data) - HEADER_SIZE_BYTES > 0xFFFF:
            raise ValueError(f"message is {len(data)} bytes, its attributes must fit in 65535")
        return data

    def __bytes__(self) -> bytes:
        return self.encode()

    def check_integrity(self, key: bytes) -> bool:
        """True when this parsed message carries MESSAGE-INTEGRITY and it matches ``key``."""
        if self.integrity is None or self._integrity_prefix is None:
            return False
        return hmac.compare_digest(self.integrity, compute_integrity(self._integrity_prefix, key))

    def unknown_comprehension_required(self) -> list[int]:
        """Unknown attribute types in 0x0000-0x7FFF (RFC 8489 sections 6.3.1 and 14)."""
        return [t for t, _ in self.unknown_attributes if t < 0x8000]

    @property
    def error_code(self) -> int | None:
        """The ERROR-CODE's number (e.g. 487), or None."""
        value = self.attributes.get("ERROR-CODE")
        return None if value is None else value[0]


def parse_message(data: bytes) -> StunMessage:
    """A :class:`StunMessage` from bytes; raises :class:`rtlib.errors.ParseError` and nothing else.

    Checks (RFC 8489 sections 5, 6.3, 14): at least 20 bytes; the top two bits zero; the
    magic cookie; the length field a multiple of 4 and equal to the bytes after the header;
    every attribute and its padding inside the message; known attributes well formed; the
    FINGERPRINT, when present, last and correct.  Attributes after MESSAGE-INTEGRITY other
    than FINGERPRINT are ignored (section 14.5).  MESSAGE-INTEGRITY itself is checked by
    :meth:`StunMessage.check_integrity`, which needs the key.
    """
    try:
        data = bytes(data)
    except TypeError:
        raise ParseError(f"STUN message must be bytes, got {type(data).__name__}") from None
    if len(data) < HEADER_SIZE_BYTES:
        raise ParseError(f"STUN message of {len(data)} bytes, the header alone is {HEADER_SIZE_BYTES}")
    mtype, length, cookie, tid = _HEADER.unpack_from(data)
    if mtype & 0xC000:
        raise ParseError("STUN message: the two most significant bits must be zero")
    if cookie != MAGIC_COOKIE:
        raise ParseError(f"STUN message: magic cookie {cookie:#010x}, must be {MAGIC_COOKIE:#010x}")
    if length % 4:
        raise ParseError(f"STUN message: length {length} is not a multiple of 4")
    if length != len(data) - HEADER_SIZE_BYTES:
        raise ParseError(f"STUN message: length field {length}, but {len(data) - HEADER_SIZE_BYTES} bytes follow")
    method, cls = split_message_type(mtype)
    msg = StunMessage.__new__(StunMessage)
    msg.method = StunMethod(method) if method in StunMethod._value2member_map_ else method
    msg.message_class = cls
    msg.transaction_id = tid
    msg.attributes = {}
    msg.unknown_attributes = []
    msg.integrity = None
    msg.fingerprint = None
    msg._integrity_prefix = None
    pos = HEADER_SIZE_BYTES
    end = len(data)
    while pos < end:
        if end - pos < 4:
            raise ParseError(f"STUN attribute header truncated at byte {pos}")
        attr_type, attr_len = _TL.unpack_from(data, pos)
        vstart = pos + 4
        vend = vstart + attr_len
        nxt = vend + padding_size_bytes(attr_len)
        if nxt > end:
            raise ParseError(f"STUN attribute {attr_type:#06x} of {attr_len} bytes runs past the message")
        value = data[vstart:vend]
        if msg.fingerprint is not None:
            raise ParseError("STUN message: an attribute follows FINGERPRINT, which must be last")
        if attr_type == FINGERPRINT:
            fp = _decode_uint(value, "FINGERPRINT", 4)
            if fp != compute_fingerprint(data[:pos]):
                raise ParseError("STUN message: FINGERPRINT does not match")
            msg.fingerprint = fp
        elif msg.integrity is not None:
            pass  # after MESSAGE-INTEGRITY: not authenticated, ignored (RFC 8489 section 14.5)
        elif attr_type == MESSAGE_INTEGRITY:
            msg.integrity = decode_attribute_value(attr_type, value, tid)
            msg._integrity_prefix = data[:pos]
        elif attr_type in ATTRIBUTE_NAMES:
            name = ATTRIBUTE_NAMES[attr_type]
            if name not in msg.attributes:  # a repeated attribute: the first counts (section 14)
                msg.attributes[name] = decode_attribute_value(attr_type, value, tid)
        else:
            msg.unknown_attributes.append((attr_type, value))
        pos = nxt
    return msg


def is_stun(data: bytes) -> bool:
    """True when ``data`` looks like STUN: first byte 0..3 (RFC 7983) and the magic cookie."""
    return (
        len(data) >= HEADER_SIZE_BYTES
        and data[0] < 4
        and int.from_bytes(data[4:8], "big") == MAGIC_COOKIE
    )


# --- the binding messages ICE uses ----------------------------------------------------------


def binding_request(
    transaction_id: bytes,
    *,
    username: str | None = None,
    priority: int | None = None,
    use_candidate: bool = False,
    ice_controlling: int | None = None,
    ice_controlled: int | None = None,
    software: str | None = None,
) -> StunMessage:
    """A Binding request; with the ICE attributes it is a connectivity check (RFC 8445 section 7.1.1).

    Attribute order: SOFTWARE, USERNAME, PRIORITY, USE-CANDIDATE, ICE-CONTROLLING,
    ICE-CONTROLLED (RFC 8489 leaves the order free except for the two protecting attributes).
    """
    if ice_controlling is not None and ice_controlled is not None:
        raise ValueError("ice_controlling and ice_controlled: give at most one (an agent has one role)")
    attrs: dict[str, Any] = {}
    if software is not None:
        attrs["SOFTWARE"] = software
    if username is not None:
        attrs["USERNAME"] = username
    if priority is not None:
        attrs["PRIORITY"] = priority
    if use_candidate:
        attrs["USE-CANDIDATE"] = None
    if ice_controlling is not None:
        attrs["ICE-CONTROLLING"] = ice_controlling
    if ice_controlled is not None:
        attrs["ICE-CONTROLLED"] = ice_controlled
    return StunMessage(StunMethod.BINDING, StunClass.REQUEST, transaction_id, attrs)


def binding_success(request: StunMessage, mapped_address: tuple[str, int]) -> StunMessage:
    """The success response to ``request``: XOR-MAPPED-ADDRESS = where the request came from (RFC 8489 section 6.3.1.1)."""
    return StunMessage(
        request.method,
        StunClass.SUCCESS_RESPONSE,
        request.transaction_id,
        {"XOR-MAPPED-ADDRESS": tuple(mapped_address)},
    )


def binding_error(request: StunMessage, code: int, reason: str | None = None) -> StunMessage:
    """An error response to ``request`` with ERROR-CODE ``code`` (RFC 8489 section 14.8)."""
    if reason is None:
        reason = ERROR_REASONS.get(code, "")
    return StunMessage(request.method, StunClass.ERROR_RESPONSE, request.transaction_id, {"ERROR-CODE": (code, reason)})


def unknown_attributes_error(request: StunMessage) -> StunMessage | None:
    """The 420 response a server owes ``request`` for its unknown comprehension-required attributes, or None.

    RFC 8489 section 6.3.1: it lists them in UNKNOWN-ATTRIBUTES (section 14.13).
    """
    unknown = request.unknown_comprehension_required()
    if not unknown or request.message_class != StunClass.REQUEST:
        return None
    msg = binding_error(request, 420)
    msg.attributes["UNKNOWN-ATTRIBUTES"] = tuple(unknown)
    return msg


__all__ = [
    "ATTRIBUTE_NAMES",
    "ATTRIBUTE_TYPES",
    "FINGERPRINT_XOR",
    "HEADER_SIZE_BYTES",
    "MAGIC_COOKIE",
    "StunClass",
    "StunMessage",
    "StunMethod",
    "binding_error",
    "binding_request",
    "binding_success",
    "compute_fingerprint",
    "compute_integrity",
    "is_stun",
    "message_type",
    "new_transaction_id",
    "parse_message",
    "short_term_key",
    "split_message_type",
    "unknown_attributes_error",
]
