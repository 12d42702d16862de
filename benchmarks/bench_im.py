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
"""

from __future__ import annotations

import asyncio
import json
import os
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
    for user in tokens:
        ws = await connect(url, compression=None, max_size=2**20, ping_interval=None)
        await ws.send(json.dumps({"type": "auth", "user": user, "token": tokens[user], "device": "bench"}))
        hello = json.loads(await ws.recv())
        assert hello["type"] == "auth_ok", hello
        conns[user] = ws
    lat: list[float] = []
    sent_t: list[float] = []
    acks = [0]
    errors = []

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
            await ws.send('{"type":"send","conv":"%s","cid":"c%d","body":"%.6f"}' % (conv, sent, time.perf_counter()))
        next_t += tick_s
        delay = next_t - time.perf_counter()
        await asyncio.sleep(max(0.0, delay))
    end_send = time.perf_counter()
    # Let the last messages arrive (bounded).
    deadline = time.perf_counter() + 10.0
    while len(lat) < sent and time.perf_counter() < deadline:
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
    return {"sent": sent, "received": len(lat), "acks": acks[0], "errors": len(errors),
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


def run() -> list[Row]:
    return bench_sim() + bench_live("FULL")


if __name__ == "__main__":
    for r in run():
        print(r)
