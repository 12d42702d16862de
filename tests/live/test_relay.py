"""The asyncio relay: real UDP sockets on 127.0.0.1, impaired both ways, changed live."""

import asyncio

import dpkt
import pytest

from rtlib.live.relay import Impairment, UdpRelay

pytestmark = pytest.mark.timeout(60)


class Peer(asyncio.DatagramProtocol):
    def __init__(self):
        self.got: list[tuple[float, bytes]] = []
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.got.append((asyncio.get_running_loop().time(), data))


async def peer():
    loop = asyncio.get_running_loop()
    _, p = await loop.create_datagram_endpoint(Peer, local_addr=("127.0.0.1", 0))
    return p


def addr(p):
    return p.transport.get_extra_info("sockname")[:2]


async def exchange(relay, a, b, n=50, gap_s=0.002):
    sent = {}
    for i in range(n):
        sent[i] = asyncio.get_running_loop().time()
        a.transport.sendto(b"A%04d" % i, ("127.0.0.1", relay.port_for_a))
        b.transport.sendto(b"B%04d" % i, ("127.0.0.1", relay.port_for_b))
        await asyncio.sleep(gap_s)
    return sent


def test_relays_both_ways_with_delay_and_counts(tmp_path):
    async def main():
        relay = await UdpRelay.start(Impairment(delay_ms=40), Impairment(delay_ms=10), pcap=str(tmp_path / "r.pcap"))
        a, b = await peer(), await peer()
        relay.connect(addr(a), addr(b))
        sent = await exchange(relay, a, b, n=20)
        await asyncio.sleep(0.15)
        fwd = [(t - sent[int(d[1:])]) * 1000 for t, d in b.got]
        back = [(t - sent[int(d[1:])]) * 1000 for t, d in a.got]
        counters = relay.counters()
        a.transport.close(), b.transport.close()
        await relay.close()
        return fwd, back, counters, [x[1] for x in b.got]

    fwd, back, counters, b_payloads = asyncio.run(main())
    assert len(fwd) == 20 and len(back) == 20
    assert min(fwd) >= 39 and min(back) >= 9
    assert b_payloads == sorted(b_payloads)  # in order
    assert counters["forward"]["packets_in"] == 20 and counters["forward"]["forwarded"] == 20
    assert counters["backward"]["bytes_forwarded"] == 20 * 5
    with open(tmp_path / "r.pcap", "rb") as f:
        rows = [dpkt.ethernet.Ethernet(buf).data.data for _, buf in dpkt.pcap.Reader(f)]
    assert len(rows) == 40 and {r.data[:1] for r in rows} == {b"A", b"B"}


def test_learns_addresses_and_ignores_strangers():
    async def main():
        relay = await UdpRelay.start()
        a, b, c = await peer(), await peer(), await peer()
        b.transport.sendto(b"hello", ("127.0.0.1", relay.port_for_b))  # B speaks first: learned
        await asyncio.sleep(0.02)
        a.transport.sendto(b"to-b", ("127.0.0.1", relay.port_for_a))
        await asyncio.sleep(0.02)
        c.transport.sendto(b"intruder", ("127.0.0.1", relay.port_for_a))
        await asyncio.sleep(0.02)
        out = relay.a_addr, relay.b_addr, relay.foreign, [d for _, d in b.got], [d for _, d in a.got]
        for p in (a, b, c):
            p.transport.close()
        await relay.close()
        return out, addr(a), addr(b)

    (a_addr, b_addr, foreign, b_got, a_got), real_a, real_b = asyncio.run(main())
    assert a_addr == real_a and b_addr == real_b
    assert foreign == 1 and b_got == [b"to-b"]
    assert a_got == []  # B spoke before A was known: nowhere to deliver it


def test_live_changes_loss_and_outage():
    async def main():
        relay = await UdpRelay.start(seed=1)
        a, b = await peer(), await peer()
        relay.connect(addr(a), addr(b))
        await exchange(relay, a, b, n=50, gap_s=0.0005)
        relay.forward.loss = 0.5
        relay.set("backward", outage=True)
        await exchange(relay, a, b, n=200, gap_s=0.0005)
        with pytest.raises(ValueError, match="direction"):
            relay.set("sideways", loss=0.1)
        with pytest.raises(ValueError, match="loss"):
            relay.set("both", loss=3)
        await asyncio.sleep(0.05)
        c = relay.counters()
        a.transport.close(), b.transport.close()
        await relay.close()
        return c

    c = asyncio.run(main())
    assert c["forward"]["packets_in"] == 250 and 60 <= c["forward"]["dropped_loss"] <= 140
    assert c["backward"]["dropped_outage"] == 200 and c["backward"]["forwarded"] == 50


def test_close_cancels_pending_and_leaves_no_tasks():
    async def main():
        relay = await UdpRelay.start(Impairment(delay_ms=5000))
        a, b = await peer(), await peer()
        relay.connect(addr(a), addr(b))
        await exchange(relay, a, b, n=10, gap_s=0)
        await asyncio.sleep(0.01)
        pending = relay.pending
        a.transport.close(), b.transport.close()
        await relay.close()
        await relay.close()  # idempotent
        return pending, relay.pending, [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    pending, after, tasks = asyncio.run(main())
    assert pending == 10 and after == 0 and tasks == []


def test_bad_arguments():
    async def main():
        with pytest.raises(ValueError, match="forward must be an Impairment"):
            await UdpRelay.start(forward={"delay_ms": 3})
        relay = await UdpRelay.start()
        with pytest.raises(ValueError, match="loopback"):
            relay.connect(("10.0.0.1", 5000), ("127.0.0.1", 5001))
        await relay.close()

    asyncio.run(main())


@pytest.mark.parametrize("reorder", [False, True])
def test_jitter_reorders_only_when_asked(reorder):
    async def main():
        relay = await UdpRelay.start(Impairment(delay_ms=5, jitter_ms=20, reorder=reorder), seed=4)
        a, b = await peer(), await peer()
        relay.connect(addr(a), addr(b))
        for i in range(200):
            a.transport.sendto(b"%05d" % i, ("127.0.0.1", relay.port_for_a))
            if i % 20 == 0:
                await asyncio.sleep(0.001)
        await asyncio.sleep(0.3)
        got = [int(d) for _, d in b.got]
        a.transport.close(), b.transport.close()
        await relay.close()
        return got

    got = asyncio.run(main())
    assert sorted(got) == list(range(200))
    assert (got == sorted(got)) is (not reorder)
