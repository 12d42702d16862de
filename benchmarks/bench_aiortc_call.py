"""The aiortc call through the impairment relay: do its statistics agree with what the relay did?

Issue 14's bars, measured on real 6 s calls (Opus + VP8 between two aiortc peers on
127.0.0.1, every datagram through :class:`rtlib.live.UdpRelay`):

- RTT from RTCP (p50) within ±20 ms of twice the configured one-way delay (on paths
  without jitter: jitter adds its mean each way and more behind bursts of video);
- loss from the receiver's RFC 3550 counters within ±3 points of the configured rate
  (also shown: what the relay really dropped of the media direction);
- measured end-to-end (glass-to-glass) delay ≥ the configured one-way delay; recorded:
  how much the endpoints add on top (encode, packetise, jitter buffer, decode);
- jitter > 0 when the path has jitter.

And the relay itself: the delay it adds with no impairment (UDP ping through the
relay minus direct ping, p50, µs) and the sans-IO core's decisions per second.

Used in: notebooks/12_live_call.ipynb (the closing figures), issue 14's closing note.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from benchmarks.common import Row
from rtlib.live.aiortc_call import run_aiortc_call
from rtlib.live.impair import ImpairedDirection, Impairment
from rtlib.live.relay import UdpRelay

SECONDS = 6.0
SCENARIOS = [  # name, forward (media) impairment, backward (feedback) impairment
    ("clean 50 ms", dict(delay_ms=50.0), dict(delay_ms=50.0)),
    ("50 ms, 10 ms jitter, 5 % loss", dict(delay_ms=50.0, jitter_ms=10.0, loss=0.05),
     dict(delay_ms=50.0, jitter_ms=10.0)),
    ("100 ms, 5 % loss in bursts of 3, 800 kbit/s cap", dict(delay_ms=100.0, loss=0.05, burst_len=3.0,
                                                             rate_kbps=800.0), dict(delay_ms=100.0)),
]


def call_rows(name: str, fwd: dict, back: dict) -> list[Row]:
    stats = asyncio.run(run_aiortc_call(seconds=SECONDS, forward=Impairment(**fwd), backward=Impairment(**back),
                                        seed=1))
    s, m = stats.summary(), stats.config["measured"]
    delay = fwd["delay_ms"]
    relay = m["relay"]["forward"]
    relay_drop = (relay["dropped_loss"] + relay["dropped_queue"]) / max(relay["packets_in"], 1)
    rows = [
        Row(f"{name}: RTT p50 − 2 × one-way delay", s["rtt_ms_p50"] - 2 * delay, "ms",
            None if fwd.get("jitter_ms") else 20.0, False,
            f"RTT p50 {s['rtt_ms_p50']:.1f} ms for 2 × {delay:g} ms configured"
            + (" (no bar with jitter: each way adds its extra delay, and without reordering an RTCP packet "
               "behind a burst of video waits for the slowest of them)" if fwd.get("jitter_ms") else
               " (bar: |error| ≤ 20 ms; the rate cap's queue adds to it)")),
        Row(f"{name}: |loss measured − configured|", abs(s["loss_fraction"] - fwd.get("loss", 0.0)) * 100, "points",
            3.0, False, f"receiver's RFC 3550 counters {s['loss_fraction']:.2%} for {fwd.get('loss', 0.0):.0%} "
            f"configured; the relay dropped {relay_drop:.2%} of {relay['packets_in']} A→B datagrams"),
        Row(f"{name}: e2e delay min − one-way delay", m["e2e_delay_ms_min"] - delay, "ms", 0.0, True,
            f"glass-to-glass min {m['e2e_delay_ms_min']:.1f} ms, p50 {s['e2e_delay_ms_p50']:.1f} ms, "
            f"p95 {s['e2e_delay_ms_p95']:.1f} ms for {delay:g} ms configured (bar: ≥ the configured delay)"),
        Row(f"{name}: frames decoded", s["frames_decoded"], "frames", None, True,
            f"{m['frames_with_timecode']} with a readable time code; {s['freeze_count']} freezes "
            f"({s['freeze_s']:.2f} s); fps p50 {s['fps_p50']:.0f}; audio concealed "
            f"{s['audio_concealed_ms']:.0f} ms"),
    ]
    if fwd.get("jitter_ms"):
        rows.append(Row(f"{name}: jitter p50", s["jitter_ms_p50"], "ms", None, True,
                        f"RFC 3550 interarrival jitter of the audio (aiortc's, divided by 48 kHz); "
                        f"p95 {s['jitter_ms_p95']:.2f} ms for {fwd['jitter_ms']:g} ms mean extra delay"))
    return rows


async def _ping(n: int = 300) -> tuple[float, float]:
    """p50 round trip (µs) direct and through an unimpaired relay, 127.0.0.1."""
    loop = asyncio.get_running_loop()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.t = transport

        def datagram_received(self, data, addr):
            self.t.sendto(data, addr)

    class Pinger(asyncio.DatagramProtocol):
        def __init__(self):
            self.waiter = None

        def connection_made(self, transport):
            self.t = transport

        def datagram_received(self, data, addr):
            if self.waiter and not self.waiter.done():
                self.waiter.set_result(time.perf_counter())

    echo_t, echo = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    ping_t, ping = await loop.create_datagram_endpoint(Pinger, local_addr=("127.0.0.1", 0))
    relay = await UdpRelay.start()
    relay.connect(ping_t.get_extra_info("sockname")[:2], echo_t.get_extra_info("sockname")[:2])
    out = []
    for target in (echo_t.get_extra_info("sockname")[:2], ("127.0.0.1", relay.port_for_a)):
        rtts = []
        for _ in range(n):
            ping.waiter = loop.create_future()
            t0 = time.perf_counter()
            ping_t.sendto(b"x" * 200, target)
            t1 = await asyncio.wait_for(ping.waiter, 1.0)
            rtts.append((t1 - t0) * 1e6)
        out.append(statistics.median(rtts))
    await relay.close()
    echo_t.close()
    ping_t.close()
    return out[0], out[1]


def run() -> list[Row]:
    rows = []
    for name, fwd, back in SCENARIOS:
        rows += call_rows(name, fwd, back)
    direct_us, relayed_us = asyncio.run(_ping())
    rows.append(Row("relay: added round-trip time, no impairment (p50)", relayed_us - direct_us, "µs", None, False,
                    f"UDP ping on 127.0.0.1: direct {direct_us:.0f} µs, through the relay {relayed_us:.0f} µs "
                    f"(two asyncio hops each way)"))
    d = ImpairedDirection(Impairment(delay_ms=50, jitter_ms=10, loss=0.05, burst_len=2, rate_kbps=2000), seed=0)
    n = 100_000
    t0 = time.perf_counter()
    for i in range(n):
        d.decide(i * 0.005, 1200)
    rate = n / (time.perf_counter() - t0)
    rows.append(Row("relay core: decisions per second", rate, "packets/s", 10_000, True,
                    "ImpairedDirection.decide with jitter, bursty loss and a rate cap; a 2 Mbit/s video call "
                    "needs about 200/s"))
    return rows
