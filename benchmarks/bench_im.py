"""IM at scale: the simulated pipeline and the live server under load, on loopback.

1. **Simulation**: one million messages through client → gateway → logic → SQLite
   (``:memory:``) → client, the same sans-IO objects as the live server
   (:func:`rtlib.im.sim.pipeline`); wall time against the 10 s bar.
2. **Live**: the real server (``python -m rtlib im-server``, SQLite file in WAL mode,
   ``synchronous=FULL``) in its own process; this process opens 200 WebSocket clients
   (100 one-to-one conversations, both sides sending), offers a fixed message rate
   for a few seconds, and measures on the receivers the delivered rate and the
   delivery latency (send → ``msg`` received; both ends in this process, one clock).
   Bars: ≥ 5,000 delivered messages/s with p99 ≤ 50 ms.  Every byte stays on
   127.0.0.1; counts and durations are bounded.  The delivered rate counts the
   messages sent after a 1 s warm-up that reached their receiver, divided by the time
   it took to send them; latency percentiles are over the same messages.

The load generator is lean (raw ``websockets`` clients, no retry logic) so that it
costs the server as little CPU as possible; on a 2-core machine it still competes
with the server for the cores, which the notes say.

3. **Hostile clients** (issue 12): 64 honest users in 32 conversations keep 4 sends
   each in flight, each at most 90 sends/s (under the per-user limit, as the protocol
   asks; together more than the server takes, so the server is the bottleneck), first
   alone, then while attackers (in their own process) send (a) 100 lone-surrogate
   frames/s, the issue's attack, or (b) that plus 100 conflicting cid reuses/s, 20
   syncs/s of 1,000 messages and a send flood as fast as the server reads, while a
   member of every honest conversation never reads.  The honest senders run for 14
   windows of 2 s; the attackers act in every other one (the machine is shared, and
   neighbouring windows see the same background load).  Reported: the median honest
   ack rate of the attacked windows, and the median of each attacked window's rate over
   the mean of its two calm neighbours, with the honest sends refused and lost (must be 0).
4. **Slow reader memory**: one sender (send limit lifted) pushes messages as fast as
   the server takes them into a conversation whose other member never reads; the
   server's resident memory is sampled each second, and the reader's connection is
   checked for the 4003 close.
6. **Cluster** (chapter 03, "a cluster on your laptop"): in one run, side by side, the
   single SQLite server and a cluster of 3 gateways (``im-server --store postgresql://…
   --bus redis://…``, PostgreSQL and Redis started for the run), the same 200 clients
   (100 one-to-one conversations whose two members sit on different gateways, so every
   message crosses the bus), the same offered rates: delivered msg/s and the p99 of the
   ack time (send → ``ack``: the message is committed).  Then the long kill -9 runs:
   each of gateway, Redis and PostgreSQL killed ``CHAOS_KILLS`` times at random moments
   while 20 clients send (:func:`rtlib.im.chaos.run_chaos`).
5. **Frame sizes**: 1,000 messages whose bodies are 2,600 control characters (each
   escaped as 6 bytes: the largest a client can send under the 16 KiB frame limit);
   the largest ``sync_ok`` a client receives at ``limit`` 1000 and 200, and the pages
   it takes to get them all, with a 1 MiB client limit.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import statistics
import tempfile
import time

import numpy as np

from benchmarks.common import Row
from rtlib.im.live import ServerProcess, setup_db
from rtlib.im.sim import pipeline

SIM_MESSAGES = 1_000_000
CLIENTS = 200
# Offered messages/s, each for STEP_S seconds.  The bar step offers 5 % above the
# 5,000/s bar, so that meeting it means sustaining it, not just matching the offer.
RATES = (2_000, 5_250, 8_000)
BAR_RATE = 5_250
REPEATS_AT_BAR = 3  # the machine is shared: the bar step runs 3 times, the median run is reported
STEP_S = 4.0
WARMUP_S = 1.0


def bench_sim(repeat: int = 2) -> list[Row]:
    """The fastest of ``repeat`` runs (the house rule of benchmarks.common.best_of),
    with its CPU time: on a shared machine the gap between the two is other work."""
    best = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = pipeline(SIM_MESSAGES, pairs=500, burst=10)
        wall_s, cpu_s = time.perf_counter() - t0, time.process_time() - c0
        assert out["stored"] == SIM_MESSAGES and out["released_to_receivers"] == SIM_MESSAGES
        if best is None or wall_s < best[0]:
            best = (wall_s, cpu_s, out)
    wall_s, cpu_s, out = best
    return [
        Row("simulation: 1M messages through the pipeline", wall_s, "s", bar=10.0, higher_is_better=False,
            note=f"best of {repeat}; CPU {cpu_s:.1f} s; 500 pairs, bursts of 10, SQLite :memory:; "
                 f"{SIM_MESSAGES / wall_s:,.0f} msg/s; {out['events']:,} loop events"),
    ]


async def _load(url: str, tokens: dict, pairs: list, rate: float, duration_s: float) -> dict:
    """Offer ``rate`` messages/s for ``duration_s``; return latencies and counts."""
    from websockets.asyncio.client import connect

    conns = {}
    urls = [url] if isinstance(url, str) else list(url)  # a cluster: user i on gateway i mod N
    for k, user in enumerate(tokens):
        ws = await connect(urls[k % len(urls)], compression=None, max_size=2**20, ping_interval=None)
        await ws.send(json.dumps({"type": "auth", "user": user, "token": tokens[user], "device": "bench"}))
        hello = json.loads(await ws.recv())
        assert hello["type"] == "auth_ok", hello
        conns[user] = ws
    lat: list[float] = []
    sent_t: list[float] = []
    acks = [0]
    send_t: list[float] = []  # index n-1: when message n was sent
    ack_lat: list[tuple] = []  # (sent at, ack time)
    errors = []
    prefix = secrets.token_hex(4)  # cids are unique per sender: a new run must not reuse them

    async def reader(ws):
        try:
            async for raw in ws:
                now = time.perf_counter()
                f = json.loads(raw)
                kind = f["type"]
                if kind == "msg":
                    t_sent = float(f["body"])
                    lat.append(now - t_sent)
                    sent_t.append(t_sent)
                elif kind == "ack":
                    acks[0] += 1
                    t = send_t[int(f["cid"].rsplit("-", 1)[1]) - 1]
                    ack_lat.append((t, now - t))
                elif kind == "error":
                    errors.append(f)
        except Exception:
            pass

    readers = [asyncio.create_task(reader(ws)) for ws in conns.values()]
    senders = [(conns[a], conv) for a, b, conv in pairs] + [(conns[b], conv) for a, b, conv in pairs]
    tick_s = 0.005
    per_tick = rate * tick_s
    sent = 0
    owed = 0.0
    i = 0
    start = time.perf_counter()
    next_t = start
    while True:
        now = time.perf_counter()
        if now - start >= duration_s:
            break
        owed += per_tick
        k = int(owed)
        owed -= k
        for _ in range(k):
            ws, conv = senders[i]
            i = (i + 1) % len(senders)
            sent += 1
            send_t.append(time.perf_counter())
            await ws.send('{"type":"send","conv":"%s","cid":"%s-%d","body":"%.6f"}'
                          % (conv, prefix, sent, time.perf_counter()))
        next_t += tick_s
        delay = next_t - time.perf_counter()
        await asyncio.sleep(max(0.0, delay))
    end_send = time.perf_counter()
    # Let the last messages arrive (bounded).
    deadline = time.perf_counter() + 10.0
    while (len(lat) < sent or acks[0] < sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    for ws in conns.values():
        await ws.close()
    for r in readers:
        r.cancel()
    await asyncio.gather(*readers, return_exceptions=True)
    lat_a = np.array(lat)
    t_a = np.array(sent_t)
    # Steady state: the messages sent after the warm-up, all delivered (or not) by the
    # end; delivered rate = those delivered / the time it took to send them.
    window = t_a >= start + WARMUP_S
    span = max(1e-9, end_send - (start + WARMUP_S))
    ack_a = np.array([d for t, d in ack_lat if t >= start + WARMUP_S])
    return {"sent": sent, "received": len(lat), "acks": acks[0], "errors": len(errors),
            "ack_p99_ms": float(np.percentile(ack_a, 99) * 1000) if ack_a.size else float("nan"),
            "delivered_per_s": float(window.sum() / span), "offered_per_s": sent / (end_send - start),
            "p50_ms": float(np.percentile(lat_a[window], 50) * 1000) if window.any() else float("nan"),
            "p99_ms": float(np.percentile(lat_a[window], 99) * 1000) if window.any() else float("nan"),
            "max_ms": float(lat_a.max() * 1000) if lat_a.size else float("nan")}


def bench_live(synchronous: str = "FULL") -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.sqlite")
        users = [f"u{i}" for i in range(CLIENTS)]
        pairs = [(users[2 * k], users[2 * k + 1], f"c{k}") for k in range(CLIENTS // 2)]
        tokens = setup_db(db, users, {conv: (a, b) for a, b, conv in pairs})
        srv = ServerProcess(db, synchronous=synchronous, log_path=os.path.join(tmp, "server.log"))
        srv.start()
        steps = []
        try:
            for rate in RATES:
                runs = [asyncio.run(_load(srv.url, tokens, pairs, rate, STEP_S))
                        for _ in range(REPEATS_AT_BAR if rate == BAR_RATE else 1)]
                runs.sort(key=lambda r: r["p99_ms"])
                median = runs[len(runs) // 2]
                steps.append({"rate": rate, **median, "p99_all_ms": [r["p99_ms"] for r in runs]})
        finally:
            srv.stop()
    rows = []
    for s in steps:
        lost = s["sent"] - s["received"]
        spread = (f"; p99 of the {len(s['p99_all_ms'])} runs: " + ", ".join(f"{v:.0f}" for v in s["p99_all_ms"]) + " ms"
                  if len(s["p99_all_ms"]) > 1 else "")
        note = (f"offered {s['offered_per_s']:,.0f}/s, {CLIENTS} clients, synchronous={synchronous}; "
                f"p50 {s['p50_ms']:.1f} ms, max {s['max_ms']:.0f} ms; {s['sent']:,} sent, "
                f"{lost} not received in time, {s['errors']} errors{spread}")
        at_bar = s["rate"] == BAR_RATE
        rows.append(Row(f"live, offered {s['rate']:,}/s: delivered", s["delivered_per_s"], "msg/s",
                        bar=5_000.0 if at_bar else None, note=note))
        rows.append(Row(f"live, offered {s['rate']:,}/s: p99 delivery latency", s["p99_ms"], "ms",
                        bar=50.0 if at_bar else None, higher_is_better=False))
    return rows


# -- 3. hostile clients ------------------------------------------------------------------
HOSTILE_PAIRS = 32  # 64 honest users, each at most HONEST_MAX_PER_S: together more than the server takes
HOSTILE_WINDOW = 4
HONEST_MAX_PER_S = 90.0  # honest users stay under the per-user send limit (100/s), as the protocol asks
WINDOW_S = 2.0  # the attackers are on in every other window of this length...
WINDOWS = 14  # ...over this many windows (the machine is shared: neighbouring windows see the same load)
EDGE_S = 0.25  # acks this close to a window's edges are not counted
ATTACKS = {"surrogates": "100 lone-surrogate sends/s (the issue's attack)",
           "mix": "100 surrogates/s, 100 conflicting cid reuses/s, 20 syncs of 1,000/s, a send flood as fast as "
                  "the server reads, and a member of every honest conversation that never reads"}


async def _ws(url, rcvbuf=None, max_size=2**20):
    from websockets.asyncio.client import connect

    sock = None
    if rcvbuf is not None:
        host, port = url[5:].split(":")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect((host, int(port)))
    return await connect(url, compression=None, max_size=max_size, ping_interval=None, sock=sock)


async def _auth(ws, user, token):
    await ws.send(json.dumps({"type": "auth", "user": user, "token": token, "device": "bench"}))
    hello = json.loads(await ws.recv())
    assert hello["type"] == "auth_ok", hello


def _attacking(t0: float, now: float) -> bool:
    k = int((now - t0) // WINDOW_S)
    return 0 <= k < WINDOWS and k % 2 == 1


async def _attack(url: str, tokens: dict, kind: str, t0: float) -> int:
    """The attackers, in their own process (they must not slow the honest clients' loop),
    active in the odd windows after ``t0`` (wall clock, shared with the parent)."""
    prefix = secrets.token_hex(4)
    mal = await _ws(url)
    await _auth(mal, "mallory", tokens["mallory"])
    frames = [0]
    end = t0 + WINDOW_S * WINDOWS

    async def drain(ws):
        try:
            async for _ in ws:
                pass
        except Exception:
            pass

    async def paced():
        i = 0
        while time.time() < end:
            if not _attacking(t0, time.time()):
                await asyncio.sleep(0.01)
                continue
            i += 1
            await mal.send('{"type":"send","conv":"mm","cid":"s%s%d","body":"\\ud800"}' % (prefix, i))
            frames[0] += 1
            if kind == "mix":
                await mal.send(json.dumps({"type": "send", "conv": "mm", "cid": "reuse", "body": f"v{i}"}))
                frames[0] += 1
                if i % 5 == 0:
                    await mal.send('{"type":"sync","conv":"mm","since":0,"limit":1000}')
                    frames[0] += 1
            await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(drain(mal))]
    slow = None
    if kind == "mix":
        flooder = await _ws(url)
        await _auth(flooder, "mallory", tokens["mallory"])

        async def flood():
            nonlocal slow
            i = 0
            body = "z" * 3000
            while time.time() < end:
                if not _attacking(t0, time.time()):
                    await asyncio.sleep(0.01)
                    continue
                if slow is None:  # joins at the first attack window, and never reads
                    slow = await _ws(url, rcvbuf=4096)
                    await _auth(slow, "slow", tokens["slow"])
                i += 1
                await flooder.send(json.dumps({"type": "send", "conv": "mm", "cid": f"f{prefix}{i}", "body": body}))
                frames[0] += 1
                if i % 50 == 0:
                    await asyncio.sleep(0)

        tasks += [asyncio.create_task(flood()), asyncio.create_task(drain(flooder))]
    tasks.append(asyncio.create_task(paced()))
    print("ready", flush=True)
    await asyncio.sleep(max(0.0, end - time.time()))
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return frames[0]


def _attack_main(argv_json: str) -> None:
    args = json.loads(argv_json)
    n = asyncio.run(_attack(args["url"], args["tokens"], args["kind"], args["t0"]))
    print(json.dumps({"frames": n}), flush=True)


async def _hostile_session(url: str, tokens: dict, attack: str) -> dict:
    """Honest senders through WINDOWS windows; the attackers act in the odd ones."""
    import subprocess
    import sys

    users = [f"h{i}" for i in range(2 * HOSTILE_PAIRS)]
    conns = {}
    for u in users:
        conns[u] = await _ws(url)
        await _auth(conns[u], u, tokens[u])
    t0 = time.time() + 3.0  # the attacker process starts (imports) before the first window
    arg = json.dumps({"url": url, "tokens": tokens, "kind": attack, "t0": t0})
    proc = subprocess.Popen([sys.executable, "-c", f"from benchmarks.bench_im import _attack_main; "
                                                   f"_attack_main({arg!r})"], stdout=subprocess.PIPE, text=True)
    line = await asyncio.get_running_loop().run_in_executor(None, proc.stdout.readline)
    assert line.strip() == "ready", line
    prefix = secrets.token_hex(4)
    sent, acked, refused = {}, {}, []
    t_ack: list[float] = []
    stop = asyncio.Event()
    counter = [0]
    slots = {u: asyncio.Semaphore(HOSTILE_WINDOW) for u in users}

    async def send_one(u):
        counter[0] += 1
        cid = f"{prefix}-{counter[0]}"
        sent[cid] = u
        await conns[u].send(json.dumps({"type": "send", "conv": f"p{users.index(u) // 2}", "cid": cid,
                                        "body": f"honest {cid}"}))

    async def writer(u):  # HOSTILE_WINDOW in flight, at most HONEST_MAX_PER_S
        gap, nxt = 1.0 / HONEST_MAX_PER_S, time.perf_counter()
        while not stop.is_set():
            await slots[u].acquire()
            delay = nxt - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            nxt = max(nxt + gap, time.perf_counter() - 1.0)
            if not stop.is_set():
                await send_one(u)

    async def honest(u):
        try:
            async for raw in conns[u]:
                f = json.loads(raw)
                if f["type"] == "ack":
                    acked[f["cid"]] = f["seq"]
                    t_ack.append(time.time())
                    slots[u].release()
                elif f["type"] == "error":
                    refused.append(f)
                    slots[u].release()
        except Exception:
            pass

    tasks = [asyncio.create_task(honest(u)) for u in users] + [asyncio.create_task(writer(u)) for u in users]
    await asyncio.sleep(max(0.0, t0 + WINDOW_S * WINDOWS - time.time()))
    stop.set()
    deadline = time.perf_counter() + 10
    while len(acked) + len([e for e in refused if e.get("cid") in sent]) < len(sent) and time.perf_counter() < deadline:
        await asyncio.sleep(0.02)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for ws in conns.values():
        ws.transport.abort()
    out, _ = proc.communicate(timeout=30)
    attack_frames = json.loads(out.strip().splitlines()[-1])["frames"]
    acks = np.array(t_ack)
    rates = [float(((acks >= t0 + k * WINDOW_S + EDGE_S) & (acks < t0 + (k + 1) * WINDOW_S - EDGE_S)).sum()
                   / (WINDOW_S - 2 * EDGE_S)) for k in range(WINDOWS)]
    # each attacked window against the mean of its two calm neighbours
    paired = [rates[k] / ((rates[k - 1] + rates[k + 1]) / 2) for k in range(1, WINDOWS - 1, 2)]
    honest_refused = [e for e in refused if e.get("cid") in sent]
    return {"calm": statistics.median(rates[0::2]), "attacked": statistics.median(rates[1::2]),
            "ratio": statistics.median(paired), "paired": paired, "sent": len(sent), "acked": len(acked),
            "refused": len(honest_refused), "lost": len(sent) - len(acked) - len(honest_refused),
            "attack_per_s": attack_frames / (WINDOW_S * WINDOWS / 2)}


def bench_hostile(python: str | None = None) -> list[Row]:
    """``python``: another interpreter for the server (to measure an older checkout)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "hostile.sqlite")
        honest = [f"h{i}" for i in range(2 * HOSTILE_PAIRS)]
        # "slow" is in every honest conversation: it gets every honest message and reads none
        convs = {f"p{k}": (honest[2 * k], honest[2 * k + 1], "slow") for k in range(HOSTILE_PAIRS)}
        convs["mm"] = ("mallory", "slow")
        tokens = setup_db(db, [*honest, "mallory", "slow"], convs)
        srv = ServerProcess(db, log_path=os.path.join(tmp, "server.log"), **({"python": python} if python else {}))
        srv.start()
        try:
            results = {kind: asyncio.run(_hostile_session(srv.url, tokens, kind)) for kind in ATTACKS}
        finally:
            srv.stop()
    for kind, r in results.items():
        rows += [
            Row(f"hostile ({kind}): honest acks/s with attackers", r["attacked"], "acks/s",
                note=f"median of {WINDOWS // 2} attacked {WINDOW_S:g} s windows; {r['calm']:,.0f} acks/s in the "
                     f"{WINDOWS // 2} calm windows between them; {2 * HOSTILE_PAIRS} honest users, {HOSTILE_WINDOW} "
                     f"in flight and at most {HONEST_MAX_PER_S:.0f}/s each; attackers (own process) sent "
                     f"{r['attack_per_s']:,.0f} frames/s when on: {ATTACKS[kind]}"),
            Row(f"hostile ({kind}): honest throughput kept (median ratio)", r["ratio"], "fraction", bar=0.9,
                note=f"each attacked window with a calm window on both sides ({len(r['paired'])} of "
                     f"{WINDOWS // 2}) / mean of those two: " + ", ".join(f"{x:.2f}" for x in r["paired"])),
            Row(f"hostile ({kind}): honest sends refused or lost", r["refused"] + r["lost"], "messages", bar=0,
                higher_is_better=False, note=f"{r['refused']} refused, {r['lost']} lost of {r['sent']:,} honest sends"),
        ]
    return rows


