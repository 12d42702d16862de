"""The rtlib call live: two endpoints on real UDP sockets through the impairment relay, 5 s each.

What the endpoints measure from their own RTCP and receiver state must agree with what
the relay did (loss, delay), with its simulation in virtual time, and with Wireshark
(the relay's capture decodes as RTP/RTCP with transport-cc feedback).  Nothing may
outlive the call: no asyncio task, socket or encoder thread.
"""

import asyncio
import os
import subprocess
import threading

import pytest

from rtlib.live.endpoint import run_rtlib_call, simulate_same_scenario
from rtlib.live.endpoint_core import EndpointConfig
from rtlib.live.relay import Impairment, UdpRelay
from rtlib.rtp import tshark


#: sampler timer lateness (p95) above which the machine was too busy to measure delays
BUSY_LAG_MS = 10.0


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _run(coro_fn):
    """Run ``coro_fn()`` in a fresh loop; also return the tasks still pending at its end."""
    async def main():
        result = await coro_fn()
        await asyncio.sleep(0)
        return result, [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    return asyncio.run(main())


@pytest.fixture(scope="module")
def lossy_call(tmp_path_factory):
    """A 5 s call (real Opus + VP8) under 5 % forward loss, 50 ms each way, through a relay we own."""
    pcap = tmp_path_factory.mktemp("endpoint") / "call.pcap"
    forward = Impairment(delay_ms=50, jitter_ms=5, loss=0.05)
    backward = Impairment(delay_ms=50)
    fds, threads = _open_fds(), threading.active_count()
    seen = []

    async def call():
        relay = await UdpRelay.start(forward=forward, backward=backward, seed=1, pcap=str(pcap))
        try:
            stats = await run_rtlib_call(seconds=5, forward=forward, backward=backward, seed=1, relay=relay,
                                         on_sample=seen.append)
            assert not relay._closed  # a relay we passed in stays ours to close
            return stats, relay.port_for_a, relay.port_for_b, relay.counters("forward")
        finally:
            await relay.close()

    for _attempt in range(2):
        seen.clear()
        (stats, port_a, port_b, counters), pending = _run(call)
        if stats.config["loop_lag_ms"]["p95"] <= BUSY_LAG_MS:
            break  # else the machine was too busy for a real-time measurement: once more
    return dict(stats=stats, pcap=pcap, ports=(port_a, port_b), counters=counters, pending=pending, seen=seen,
                fds=(fds, _open_fds()), threads=(threads, threading.active_count()))


def test_statistics_agree_with_the_configured_path(lossy_call):
    stats = lossy_call["stats"]
    s = stats.summary()
    assert s["samples"] == 20 and lossy_call["seen"] == stats.samples  # on_sample saw every sample
    assert s["packets_lost"] > 0 and abs(s["loss_fraction"] - 0.05) <= 0.03
    # the receiver's loss is what the relay dropped (RTX travels apart and does not hide it)
    c = lossy_call["counters"]
    assert abs(s["loss_fraction"] - c["dropped_loss"] / c["packets_in"]) <= 0.03
    assert s["jitter_ms_p50"] > 0
    # RFC 3550 6.4.1 from SR/RR, vs twice the one-way delay
    assert abs(s["rtt_ms_p50"] - 2 * 50) <= 20, stats.config["loop_lag_ms"]
    e2e = [x.e2e_delay_ms for x in stats.samples if x.e2e_delay_ms is not None]
    assert len(e2e) >= 15 and min(e2e) >= 50  # measured capture-to-render delay >= the configured delay
    assert s["frames_decoded"] >= 90 and s["fps_p50"] >= 15
    d = stats.config["rtlib"]
    assert d["rtx_repaired"] > 0 and d["invalid"] == 0 and d["encode_errors"] == 0


def test_live_and_simulated_runs_agree(lossy_call):
    live = lossy_call["stats"].summary()
    sim = simulate_same_scenario(seconds=5, forward=Impairment(delay_ms=50, jitter_ms=5, loss=0.05),
                                 backward=Impairment(delay_ms=50), seed=1,
                                 config=EndpointConfig(media="model")).summary()
    assert abs(live["rtt_ms_p50"] - sim["rtt_ms_p50"]) <= 20
    assert abs(live["loss_fraction"] - sim["loss_fraction"]) <= 0.04
    # the live loop adds its own scheduling noise (two encoders and a relay on a shared 2-core machine)
    assert abs(live["jitter_ms_p50"] - sim["jitter_ms_p50"]) <= 10
    assert set(live) == set(sim)  # the same summary fields, side by side in notebook 12


def test_nothing_outlives_the_call(lossy_call):
    assert lossy_call["pending"] == []
    before, after = lossy_call["fds"]
    assert after <= before  # sockets (and the pcap file) closed
    before, after = lossy_call["threads"]
    assert after <= before  # encoder threads joined


def _tshark(pcap, ports, *args) -> str:
    """tshark on ``pcap`` with both relay ports decoded as RTP (RTCP multiplexed on them, RFC 5761)."""
    decode = [a for p in ports for a in ("-d", f"udp.port=={p},rtp")]
    res = subprocess.run([tshark.tshark_path(), "-r", str(pcap), *decode, *args], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stderr[-500:]
    return res.stdout


@pytest.mark.interop
def test_the_relay_capture_decodes_as_rtp_rtcp_with_transport_cc(lossy_call):
    if tshark.tshark_path() is None:
        pytest.skip(tshark.INSTALL_HINT)
    pcap, ports = lossy_call["pcap"], lossy_call["ports"]
    rows = [line.split("\t") for line in _tshark(pcap, ports, "-T", "fields", "-E", "separator=\t", "-E",
                                                  "occurrence=a", "-E", "aggregator=,", "-e", "rtcp.pt", "-e",
                                                  "rtcp.rtpfb.fmt", "-e", "rtcp.psfb.fmt", "-e", "rtp.ssrc",
                                                  "-e", "rtp.p_type").splitlines()]
    rtcp_types = {x for r in rows for x in r[0].split(",") if x}
    fb_formats = {x for r in rows for x in r[1].split(",") if x}
    ssrcs = {r[3] for r in rows if r[3]}
    assert {"200", "201", "202", "205"} <= rtcp_types  # SR, RR, SDES, RTPFB (RFC 3550, RFC 4585)
    assert "15" in fb_formats  # transport-wide congestion control feedback
    assert "1" in fb_formats  # generic NACK
    assert {"96", "97", "111"} <= {r[4] for r in rows}  # VP8, its RTX, Opus
    assert len(ssrcs) >= 6  # audio, video and RTX both ways (plus probes)
    # Wireshark's RTP stream analysis sees the forward loss too
    streams = tshark.parse_rtp_streams(_tshark(pcap, ports, "-q", "-z", "rtp,streams"))
    assert len(streams) >= 6
    forward = [r for r in streams if r["dport"] not in ports and r["sport"] == ports[1]]
    assert forward and sum(r["lost"] for r in forward) > 0


def test_gcc_backs_off_below_a_live_rate_cap():
    """The relay run_rtlib_call creates caps A→B at 250 kbit/s, under GCC's 300 kbit/s start: it must back off."""
    threads = threading.active_count()

    async def call():
        return await run_rtlib_call(seconds=6, forward=Impairment(delay_ms=20, rate_kbps=250),
                                    backward=Impairment(delay_ms=20), config=EndpointConfig(media="model"))

    stats, pending = _run(call)
    late = [x.send_kbps for x in stats.samples if x.t_s > 3.5]  # once the start-up probes' queue has drained
    assert sum(late) / len(late) < 250
    # GCC's target went under the cap after the start-up probes (its sawtooth then hovers around it)
    assert min(r for t, r in stats.config["rtlib"]["target_kbps"] if t > 1.0) < 250
    assert stats.config["relay"]["forward"]["dropped_queue"] >= 0
    assert pending == [] and threading.active_count() <= threads


def test_survives_20_percent_loss_and_a_2_s_outage():
    """Both directions go dark from 1.5 s to 3.5 s under 20 % forward loss: the picture freezes, then recovers."""
    async def call():
        relay = await UdpRelay.start(forward=Impairment(delay_ms=30, loss=0.2), backward=Impairment(delay_ms=30))

        def on_sample(s):
            if abs(s.t_s - 1.5) < 1e-9:
                relay.set("both", outage=True)
            elif abs(s.t_s - 3.5) < 1e-9:
                relay.set("both", outage=False)
        try:
            return await run_rtlib_call(seconds=7, forward=relay.forward, backward=relay.backward, relay=relay,
                                        on_sample=on_sample)
        finally:
            await relay.close()

    stats, pending = _run(call)
    by_t = {round(x.t_s, 2): x for x in stats.samples}
    assert by_t[3.5].frames_decoded == by_t[2.5].frames_decoded  # nothing gets through the outage
    assert by_t[7.0].frames_decoded - by_t[4.0].frames_decoded >= 30  # and video flows again after it
    assert max(x.fps for x in stats.samples if x.t_s >= 5.0) >= 10  # (20 % loss still freezes it now and then)
    assert by_t[7.0].freeze_count >= 1 and by_t[7.0].freeze_s >= 1.5  # the outage counted as a freeze
    assert by_t[6.5].recv_kbps > 0 and by_t[7.0].rtt_ms is not None
    assert stats.config["rtlib"]["plis_sent"] >= 1  # recovery asked for a keyframe (RFC 4585 6.3.1)
    assert pending == []


def test_a_relay_passed_in_serves_call_after_call_and_stays_open():
    async def calls():
        async with await UdpRelay.start(forward=Impairment(delay_ms=20), backward=Impairment(delay_ms=20)) as relay:
            out = []
            for seed in (1, 2):
                st = await run_rtlib_call(seconds=3.0, forward=None, backward=None, relay=relay, seed=seed,
                                          config=EndpointConfig(media="model"))
                out.append((st.summary()["frames_decoded"], relay.foreign, relay._closed))
            return out

    out, pending = _run(calls)
    assert [(frames > 20, foreign, closed) for frames, foreign, closed in out] == [(True, 0, False)] * 2
    assert pending == []
