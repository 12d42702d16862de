"""``kill -9`` experiments on a local IM cluster: what is acked survives, exactly once, in order.

:func:`run_chaos` starts a :class:`~rtlib.im.local_cluster.LocalCluster`, puts
``clients`` live clients on its gateways (client *i* starts on gateway *i* mod N and
moves to the next one when its connection breaks), has each of them send numbered
messages to its group conversation one after the other (each waits for its ack), and
meanwhile kills one component with SIGKILL ``kills`` times at random moments (seeded),
bringing it back after ``down_s``:

- ``"gateway"``: a random gateway process (its clients reconnect to another one);
- ``"redis"``: the bus (it comes back empty: presence is rewritten, subscriptions resumed);
- ``"postgres"``: the store (sends are refused with ``unavailable`` until it is back).

Then the senders stop, every client syncs, and the result counts, against what
PostgreSQL holds:

- ``lost``: acked messages not stored, or not delivered to a member's application;
- ``duplicates``: messages delivered twice to one application;
- ``order_errors``: a client that saw a conversation's seqs out of order;
- ``false_acks``: an ack whose seq does not hold that message in the store;
- ``outage_errors``/``outage_acks`` (``"postgres"`` only): answers to a probe ``send``
  while the store was down: an ``unavailable`` error is right, an ack would be a lie.

Used in: tests/im/test_cluster_faults.py (short runs), benchmarks/bench_im.py (long runs),
notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

from rtlib.im import protocol as P
from rtlib.im.cluster_lab import run_sync

TARGETS = ("gateway", "redis", "postgres")


class _Probe:
    """A raw, authenticated connection (opened while the store is up) that sends one
    message at a time and reports the answer: "error:<code>", "ack" or "none"."""

    async def open(self, url: str, user: str, token: str) -> "_Probe":
        from websockets.asyncio.client import connect

        self.ws = await connect(url, open_timeout=5)
        await self.ws.send(json.dumps({"type": "auth", "user": user, "token": token, "device": "probe"}))
        first = json.loads(await asyncio.wait_for(self.ws.recv(), 5))
        if first.get("type") != "auth_ok":
            raise RuntimeError(f"probe not authenticated: {first}")
        return self

    async def send(self, conv: str, cid: str, timeout_s: float = 5.0) -> str:
        try:
            await self.ws.send(json.dumps({"type": "send", "conv": conv, "cid": cid, "body": "probe"}))
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                f = json.loads(await asyncio.wait_for(self.ws.recv(), max(0.01, deadline - time.monotonic())))
                if f.get("type") == "ack" and f.get("cid") == cid:
                    return "ack"
                if f.get("type") == "error" and f.get("cid") == cid:
                    return f"error:{f.get('code')}"
        except Exception as exc:  # no answer at all
            return f"none:{type(exc).__name__}"
        return "none"

    async def close(self) -> None:
        await self.ws.close()


def run_chaos(target: str = "gateway", *, kills: int = 5, clients: int = 20, gateways: int = 3,
              group_size: int = 5, gap_s=(0.4, 1.2), down_s: float = 0.6, send_every_s: float = 0.05,
              seed: int = 0, log_dir=None) -> dict:
    """Kill ``target`` ``kills`` times while ``clients`` send; returns the counts (see the module)."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {list(TARGETS)}, got {target!r}")
    for name, v, lo, hi in (("kills", kills, 0, 1000), ("clients", clients, 2, 1000), ("gateways", gateways, 1, 32),
                            ("group_size", group_size, 2, 1000)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    if not 0 < down_s <= 60:
        raise ValueError(f"down_s must be in (0, 60] s, got {down_s}")
    from rtlib.im.local_cluster import LocalCluster

    users = [f"u{i}" for i in range(clients)]
    convs = {f"g{k}": tuple(users[k * group_size:(k + 1) * group_size])
             for k in range((clients + group_size - 1) // group_size)}
    conv_of = {u: c for c, ms in convs.items() for u in ms}
    convs = {c: ms for c, ms in convs.items() if len(ms) >= 2}
    conv_of = {u: c for u, c in conv_of.items() if c in convs}
    rng = random.Random(seed)
    cl = LocalCluster(gateways, log_dir=log_dir)
    try:
        tokens = cl.setup(users, convs)
        cl.start()
        t0 = time.monotonic()
        res = run_sync(_run(cl, target, kills, users, tokens, conv_of, rng, gap_s, down_s, send_every_s))
        res["wall_s"] = time.monotonic() - t0
        res["store_messages"] = _count(cl.store)
    finally:
        cl.stop()
    return res


def _count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as db:
        return db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]


async def _run(cl, target, kills, users, tokens, conv_of, rng, gap_s, down_s, send_every_s) -> dict:
    from rtlib.im.live import IMClient

    urls = cl.urls
    n = len(urls)
    cs = [IMClient(urls[i % n:] + urls[:i % n], u, tokens[u], device="d", reconnect_s=0.1)
          for i, u in enumerate(users) if u in conv_of]
    for c in cs:
        await c.connect()
    await asyncio.sleep(2 * 0.5)  # two lease renewals: every gateway knows where everyone is
    acked: dict[str, tuple] = {}  # cid -> (conv, seq, body)
    stop = asyncio.Event()
    send_errors = []

    async def sender(c):
        conv, k = conv_of[c.user], 0
        while not stop.is_set():
            body = f"{c.user}:{k}"
            try:
                a = await c.send(conv, body, timeout_s=60)
                acked[a["cid"]] = (conv, a["seq"], body)
            except Exception as exc:  # a final refusal (never expected here): counted
                send_errors.append(repr(exc))
            k += 1
            await asyncio.sleep(send_every_s * (0.5 + rng.random()))

    tasks = [asyncio.create_task(sender(c)) for c in cs]
    probes = []
    probe = await _Probe().open(urls[0], users[0], tokens[users[0]]) if target == "postgres" else None
    killed = []
    for _ in range(kills):
        await asyncio.sleep(rng.uniform(*gap_s))
        if target == "gateway":
            i = rng.randrange(n)
            g = cl.gateways[i]
            await asyncio.to_thread(g.kill)
            killed.append(i)
            await asyncio.sleep(down_s)
            await asyncio.to_thread(g.start)
        elif target == "redis":
            await asyncio.to_thread(cl.redis.kill)
            killed.append("redis")
            await asyncio.sleep(down_s)
            await asyncio.to_thread(cl.redis.start)
        else:
            await asyncio.to_thread(cl.postgres.kill)
            killed.append("postgres")
            probes.append(await probe.send(conv_of[users[0]], f"probe-{len(probes)}-{rng.randrange(10**9)}"))
            await asyncio.sleep(down_s)
            await asyncio.to_thread(cl.postgres.start)
    await asyncio.sleep(rng.uniform(*gap_s))
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 90)
    # Everyone pulls what the live path may not have brought.
    import psycopg

    with psycopg.connect(cl.store) as db:
        last = dict(db.execute("SELECT name, last_seq FROM conversations").fetchall())
        stored = {(conv, seq): (cid, body) for conv, seq, cid, body in db.execute(
            "SELECT c.name, m.seq, m.cid, m.body FROM messages m JOIN conversations c ON c.id = m.conv_id")}
    for c in cs:
        await c.sync()
    deadline = time.monotonic() + 30
    for c in cs:
        conv = conv_of[c.user]
        try:
            await c.wait_for(lambda cc: len({m["seq"] for m in cc.messages if m["conv"] == conv}) >= last.get(conv, 0),
                             max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            pass
    false_acks = sum(1 for cid, (conv, seq, body) in acked.items() if stored.get((conv, seq)) != (cid, body))
    lost = duplicates = order_errors = 0
    probe_cids = {cid for (_, _), (cid, _) in stored.items() if cid.startswith("probe-")}
    for c in cs:
        conv = conv_of[c.user]
        got = [m for m in c.messages if m["conv"] == conv]
        seqs = [m["seq"] for m in got]
        duplicates += len(seqs) - len(set(seqs))
        order_errors += sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
        have = {(m["cid"]) for m in got}
        lost += sum(1 for cid, (cv, _, _) in acked.items() if cv == conv and cid not in have)
    for c in cs:
        await c.close()
    if probe is not None:
        await probe.close()
    ok_probes = sum(p == "error:" + P.UNAVAILABLE for p in probes)
    return {"target": target, "kills": len(killed), "clients": len(cs), "acked": len(acked),
            "lost": lost, "duplicates": duplicates, "order_errors": order_errors, "false_acks": false_acks,
            "send_errors": len(send_errors), "probes": probes, "outage_errors": ok_probes,
            "outage_acks": sum(p == "ack" for p in probes), "probe_messages_stored": len(probe_cids),
            "reconnections": sum(c.connections - 1 for c in cs)}