# -- 4. slow reader memory -----------------------------------------------------------------
def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _slow_reader(url: str, tokens: dict, pid: int, duration_s: float) -> dict:
    sender = await _ws(url)
    await _auth(sender, "s", tokens["s"])
    slow = await _ws(url, rcvbuf=4096)
    await _auth(slow, "r", tokens["r"])
    samples = [(0.0, _rss_mb(pid))]
    stop = asyncio.Event()
    sent = [0]

    async def produce():
        prefix = secrets.token_hex(4)
        while not stop.is_set():
            for _ in range(50):
                sent[0] += 1
                await sender.send('{"type":"send","conv":"sr","cid":"%s-%d","body":"%s"}' % (prefix, sent[0], "m" * 100))
            await asyncio.sleep(0)

    async def acks():
        try:
            async for _ in sender:
                pass
        except Exception:
            pass

    tasks = [asyncio.create_task(produce()), asyncio.create_task(acks())]
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < duration_s:
        await asyncio.sleep(1.0)
        samples.append((time.perf_counter() - t0, _rss_mb(pid)))
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    from websockets.exceptions import ConnectionClosed

    end, frames = None, 0
    try:
        while True:
            await asyncio.wait_for(slow.recv(), 2)
            frames += 1
    except asyncio.TimeoutError:
        end = "was still open"
    except ConnectionClosed as exc:
        end = (f"was closed with code {exc.rcvd.code}" if exc.rcvd is not None else
               "was dropped (no close frame: the server's 4003 waits 5 s at most for a reader that does not read)")
    sender.transport.abort()
    slow.transport.abort()
    return {"samples": samples, "sent": sent[0], "slow_end": end, "slow_frames": frames}


