"""Experiments on a running local IM cluster, for chapter 03's "a cluster on your laptop".

- :func:`group_fanout`: clients spread over the gateways, one group message, who got it
  through which gateway and how fast;
- :func:`kill_gateway_midstream`: ``kill -9`` of one gateway while everyone sends; its
  clients reconnect to another gateway and ``sync``; counts of acked, lost, duplicated;
- :func:`scaling`: closed-loop load (each client keeps a window of sends in flight) on
  the first 1, 2, 3 gateways: acked msg/s, ack p99, and the CPU time each component
  spent per message (from ``/proc``), which gives the model of where the curve goes on
  more cores and machines (:func:`capacity_model`).

Every server is one :class:`~rtlib.im.local_cluster.LocalCluster` the notebook starts
and stops.  Used in: notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time

import numpy as np

from rtlib.im.engines import _children

_TICK_S = os.sysconf("SC_CLK_TCK")


def run_sync(coro):
    """Run ``coro`` to completion, also from a notebook (whose event loop is already
    running): then in a thread of its own, with its own loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def cpu_s(pid: int, with_children: bool = False) -> float:
    """CPU seconds (user + system) used so far by ``pid`` (and its live children)."""
    pids = [pid] + (_children(pid) if with_children else [])
    total = 0.0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK_S
        except OSError:
            pass
    return total


async def _open(url, user, token, device="lab"):
    from websockets.asyncio.client import connect

    ws = await connect(url, compression=None, max_size=2**20, ping_interval=None)
    await ws.send(json.dumps({"type": "auth", "user": user, "token": token, "device": device}))
    hello = json.loads(await ws.recv())
    if hello.get("type") != "auth_ok":
        raise RuntimeError(f"{user}: not authenticated: {hello}")
    return ws


def group_fanout(urls, tokens: dict, conv: str, members) -> dict:
    """``members[i]`` connects to ``urls[i % N]``; the first sends one message to ``conv``.
    Returns, per member, its gateway index and the ms until the ``msg`` arrived (None
    for the sender, which gets an ``ack``)."""

    async def main():
        wss = [await _open(urls[i % len(urls)], u, tokens[u]) for i, u in enumerate(members)]
        await asyncio.sleep(1.0)  # two lease renewals: presence is written everywhere
        t0 = time.perf_counter()
        cid = "fan-" + secrets.token_hex(4)
        await wss[0].send(json.dumps({"type": "send", "conv": conv, "cid": cid, "body": "hello, everyone"}))
        got = {}

        async def wait(i, ws):
            while True:
                f = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if f.get("cid") == cid and f["type"] in ("msg", "ack"):
                    got[members[i]] = {"gateway": i % len(urls), "kind": f["type"], "seq": f["seq"],
                                       "ms": (time.perf_counter() - t0) * 1000}
                    return

        await asyncio.gather(*(wait(i, ws) for i, ws in enumerate(wss)))
        for ws in wss:
            await ws.close()
        return got

    return run_sync(main())


def kill_gateway_midstream(cluster, tokens: dict, conv: str, members, *, victim: int = 0, messages: int = 30,
                           kill_after: int = 10, every_s: float = 0.03) -> dict:
    """Every member sends ``messages`` numbered messages to ``conv``; after ``kill_after`` of
    them, gateway ``victim`` gets ``kill -9`` (and is started again at the end).  Members
    use :class:`~rtlib.im.live.IMClient`, which reconnects to the next gateway and syncs."""
    from rtlib.im.live import IMClient

    urls = cluster.urls
    n = len(urls)

    async def main():
        cs = [IMClient(urls[i % n:] + urls[:i % n], u, tokens[u], device="lab-kill", reconnect_s=0.1)
              for i, u in enumerate(members)]
        for c in cs:
            await c.connect()
        await asyncio.sleep(1.0)
        acked = {}
        on_victim = [c.user for c in cs if c.url == urls[victim]]
        killed = asyncio.Event()

        async def sender(c):
            for k in range(messages):
                if k == kill_after and c is cs[0]:
                    await asyncio.to_thread(cluster.gateways[victim].kill)
                    killed.set()
                a = await c.send(conv, f"{c.user}:{k}", timeout_s=60)
                acked[a["cid"]] = a["seq"]
                await asyncio.sleep(every_s)

        t0 = time.perf_counter()
        await asyncio.gather(*(sender(c) for c in cs))
        for c in cs:
            await c.sync(conv)
        total = len(acked)
        for c in cs:
            await c.wait_for(lambda cc: len({m["seq"] for m in cc.messages if m["conv"] == conv}) >= total, 20)
        elapsed = time.perf_counter() - t0
        res = {"acked": total, "elapsed_s": elapsed, "on_victim": on_victim,
               "moved_to": {c.user: urls.index(c.url) for c in cs if c.user in on_victim},
               "lost": 0, "duplicates": 0, "out_of_order": 0, "reconnections": {}}
        for c in cs:
            seqs = [m["seq"] for m in c.messages if m["conv"] == conv]
            cids = {m["cid"] for m in c.messages if m["conv"] == conv}
            res["lost"] += sum(1 for cid in acked if cid not in cids)
            res["duplicates"] += len(seqs) - len(set(seqs))
            res["out_of_order"] += sum(1 for a, b in zip(seqs, seqs[1:]) if b <= a)
            res["reconnections"][c.user] = c.connections - 1
        for c in cs:
            await c.close()
        return res

    try:
        return run_sync(main())
    finally:
        g = cluster.gateways[victim]
        if not g.running():
            g.start()


