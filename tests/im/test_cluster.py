"""The IM cluster: gateways on Redis + PostgreSQL serve one conversation space."""

import asyncio
import time

import pytest

from rtlib.im.cluster import LEASE_S, BusLink, where_key
from rtlib.im.engines import EngineMissing, alive
from rtlib.im.live import IMClient
from rtlib.im.local_cluster import LocalCluster
from rtlib.im.server import IMServer


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        cl = LocalCluster(3, log_dir=tmp_path_factory.mktemp("gw"))
        tokens = cl.setup(["alice", "bob", "carol", "dave"],
                          {"all": ("alice", "bob", "carol", "dave"), "ab": ("alice", "bob")})
    except EngineMissing as exc:
        pytest.skip(str(exc))
    cl.start()
    yield cl, tokens
    cl.stop()


def test_group_message_crosses_gateways_once_and_in_order(cluster):
    cl, tokens = cluster
    users = ["alice", "bob", "carol", "dave"]

    async def main():
        cs = [IMClient(cl.urls[i % 3], u, tokens[u], device="t1") for i, u in enumerate(users)]
        for c in cs:
            await c.connect()
        await asyncio.sleep(1.0)  # two lease renewals: presence written everywhere
        for k in range(10):
            await cs[k % 4].send("all", f"m{k}", wait=False)
        for c in cs:
            await c.wait_for(lambda cc: len(cc.texts("all")) == 10, 10)
        out = [[(m["seq"], m["body"]) for m in c.messages if m["conv"] == "all"] for c in cs]
        for c in cs:
            await c.close()
        return out

    out = asyncio.run(main())
    for got in out:  # every member, whatever its gateway, sees the same 10 messages once, in seq order
        assert [q for q, _ in got] == sorted({q for q, _ in got}) and len(got) == 10
    assert out[0] == out[1] == out[2] == out[3]


def test_presence_registry_and_lease(cluster):
    import redis

    cl, tokens = cluster
    r = redis.Redis.from_url(cl.bus, decode_responses=True)

    async def connect():
        c = IMClient(cl.urls[2], "dave", tokens["dave"], device="lease", reconnect=False)
        await c.connect()
        await asyncio.sleep(0.8)
        return c

    async def run():
        c = await connect()
        where = r.hget(where_key("dave"), "lease")
        leased = r.zrangebyscore("im:gateways", time.time(), "+inf")
        await c.close()
        return where, leased

    where, leased = asyncio.run(run())
    assert len(leased) == 3 and where in leased
    # kill -9 the gateway that holds dave: its lease runs out, nobody deletes it for it
    g = cl.gateways[2]
    asyncio.run(_connect_and_kill(cl, tokens, g))
    deadline = time.time() + LEASE_S + 2
    while time.time() < deadline and where in r.zrangebyscore("im:gateways", time.time(), "+inf"):
        time.sleep(0.2)
    gone_after_s = LEASE_S + 2 - (deadline - time.time())
    assert where not in r.zrangebyscore("im:gateways", time.time(), "+inf")
    assert gone_after_s <= LEASE_S + 1.5
    g.start()


async def _connect_and_kill(cl, tokens, g):
    c = IMClient(g.url, "dave", tokens["dave"], device="lease2", reconnect=False)
    await c.connect()
    await asyncio.sleep(0.6)
    g.kill()
    await c.close()