SLOW_READER_ARGS = ("--send-rate-per-s", "100000", "--send-burst", "100000", "--frame-rate-per-s", "100000")


def bench_slow_reader(duration_s: float = 20.0, python: str | None = None, args=SLOW_READER_ARGS) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "slow.sqlite")
        tokens = setup_db(db, ["s", "r"], {"sr": ("s", "r")})
        kw = {"python": python} if python else {}
        srv = ServerProcess(db, log_path=os.path.join(tmp, "server.log"), args=args, synchronous="NORMAL", **kw)
        srv.start()
        try:
            res = asyncio.run(_slow_reader(srv.url, tokens, srv.proc.pid, duration_s))
        finally:
            srv.stop()
    rss = [m for _, m in res["samples"]]
    return [Row("slow reader: server memory growth", max(rss) - rss[0], "MB", bar=20.0, higher_is_better=False,
                note=f"resident {rss[0]:.0f} MB at start, peak {max(rss):.0f}, end {rss[-1]:.0f} over {duration_s:.0f} s "
                     f"while {res['sent']:,} messages were sent to a member that never reads; reading at last, it got "
                     f"{res['slow_frames']:,} frames and its connection {res['slow_end']}")]


# -- 5. frame sizes --------------------------------------------------------------------------
async def _frame_sizes(url: str, tokens: dict, n: int) -> dict:
    ws = await _ws(url)
    await _auth(ws, "a", tokens["a"])
    body = "\x01" * 2600
    prefix = secrets.token_hex(4)
    for i in range(n):
        await ws.send(json.dumps({"type": "send", "conv": "ab", "cid": f"{prefix}-{i}", "body": body}))
    got = 0
    while got < n:
        f = json.loads(await ws.recv())
        got += f["type"] == "ack"
    ws.transport.abort()
    out = {}
    for limit in (1000, 200):
        b = await _ws(url, max_size=2**20)
        await _auth(b, "b", tokens["b"])
        since, pages, biggest, seqs = 0, 0, 0, 0
        while True:
            await b.send(json.dumps({"type": "sync", "conv": "ab", "since": since, "limit": limit}))
            raw = await b.recv()
            biggest = max(biggest, len(raw.encode()))
            page = json.loads(raw)
            pages += 1
            seqs += len(page["messages"])
            if not page["more"]:
                break
            since = page["messages"][-1]["seq"]
        b.transport.abort()
        out[limit] = (biggest, pages, seqs)
    return out


