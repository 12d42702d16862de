"""An impairment relay on 127.0.0.1: every datagram of a call goes through it, impaired.

No root and nothing touched outside this process: the relay is two UDP sockets on
loopback.  Peer A is told that B lives at ``relay.port_for_a``; peer B that A lives at
``relay.port_for_b``.  A datagram from A reaching ``port_for_a`` is impaired in the
*forward* direction and sent from ``port_for_b`` to B; one from B reaching
``port_for_b`` goes *backward*, from ``port_for_a`` to A::

    A ──► [port_for_a] ── forward Impairment ──► [port_for_b] ──► B
    A ◄── [port_for_a] ◄── backward Impairment ── [port_for_b] ◄── B

So each peer sees one 5-tuple, as behind a NAT (RFC 8445 section 2: ICE connectivity
checks then simply succeed on the relay's address).  A's and B's addresses are
learned from the first datagram each sends, or set with :meth:`UdpRelay.connect`;
after that, datagrams from any other address are ignored (counted in ``foreign``),
and the relay never sends anywhere but to those two loopback addresses.

The fate of each datagram is decided by the sans-IO
:class:`rtlib.live.impair.ImpairedDirection` (chapter 04's path model); this module
is only the asyncio shell: receive, ask, queue the datagram until its departure
(one heap and one ``loop.call_at`` timer per direction, ties kept in arrival order),
send.
``relay.forward`` and ``relay.backward`` are the live :class:`Impairment` objects:
change them while the call runs (``relay.forward.loss = 0.2``).

``pcap=`` writes every datagram the relay forwarded, with the real addresses and
ports of its last hop (relay → peer) and the wall-clock time it left, so tshark
decodes STUN, DTLS and SRTP (aiortc) or RTP/RTCP (rtlib) in it.

Used in: notebooks/12_live_call.ipynb, :mod:`rtlib.live.aiortc_call`,
``python -m rtlib live-call``.
"""

from __future__ import annotations

import asyncio
import heapq
import ipaddress
import time
from decimal import Decimal

import dpkt

from rtlib.live.impair import DirectionCounters, ImpairedDirection, Impairment
from rtlib.live.loopback import LOOPBACK_HOST as HOST
from rtlib.rtp.pcap import udp_frame

_CLOCK_RESOLUTION_S = time.get_clock_info("monotonic").resolution
DIRECTIONS = ("forward", "backward")


def _check_loopback(addr, name: str) -> tuple[str, int]:
    try:
        host, port = addr
        ok = ipaddress.ip_address(host).is_loopback and isinstance(port, int) and 1 <= port <= 65535
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a loopback (host, port) pair like ('127.0.0.1', 5000), got {addr!r}")
    return str(host), int(port)


class _Side(asyncio.DatagramProtocol):
    def __init__(self, relay: "UdpRelay", side: str):
        self.relay, self.side = relay, side
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.relay._received(self.side, data, addr)

    def error_received(self, exc):  # e.g. ICMP port unreachable after a peer closed
        self.relay.errors += 1


class _PcapSink:
    """Streams forwarded datagrams into a pcap file (Ethernet/IPv4/UDP frames from rtlib.rtp.pcap)."""

    def __init__(self, path: str):
        self._f = open(path, "wb")
        self._w = dpkt.pcap.Writer(self._f, snaplen=65535, linktype=dpkt.pcap.DLT_EN10MB, nano=True)
        self.count = 0

    def write(self, wall_s: float, data: bytes, src: tuple[str, int], dst: tuple[str, int]) -> None:
        ts = Decimal(round(wall_s * 1e9)) / Decimal(1_000_000_000)
        self._w.writepkt(udp_frame(data, src=src[0], dst=dst[0], sport=src[1], dport=dst[1]), ts=ts)
        self.count += 1

    def close(self) -> None:
        self._f.close()