def scaling(cluster, tokens: dict, pairs, gateways=(1, 2, 3), *, window: int = 4, duration_s: float = 3.0,
            warmup_s: float = 0.5) -> list[dict]:
    """Closed-loop load on the first k gateways for each k in ``gateways``: every user of
    ``pairs`` (``(a, b, conv)``) keeps ``window`` sends in flight to its conversation.
    Returns per k: acked msg/s, ack p50/p99 (ms) and CPU seconds per acked message of
    the gateways, PostgreSQL, Redis and this process (the load generator)."""
    if not 1 <= window <= 64:
        raise ValueError(f"window must be in [1, 64], got {window}")
    out = []
    for k in gateways:
        if not 1 <= k <= len(cluster.gateways):
            raise ValueError(f"gateways must be in [1, {len(cluster.gateways)}], got {k}")
        out.append(run_sync(_closed_loop(cluster, tokens, pairs, k, window, duration_s, warmup_s)))
    return out


async def _closed_loop(cluster, tokens, pairs, k, window, duration_s, warmup_s) -> dict:
    urls = cluster.urls[:k]
    users = [u for a, b, _ in pairs for u in (a, b)]
    conv_of = {u: c for a, b, c in pairs for u in (a, b)}
    wss = {u: await _open(urls[i % k], u, tokens[u], device=f"load{k}") for i, u in enumerate(users)}
    prefix = secrets.token_hex(3)
    lat, sent_at = [], {}
    stop = False
    counters = {"acked": 0, "delivered": 0}
    t_start = time.perf_counter()
    t_measure = t_start + warmup_s
    slots = {}

    async def pump(u):
        ws, n = wss[u], 0
        slot = slots[u] = asyncio.Semaphore(window)
        while not stop:
            await slot.acquire()
            if stop:
                return
            n += 1
            cid = f"{prefix}-{u}-{n}"
            sent_at[cid] = time.perf_counter()
            await ws.send(json.dumps({"type": "send", "conv": conv_of[u], "cid": cid, "body": "x" * 40}))

    async def read(u):
        ws = wss[u]
        try:
            async for raw in ws:
                f = json.loads(raw)
                now = time.perf_counter()
                if f["type"] == "ack":
                    slots[u].release()
                    t = sent_at.pop(f["cid"], None)
                    if t is not None and t >= t_measure:
                        lat.append(now - t)
                        counters["acked"] += 1
                elif f["type"] == "msg" and now >= t_measure:
                    counters["delivered"] += 1
                elif f["type"] == "error" and f.get("cid"):
                    slots[u].release()
        except Exception:
            pass

    procs = _component_pids(cluster, k)
    readers = [asyncio.create_task(read(u)) for u in users]
    await asyncio.sleep(0)
    pumps = [asyncio.create_task(pump(u)) for u in users]
    await asyncio.sleep(warmup_s)
    cpu0 = {name: _cpu(p) for name, p in procs.items()}
    t0 = time.perf_counter()
    await asyncio.sleep(duration_s)
    cpu1 = {name: _cpu(p) for name, p in procs.items()}
    t1 = time.perf_counter()
    stop = True
    for s in slots.values():
        s.release()
    for t in pumps:
        t.cancel()
    for ws in wss.values():
        await ws.close()
    for t in readers:
        t.cancel()
    await asyncio.gather(*pumps, *readers, return_exceptions=True)
    span = t1 - t0
    acked = counters["acked"]
    lat_a = np.array(lat) * 1000
    per_msg = {name: (cpu1[name] - cpu0[name]) / max(1, acked) for name in procs}
    return {"gateways": k, "clients": len(users), "acked_per_s": acked / span,
            "delivered_per_s": counters["delivered"] / span,
            "ack_p50_ms": float(np.percentile(lat_a, 50)) if lat_a.size else float("nan"),
            "ack_p99_ms": float(np.percentile(lat_a, 99)) if lat_a.size else float("nan"),
            "cpu_s_per_msg": per_msg, "cpu_busy": sum(cpu1[n] - cpu0[n] for n in procs) / span}


def _component_pids(cluster, k) -> dict:
    out = {"gateways": [g.proc.pid for g in cluster.gateways[:k]], "load generator": [os.getpid()]}
    if cluster.postgres is not None:
        out["PostgreSQL"] = [("tree", cluster.postgres._pid())]
    if cluster.redis is not None:
        out["Redis"] = [cluster.redis.proc.pid]
    return out


def _cpu(pids) -> float:
    total = 0.0
    for p in pids:
        if isinstance(p, tuple):
            total += cpu_s(p[1], with_children=True)
        else:
            total += cpu_s(p)
    return total


def capacity_model(cpu_per_msg: dict, cores: float, gateways: int, machines: int | None = None) -> float:
    """Messages/s the measured CPU costs allow.

    On one machine of ``cores`` cores every component shares them: ``cores / Σ cost``.
    With ``machines`` (one gateway per machine, the store and the bus on their own):
    each part scales with its own hardware, and the slowest bounds the whole:
    ``min(gateways / cost_gateway, cores / cost_store, cores / cost_bus)`` (the load
    generator then runs elsewhere).  A model of CPU only: it ignores the disk (the
    store's commits are group commits here) and the network between machines.
    """
    if not cores > 0:
        raise ValueError(f"cores must be > 0, got {cores}")
    if machines is None:
        return cores / sum(cpu_per_msg.values())
    gw = cpu_per_msg["gateways"]
    bounds = [gateways / gw]
    for part in ("PostgreSQL", "Redis"):
        if cpu_per_msg.get(part):
            bounds.append(cores / cpu_per_msg[part])
    return min(bounds)