def bench_frame_sizes(n: int = 1000) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "sizes.sqlite")
        tokens = setup_db(db, ["a", "b"], {"ab": ("a", "b")})
        srv = ServerProcess(db, log_path=os.path.join(tmp, "server.log"), args=("--send-burst", str(n)))
        srv.start()
        try:
            res = asyncio.run(_frame_sizes(srv.url, tokens, n))
        finally:
            srv.stop()
    from rtlib.im.protocol import MAX_SERVER_FRAME_BYTES

    return [Row(f"largest sync_ok at limit {limit}", size / 1024, "KiB", bar=MAX_SERVER_FRAME_BYTES / 1024,
                higher_is_better=False,
                note=f"{n:,} messages of 2,600 control characters (~15.6 KiB of JSON each); {pages} pages to get "
                     f"{seqs:,} with a 1 MiB client limit")
            for limit, (size, pages, seqs) in res.items()]


# -- 6. the cluster -----------------------------------------------------------------------
CLUSTER_RATES = (1_000, 2_000, 4_000)
CLUSTER_STEP_S = 4.0
CHAOS_KILLS = 20


def cluster_load(gateways: int, rates=CLUSTER_RATES, step_s: float = CLUSTER_STEP_S, clients: int = CLIENTS,
                 log_dir=None) -> list[dict]:
    """Offer each of ``rates`` to ``gateways`` gateways (0 = the single SQLite server);
    returns one dict per rate (delivered_per_s, ack_p99_ms, p99_ms, ...)."""
    from rtlib.im.local_cluster import LocalCluster

    users = [f"u{i}" for i in range(clients)]
    pairs = [(users[2 * k], users[2 * k + 1], f"c{k}") for k in range(clients // 2)]
    convs = {conv: (a, b) for a, b, conv in pairs}
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        if gateways == 0:
            db = os.path.join(tmp, "bench.sqlite")
            tokens = setup_db(db, users, convs)
            srv = ServerProcess(db, log_path=os.path.join(tmp, "server.log"))
            srv.start()
            stop, urls = srv.stop, srv.url
        else:
            cl = LocalCluster(gateways, log_dir=log_dir or tmp)
            tokens = cl.setup(users, convs)
            urls = cl.start()
            stop = cl.stop
        try:
            time.sleep(1.0)  # leases renewed: every gateway knows where everyone is
            for rate in rates:
                out.append({"gateways": gateways, "rate": rate,
                            **asyncio.run(_load(urls, tokens, pairs, rate, step_s))})
        finally:
            stop()
    return out


def bench_cluster() -> list[Row]:
    rows = []
    for label, g in (("single SQLite server", 0), ("3-gateway cluster", 3)):
        for s in cluster_load(g):
            note = (f"offered {s['offered_per_s']:,.0f}/s, {CLIENTS} clients; delivery p99 {s['p99_ms']:.0f} ms; "
                    f"{s['sent']:,} sent, {s['sent'] - s['received']} not received in time, "
                    f"{s['sent'] - s['acks']} not acked in time, {s['errors']} errors")
            rows.append(Row(f"{label}, offered {s['rate']:,}/s: delivered", s["delivered_per_s"], "msg/s", note=note))
            rows.append(Row(f"{label}, offered {s['rate']:,}/s: ack p99", s["ack_p99_ms"], "ms",
                            higher_is_better=False))
    return rows


def bench_cluster_chaos(kills: int = CHAOS_KILLS) -> list[Row]:
    from rtlib.im.chaos import run_chaos

    rows = []
    for target in ("gateway", "redis", "postgres"):
        r = run_chaos(target, kills=kills, clients=20, seed=7)
        bad = r["lost"] + r["duplicates"] + r["order_errors"] + r["false_acks"] + r["outage_acks"]
        rows.append(Row(f"kill -9 {target} x{r['kills']}: acked lost + duplicates + out of order + false acks", bad,
                        "messages", bar=0, higher_is_better=False,
                        note=f"{r['acked']:,} acked by 20 clients in {r['wall_s']:.0f} s; lost {r['lost']}, "
                             f"duplicates {r['duplicates']}, order errors {r['order_errors']}, false acks "
                             f"{r['false_acks']}; {r['reconnections']} reconnections"
                             + (f"; probes while down: {r['outage_errors']} of {len(r['probes'])} answered "
                                f"unavailable, {r['outage_acks']} acked" if target == "postgres" else "")))
    return rows


def run() -> list[Row]:
    return (bench_sim() + bench_live("FULL") + bench_hostile() + bench_slow_reader() + bench_frame_sizes()
            + bench_cluster() + bench_cluster_chaos())


if __name__ == "__main__":
    for r in run():
        print(r)