class UdpRelay:
    """Two UDP sockets on 127.0.0.1 with an impaired path between them; create with :meth:`start`.

    Attributes: ``port_for_a`` / ``port_for_b`` (where A / B send), ``forward`` /
    ``backward`` (the live :class:`Impairment` of A→B / B→A), ``a_addr`` / ``b_addr``,
    :meth:`counters` per direction, ``foreign`` (datagrams from unknown addresses).
    """

    def __init__(self, forward: Impairment | None, backward: Impairment | None, seed: int):
        self._dirs = {"forward": ImpairedDirection(forward, seed=seed, stream="forward"),
                      "backward": ImpairedDirection(backward, seed=seed, stream="backward")}
        self._sides: dict[str, _Side] = {}
        self.port_for_a = self.port_for_b = 0
        self.a_addr: tuple[str, int] | None = None
        self.b_addr: tuple[str, int] | None = None
        self.foreign = 0
        self.errors = 0
        self._queues: dict[str, list] = {d: [] for d in DIRECTIONS}
        self._timer: dict[str, asyncio.TimerHandle | None] = {d: None for d in DIRECTIONS}
        self._seq = 0
        self._pcap: _PcapSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        # wall clock = monotonic + offset, for the pcap timestamps
        self._wall_offset_s = 0.0

    @classmethod
    async def start(cls, forward: Impairment | None = None, backward: Impairment | None = None, seed: int = 0,
                    pcap: str | None = None) -> "UdpRelay":
        """Bind both sockets on 127.0.0.1 (ports chosen by the system) and start relaying."""
        for name, imp in (("forward", forward), ("backward", backward)):
            if imp is not None and not isinstance(imp, Impairment):
                raise ValueError(f"{name} must be an Impairment or None, got {type(imp).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ValueError(f"seed must be an integer, got {seed!r}")
        self = cls(forward, backward, seed)
        self._loop = loop = asyncio.get_running_loop()
        self._wall_offset_s = time.time() - loop.time()
        try:
            for side in ("a", "b"):
                _, proto = await loop.create_datagram_endpoint(lambda s=side: _Side(self, s), local_addr=(HOST, 0))
                self._sides[side] = proto
            self.port_for_a = self._sides["a"].transport.get_extra_info("sockname")[1]
            self.port_for_b = self._sides["b"].transport.get_extra_info("sockname")[1]
            if pcap is not None:
                self._pcap = _PcapSink(str(pcap))
        except BaseException:
            await self.close()
            raise
        return self

    # -- the live knobs -------------------------------------------------------------------
    @property
    def forward(self) -> Impairment:
        """A→B impairment (change its attributes while the call runs)."""
        return self._dirs["forward"].impairment

    @property
    def backward(self) -> Impairment:
        """B→A impairment."""
        return self._dirs["backward"].impairment

    def set(self, direction: str, **params) -> Impairment:
        """Change parameters of ``direction`` ("forward", "backward" or "both"), validated together."""
        if direction == "both":
            for d in DIRECTIONS:
                Impairment(**{**self._dirs[d].impairment.to_dict(), **params})  # check both before changing either
            for d in DIRECTIONS:
                self._dirs[d].set(**params)
            return self.forward
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'forward', 'backward' or 'both', got {direction!r}")
        return self._dirs[direction].set(**params)

    def counters(self, direction: str | None = None) -> dict:
        """Counters of one direction, or ``{"forward": {...}, "backward": {...}}``."""
        if direction is None:
            return {d: self._dirs[d].counters.to_dict() for d in DIRECTIONS}
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'forward' or 'backward', got {direction!r}")
        return self._dirs[direction].counters.to_dict()

    def counters_of(self, direction: str) -> DirectionCounters:
        return self._dirs[direction].counters

    def connect(self, a_addr: tuple[str, int], b_addr: tuple[str, int]) -> None:
        """Set both peers' addresses now instead of learning them from their first datagram."""
        self.a_addr = _check_loopback(a_addr, "a_addr")
        self.b_addr = _check_loopback(b_addr, "b_addr")

    @property
    def pending(self) -> int:
        """Datagrams scheduled to leave and not yet sent."""
        return sum(len(q) for q in self._queues.values())

    # -- the shell ------------------------------------------------------------------------
    def _received(self, side: str, data: bytes, addr) -> None:
        if self._closed:
            return
        addr = (addr[0], addr[1])
        known = self.a_addr if side == "a" else self.b_addr
        if known is None:
            try:
                known = _check_loopback(addr, "source")
            except ValueError:
                self.foreign += 1
                return
            if side == "a":
                self.a_addr = known
            else:
                self.b_addr = known
        elif addr != known:
            self.foreign += 1
            return
        direction = "forward" if side == "a" else "backward"
        now_s = self._loop.time()
        decision = self._dirs[direction].decide(now_s, len(data))
        if not decision.forwarded:
            return
        out_side = "b" if side == "a" else "a"
        queue = self._queues[direction]
        if decision.depart_s <= now_s and not queue:
            self._send(direction, out_side, data)
            return
        # one heap and one timer per direction; the sequence number keeps equal departure
        # times in arrival order (asyncio's timer heap would not), so "no reordering" holds
        self._seq += 1
        heapq.heappush(queue, (decision.depart_s, self._seq, out_side, data))
        timer = self._timer[direction]
        if timer is None or decision.depart_s < timer.when():
            if timer is not None:
                timer.cancel()
            self._timer[direction] = self._loop.call_at(queue[0][0], self._due, direction)

    def _due(self, direction: str) -> None:
        self._timer[direction] = None
        if self._closed:
            return
        queue = self._queues[direction]
        horizon_s = self._loop.time() + _CLOCK_RESOLUTION_S  # asyncio fires timers this early
        while queue and queue[0][0] <= horizon_s:
            _, _, out_side, data = heapq.heappop(queue)
            self._send(direction, out_side, data)
        if queue:
            self._timer[direction] = self._loop.call_at(queue[0][0], self._due, direction)

    def _send(self, direction: str, out_side: str, data: bytes) -> None:
        if self._closed:
            return
        dst = self.b_addr if out_side == "b" else self.a_addr
        proto = self._sides.get(out_side)
        if dst is None or proto is None or proto.transport is None or proto.transport.is_closing():
            return  # the far peer has not spoken yet: nowhere to deliver (counted as not forwarded)
        proto.transport.sendto(data, dst)
        self._dirs[direction].sent(len(data))
        if self._pcap is not None:
            port = self.port_for_b if out_side == "b" else self.port_for_a
            self._pcap.write(self._loop.time() + self._wall_offset_s, data, (HOST, port), dst)

    async def close(self) -> None:
        """Cancel every scheduled departure, close both sockets and the pcap file."""
        if self._closed:
            return
        self._closed = True
        for d in DIRECTIONS:
            if self._timer[d] is not None:
                self._timer[d].cancel()
                self._timer[d] = None
            self._queues[d].clear()
        for proto in self._sides.values():
            if proto.transport is not None:
                proto.transport.close()
        if self._sides:
            await asyncio.sleep(0)  # let the transports run their connection_lost callbacks
        if self._pcap is not None:
            self._pcap.close()

    async def __aenter__(self) -> "UdpRelay":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (f"<UdpRelay a:{self.port_for_a} b:{self.port_for_b} forward={self.counters('forward')} "
                f"backward={self.counters('backward')}>")


__all__ = ["HOST", "Impairment", "UdpRelay"]
