"""pcap files of RTP/RTCP datagrams as a receiver saw them, written with dpkt.

Each datagram becomes Ethernet / IPv4 / UDP built from dpkt's packet classes (which
compute lengths and checksums), stamped with its *arrival* time, so Wireshark's RTP
stream analysis (Telephony → RTP → RTP Streams) measures the same loss and jitter as
:class:`rtlib.rtp.stats.SourceStats`.  RTP goes to UDP port 5004 and RTCP to 5005
(RFC 3550 11: RTCP on the RTP port + 1) by default.

Used in: notebooks/05_rtp_rtcp.ipynb (open the capture in Wireshark),
``python -m rtlib call --pcap``.
"""

from __future__ import annotations

import ipaddress
from decimal import Decimal
import math
from pathlib import Path
from typing import Iterable

import dpkt

from rtlib.rtp.packet import is_rtcp
from rtlib.rtp.stats import DEFAULT_EPOCH_S

RTP_PORT = 5004


def _ip(addr: str) -> bytes:
    try:
        return ipaddress.IPv4Address(addr).packed
    except ValueError:
        raise ValueError(f"address must be an IPv4 address like '127.0.0.1', got {addr!r}") from None


def _port(name: str, port: int) -> int:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"{name} must be an integer in [1, 65535], got {port!r}")
    return port


def udp_frame(payload: bytes, *, src: str = "127.0.0.1", dst: str = "127.0.0.2", sport: int = RTP_PORT,
              dport: int = RTP_PORT) -> bytes:
    """One Ethernet/IPv4/UDP frame around ``payload`` (dpkt fills lengths and checksums)."""
    udp = dpkt.udp.UDP(sport=_port("sport", sport), dport=_port("dport", dport), data=bytes(payload))
    udp.ulen = 8 + len(payload)
    ip = dpkt.ip.IP(src=_ip(src), dst=_ip(dst), p=dpkt.ip.IP_PROTO_UDP, ttl=64, data=udp)
    eth = dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x01", dst=b"\x02\x00\x00\x00\x00\x02",
                                 type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    return bytes(eth)


def write_pcap(path: str | Path, datagrams: Iterable[tuple[float, bytes]], *, epoch_s: float = DEFAULT_EPOCH_S,
               src: str = "127.0.0.1", dst: str = "127.0.0.2", rtp_port: int = RTP_PORT,
               rtcp_port: int | None = None) -> int:
    """Write ``(arrival_s, datagram)`` pairs to a pcap file; returns the number written.

    ``arrival_s`` is virtual time; the capture's timestamps are ``epoch_s + arrival_s``
    (Unix seconds).  RTP datagrams use ``rtp_port`` on both ends; RTCP ones (told
    apart as in RFC 5761) ``rtcp_port`` (default ``rtp_port + 1``).  Datagrams are
    written in arrival order, as a capture would see them.
    """
    rtp_port = _port("rtp_port", rtp_port)
    rtcp_port = _port("rtcp_port", rtp_port + 1 if rtcp_port is None else rtcp_port)
    rows = sorted(((float(t), bytes(d)) for t, d in datagrams), key=lambda r: r[0])
    for t, _ in rows:
        if not math.isfinite(t):
            raise ValueError(f"arrival times must be finite seconds (drop lost packets first), got {t!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        writer = dpkt.pcap.Writer(f, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB, nano=True)
        epoch_ns = round(epoch_s * 1e9)
        for t, d in rows:
            port = rtcp_port if is_rtcp(d) else rtp_port
            # exact nanoseconds: a float sum near 1.7e9 s would blur them to ~0.2 µs
            ts = Decimal(epoch_ns + round(t * 1e9)) / Decimal(1_000_000_000)
            writer.writepkt(udp_frame(d, src=src, dst=dst, sport=port, dport=port), ts=ts)
    return len(rows)


def read_pcap(path: str | Path, *, epoch_s: float = DEFAULT_EPOCH_S) -> list[tuple[float, int, bytes]]:
    """``(arrival_s, udp_dport, payload)`` for every UDP datagram in a pcap written here."""
    out = []
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.udp.UDP):
                t = Decimal(ts) - Decimal(round(epoch_s * 1e9)) / Decimal(1_000_000_000)
                out.append((float(t), ip.data.dport, bytes(ip.data.data)))
    return out


__all__ = ["RTP_PORT", "read_pcap", "udp_frame", "write_pcap"]
