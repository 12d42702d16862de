"""What a TURN relay (RFC 8656) costs: delay, relay bandwidth, bytes per packet.

When ICE finds no direct pair (two address-and-port-dependent NATs, see
:func:`rtlib.conf.ice.pair_table`), media goes through a TURN server's relayed address::

    client ──(client_to_relay_ms, wrapped)──▶ TURN server ──(relay_to_peer_ms, plain UDP)──▶ peer
           ◀─────────────────────────────────              ◀──────────────────────────────

Between client and server each datagram is wrapped in one of two ways:

* a **Send indication** (client to server) / **Data indication** (server to client),
  RFC 8656 section 11: a whole STUN message, 20-byte header + XOR-PEER-ADDRESS (4 + 8
  bytes for an IPv4 peer, 4 + 20 for IPv6) + DATA (4 bytes + the datagram, padded to a
  multiple of 4), and optionally FINGERPRINT (8);
* a **ChannelData** message, RFC 8656 section 12 (12.4 for its format), once the client has
  bound a channel number (0x4000-0x4FFF) to the peer: a 4-byte header (channel number,
  length) + the datagram, padded to a multiple of 4 only over TCP/TLS (section 12.5:
  over UDP the padding is not required).

The leg between server and peer carries the bare datagram.  So :func:`turn_cost`
returns, in closed form, the extra one-way delay of the relayed path over the direct
one, the relay's ingress and egress (each stream enters once and leaves once), and the
per-packet overhead of either wrapping.  A pair where *both* agents relay (relay/relay)
pays twice: call it once per relay.

Used in: notebooks/10_many_participants.ipynb (what TURN costs, next to the NAT pairs table).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

from rtlib.errors import ParseError

STUN_HEADER_BYTES = 20  # RFC 8489 section 5
ATTRIBUTE_HEADER_BYTES = 4  # type + length, RFC 8489 section 14
XOR_PEER_ADDRESS_VALUE_BYTES = {4: 8, 6: 20}  # RFC 8656 section 18.3 / RFC 8489 section 14.2
FINGERPRINT_ATTRIBUTE_BYTES = 8  # RFC 8489 section 14.7
CHANNEL_DATA_HEADER_BYTES = 4  # RFC 8656 section 12.4
CHANNEL_NUMBER_RANGE = (0x4000, 0x4FFF)  # RFC 8656 section 12
IP_UDP_HEADER_BYTES = {4: 20 + 8, 6: 40 + 8}
ENCAPSULATIONS = ("channeldata", "send")
TRANSPORTS = ("udp", "tcp")


def _pad(n: int) -> int:
    return -n % 4


def _check_int(value: object, name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}")
    return value


def _check_choice(value: object, name: str, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def send_indication_overhead_bytes(payload_size_bytes: int, ip_version: int = 4, fingerprint: bool = False) -> int:
    """Bytes a Send (or Data) indication adds around a ``payload_size_bytes`` datagram (RFC 8656 section 11).

    ``20 + (4 + 8 or 20) + 4 + padding (+ 8)``: 36 bytes for an IPv4 peer and a payload that
    is a multiple of 4.

    >>> send_indication_overhead_bytes(1200), send_indication_overhead_bytes(1201, ip_version=6)
    (36, 51)
    """
    _check_int(payload_size_bytes, "payload_size_bytes", 0, 65535)
    _check_choice(ip_version, "ip_version", (4, 6))
    return (
        STUN_HEADER_BYTES
        + ATTRIBUTE_HEADER_BYTES + XOR_PEER_ADDRESS_VALUE_BYTES[ip_version]
        + ATTRIBUTE_HEADER_BYTES + _pad(payload_size_bytes)
        + (FINGERPRINT_ATTRIBUTE_BYTES if fingerprint else 0)
    )


def channel_data_overhead_bytes(payload_size_bytes: int, transport: str = "udp") -> int:
    """Bytes a ChannelData message adds (RFC 8656 section 12.4/12.5): 4, plus padding over TCP.

    >>> channel_data_overhead_bytes(1201), channel_data_overhead_bytes(1201, transport="tcp")
    (4, 7)
    """
    _check_int(payload_size_bytes, "payload_size_bytes", 0, 65535)
    _check_choice(transport, "transport", TRANSPORTS)
    return CHANNEL_DATA_HEADER_BYTES + (_pad(payload_size_bytes) if transport == "tcp" else 0)


def encode_channel_data(channel_number: int, data: bytes, transport: str = "udp") -> bytes:
    """A ChannelData message (RFC 8656 section 12.4): channel number, length, data (padded over TCP)."""
    _check_int(channel_number, "channel_number", *CHANNEL_NUMBER_RANGE)
    _check_choice(transport, "transport", TRANSPORTS)
    if not isinstance(data, (bytes, bytearray)) or len(data) > 65535:
        raise ValueError(f"data must be bytes of at most 65535, got {type(data).__name__}")
    pad = bytes(_pad(len(data))) if transport == "tcp" else b""
    return struct.pack("!HH", channel_number, len(data)) + bytes(data) + pad


def parse_channel_data(message: bytes) -> tuple[int, bytes]:
    """``(channel number, data)`` of a ChannelData message; raises :class:`rtlib.errors.ParseError`.

    The first two bits 0b01 (channel numbers 0x4000-0x7FFF) tell ChannelData from STUN
    (0b00) on the same port (RFC 8656 section 12, RFC 7983).  Trailing padding is allowed.
    """
    if len(message) < CHANNEL_DATA_HEADER_BYTES:
        raise ParseError(f"ChannelData of {len(message)} bytes, the header alone is 4")
    channel, length = struct.unpack_from("!HH", message)
    if not CHANNEL_NUMBER_RANGE[0] <= channel <= CHANNEL_NUMBER_RANGE[1]:
        raise ParseError(f"ChannelData channel number {channel:#06x}, must be in 0x4000..0x4FFF")
    if length > len(message) - 4 or len(message) - 4 - length > 3:
        raise ParseError(f"ChannelData length {length} does not fit the {len(message) - 4} bytes after the header")
    return channel, bytes(message[4 : 4 + length])


@dataclass(frozen=True)
class TurnCost:
    """What relaying through TURN adds, per :func:`turn_cost`."""

    direct_one_way_ms: float
    relayed_one_way_ms: float
    extra_one_way_ms: float  # relayed - direct (negative when the relay is on a better route)
    extra_rtt_ms: float
    packets_per_s: float  # per stream
    channel_data_overhead_bytes: int
    send_indication_overhead_bytes: int
    overhead_bytes_per_packet: int  # of the chosen encapsulation
    overhead_bps: float  # the wrapping alone, on the client <-> relay leg, all streams
    relay_ingress_bps: float
    relay_egress_bps: float
    relay_total_bps: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def turn_cost(
    *,
    client_to_relay_ms: float,
    relay_to_peer_ms: float,
    direct_ms: float,
    bitrate_bps: float,
    packet_size_bytes: int = 1200,
    streams_to_peer: int = 1,
    streams_from_peer: int = 1,
    encapsulation: str = "channeldata",
    transport: str = "udp",
    ip_version: int = 4,
    count_ip_udp_headers: bool = True,
    relay_processing_ms: float = 0.0,
) -> TurnCost:
    """Closed-form cost of relaying one client's media through TURN (RFC 8656).

    Delay: ``relayed = client_to_relay_ms + relay_processing_ms + relay_to_peer_ms`` against
    ``direct_ms``; the extra round trip is twice the extra one way.

    Bandwidth, with ``r = bitrate_bps / (8 * packet_size_bytes)`` packets/s per stream of
    ``packet_size_bytes`` datagrams (``bitrate_bps`` counts the datagrams, e.g. RTP packets),
    ``O`` the encapsulation's overhead per packet and ``H`` the IP + UDP headers (28 bytes
    IPv4, 48 IPv6; 0 when ``count_ip_udp_headers`` is False)::

        wrapped = 8 r (P + O + H)      plain = 8 r (P + H)
        relay ingress = streams_to_peer * wrapped + streams_from_peer * plain
        relay egress  = streams_to_peer * plain   + streams_from_peer * wrapped

    Each stream enters the relay once and leaves once; only the client's leg is wrapped.
    """
    for name, value in (("client_to_relay_ms", client_to_relay_ms), ("relay_to_peer_ms", relay_to_peer_ms),
                        ("direct_ms", direct_ms), ("relay_processing_ms", relay_processing_ms)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number of milliseconds >= 0, got {value!r}")
    if isinstance(bitrate_bps, bool) or not isinstance(bitrate_bps, (int, float)) or not (
        math.isfinite(bitrate_bps) and bitrate_bps > 0
    ):
        raise ValueError(f"bitrate_bps must be a finite number > 0, got {bitrate_bps!r}")
    _check_int(packet_size_bytes, "packet_size_bytes", 1, 65535)
    _check_int(streams_to_peer, "streams_to_peer", 0)
    _check_int(streams_from_peer, "streams_from_peer", 0)
    _check_choice(encapsulation, "encapsulation", ENCAPSULATIONS)
    _check_choice(transport, "transport", TRANSPORTS)
    _check_choice(ip_version, "ip_version", (4, 6))

    relayed = client_to_relay_ms + relay_processing_ms + relay_to_peer_ms
    extra = relayed - direct_ms
    cd = channel_data_overhead_bytes(packet_size_bytes, transport)
    si = send_indication_overhead_bytes(packet_size_bytes, ip_version)
    overhead = cd if encapsulation == "channeldata" else si
    header = IP_UDP_HEADER_BYTES[ip_version] if count_ip_udp_headers else 0
    pps = bitrate_bps / (8.0 * packet_size_bytes)
    wrapped = 8.0 * pps * (packet_size_bytes + overhead + header)
    plain = 8.0 * pps * (packet_size_bytes + header)
    ingress = streams_to_peer * wrapped + streams_from_peer * plain
    egress = streams_to_peer * plain + streams_from_peer * wrapped
    return TurnCost(
        direct_one_way_ms=float(direct_ms),
        relayed_one_way_ms=float(relayed),
        extra_one_way_ms=float(extra),
        extra_rtt_ms=2.0 * extra,
        packets_per_s=pps,
        channel_data_overhead_bytes=cd,
        send_indication_overhead_bytes=si,
        overhead_bytes_per_packet=overhead,
        overhead_bps=8.0 * pps * overhead * (streams_to_peer + streams_from_peer),
        relay_ingress_bps=ingress,
        relay_egress_bps=egress,
        relay_total_bps=ingress + egress,
    )


__all__ = [
    "ENCAPSULATIONS",
    "TurnCost",
    "channel_data_overhead_bytes",
    "encode_channel_data",
    "parse_channel_data",
    "send_indication_overhead_bytes",
    "turn_cost",
]