def test_bus_needs_a_shared_store(tmp_path):
    with pytest.raises(ValueError, match="postgresql"):
        IMServer(tmp_path / "x.sqlite", port=0, bus="redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match="redis://"):
        BusLink("http://x", "gw", print)
    with pytest.raises(ValueError, match="gateways"):
        LocalCluster(0)
    with pytest.raises(ValueError, match="store"):
        LocalCluster(2, store="chat.sqlite")


def test_servers_stop_when_the_program_fails(tmp_path):
    """A notebook cell (here a script) that fails after starting a cluster leaves no server behind."""
    import json
    import subprocess
    import sys

    from rtlib.im.engines import Redis, pg_bindir

    try:
        pg_bindir(), Redis().stop()
    except EngineMissing as exc:
        pytest.skip(str(exc))
    script = tmp_path / "fails.py"
    script.write_text("import json\nfrom rtlib.im.local_cluster import LocalCluster\n"
                      "cl = LocalCluster(2)\ncl.setup(['a', 'b'], {'ab': ('a', 'b')})\ncl.start()\n"
                      "print(json.dumps(cl.pids()), flush=True)\nraise RuntimeError('a cell failed')\n")
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "a cell failed" in r.stderr
    pids = json.loads(r.stdout.splitlines()[0])
    assert len(pids) == 4
    deadline = time.time() + 10
    while time.time() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    assert not [p for p in pids if alive(p)]


def test_read_mark_crosses_gateways(cluster):
    cl, tokens = cluster

    async def main():
        a = IMClient(cl.urls[0], "alice", tokens["alice"], device="r1")
        b = IMClient(cl.urls[1], "bob", tokens["bob"], device="r1")
        await a.connect(), await b.connect()
        await asyncio.sleep(1.0)
        ack = await a.send("ab", "did you read this?")
        await b.wait_for(lambda c: "did you read this?" in c.texts("ab"), 10)
        await b.read("ab", ack["seq"])
        await a.wait_for(lambda c: any(e[0] == "read" and e[2] == "bob" for e in c.events), 10)
        ev = [e for e in a.events if e[0] == "read" and e[2] == "bob"]
        await a.close(), await b.close()
        return ev, ack["seq"]

    ev, seq = asyncio.run(main())
    assert ev[-1] == ("read", "ab", "bob", seq)  # bob's read mark reached alice on another gateway


def test_a_device_that_moves_gateway_replaces_its_older_connection(cluster):
    """PROTOCOL.md: a device has one connection at a time (4000), on a cluster as on one server."""
    from rtlib.im import protocol as P

    cl, tokens = cluster

    async def main():
        old = IMClient(cl.urls[0], "carol", tokens["carol"], device="phone", reconnect=False)
        await old.connect()
        await asyncio.sleep(0.3)  # its claim is written
        new = IMClient(cl.urls[1], "carol", tokens["carol"], device="phone", reconnect=False)
        await new.connect()
        t0 = time.monotonic()
        while P.CLOSE_REPLACED not in old.close_codes and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.05)
        replaced_after_s = time.monotonic() - t0
        # the new connection is the device now: a message to carol reaches it, across gateways
        bob = IMClient(cl.urls[2], "bob", tokens["bob"], device="t9", reconnect=False)
        await bob.connect()
        await asyncio.sleep(0.6)
        await bob.send("all", "to the phone on its new gateway")
        await new.wait_for(lambda c: "to the phone on its new gateway" in c.texts("all"), 10)
        # and back again: the connection on gateway 1 is the older one now
        again = IMClient(cl.urls[0], "carol", tokens["carol"], device="phone", reconnect=False)
        await again.connect()
        t0 = time.monotonic()
        while P.CLOSE_REPLACED not in new.close_codes and time.monotonic() - t0 < 5:
            await asyncio.sleep(0.05)
        codes = (list(old.close_codes), list(new.close_codes), list(again.close_codes))
        for c in (old, new, again, bob):
            await c.close()
        return replaced_after_s, codes

    replaced_after_s, (old_codes, new_codes, again_codes) = asyncio.run(main())
    assert old_codes == [P.CLOSE_REPLACED] and replaced_after_s < 2.0
    assert new_codes == [P.CLOSE_REPLACED]
    assert P.CLOSE_REPLACED not in again_codes  # the newest one stays


def _clients(cl, tokens, *where):
    """One client per (gateway index, user, device), without reconnecting."""
    return [IMClient(cl.urls[i], u, tokens[u], device=d, reconnect=False) for i, u, d in where]


def test_another_device_of_the_same_user_is_not_replaced(cluster):
    from rtlib.im import protocol as P

    cl, tokens = cluster

    async def main():
        a, b = _clients(cl, tokens, (0, "dave", "laptop"), (1, "dave", "tablet"))
        await a.connect()
        await b.connect()
        await asyncio.sleep(1.0)
        codes = (list(a.close_codes), list(b.close_codes))
        await a.close()
        await b.close()
        return codes

    a_codes, b_codes = asyncio.run(main())
    assert P.CLOSE_REPLACED not in a_codes + b_codes


def test_a_member_added_by_the_admin_reaches_every_gateway(cluster):
    """``rtlib im-admin --store postgresql://… add-member`` while the cluster runs."""
    from rtlib.im.pgstore import open_store

    cl, tokens = cluster

    async def main():
        alice, carol = _clients(cl, tokens, (0, "alice", "adm"), (1, "carol", "adm"))
        await alice.connect()
        await carol.connect()
        with open_store(cl.store) as admin:
            admin.add_member("ab", "carol")
        await asyncio.sleep(2.5 + 0.5)  # one sweep of every gateway
        await carol.send("ab", "carol in ab")  # gateway 1 knows she is a member
        await alice.wait_for(lambda c: "carol in ab" in c.texts("ab"), 10)
        await alice.send("ab", "hello carol")  # gateway 0 fans out to her on gateway 1
        await carol.wait_for(lambda c: "hello carol" in c.texts("ab"), 10)
        with open_store(cl.store) as admin:
            admin.remove_member("ab", "carol")
        await alice.close()
        await carol.close()

    asyncio.run(main())
