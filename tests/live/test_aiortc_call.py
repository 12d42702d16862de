"""A real aiortc call on 127.0.0.1 through the impairment relay: its statistics agree with the impairment.

Two calls run here (about 25 s in all): 5 s under 5 % loss with a pcap, and one
under 20 % loss with a 2 s outage that ends as soon as video flows again (about 12 s).
"""

import asyncio
import os
import shutil
import subprocess

import numpy as np
import pytest

from rtlib.live.aiortc_call import (
    AiortcCall,
    candidate_ports,
    outage_events,
    read_timecode,
    rewrite_candidates,
    run_aiortc_call,
    stamp_timecode,
    timecode_delay_ms,
)
from rtlib.live.impair import Impairment

pytest.importorskip("aiortc")
pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

DELAY_MS = 50.0
LOSS = 0.05
#: sampler timer lateness (p95) above which the machine was too busy to measure delays
BUSY_LAG_MS = 10.0


def open_sockets() -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            n += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def run_call(**kwargs):
    """Run a call in a fresh event loop; return its stats, leftover tasks and the socket count change."""
    before = open_sockets()
    leftover = []

    async def main():
        stats = await run_aiortc_call(**kwargs)
        leftover.extend(t for t in asyncio.all_tasks() if t is not asyncio.current_task())
        return stats

    stats = asyncio.run(main())
    return stats, leftover, open_sockets() - before


# -- pure pieces -------------------------------------------------------------------------
def test_timecode_roundtrip_and_crc():
    rng = np.random.default_rng(0)
    for value in [0, 1, 12345, (1 << 24) - 1, 1 << 24]:
        img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
        stamp_timecode(img, value)
        luma = img.mean(axis=2)
        assert read_timecode(luma) == value % (1 << 24)
        for k in (0, 17, 31):  # invert one cell (a data bit, or the CRC's last): the CRC catches it
            bad = luma.copy()
            y0, x0 = (208 + 16 * (k // 16), 16 * (k % 16))
            bad[y0:y0 + 16, x0:x0 + 16] = 255 - bad[y0:y0 + 16, x0:x0 + 16]
            assert read_timecode(bad) is None
    assert timecode_delay_ms(5.0, (1 << 24) - 10) == 15.0
    assert read_timecode(np.zeros((20, 20))) is None
    with pytest.raises(ValueError, match="at least 256 x 48"):
        stamp_timecode(np.zeros((64, 64, 3), np.uint8), 3)


def test_rewrite_candidates_points_at_the_relay():
    sdp = ("v=0\r\nm=audio 50000 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 127.0.0.1\r\n"
           "a=candidate:abc 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
           "a=candidate:def 1 udp 1694498815 192.0.2.7 40000 typ srflx raddr 127.0.0.1 rport 50000\r\n"
           "m=video 0 UDP/TLS/RTP/SAVPF 97\r\n")
    out = rewrite_candidates(sdp, 6000)
    assert candidate_ports(sdp) == [50000] and candidate_ports(out) == [6000]
    assert "srflx" not in out and "m=audio 6000 " in out and "m=video 0 " in out
    with pytest.raises(ValueError, match="port"):
        rewrite_candidates(sdp, 0)


# -- a real call under 5 % loss ------------------------------------------------------------
@pytest.fixture(scope="module")
def lossy_call(tmp_path_factory):
    pcap = tmp_path_factory.mktemp("live") / "call.pcap"
    for _attempt in range(2):
        stats, leftover, sockets = run_call(seconds=5, forward=Impairment(delay_ms=DELAY_MS, loss=LOSS),
                                            backward=Impairment(delay_ms=DELAY_MS), seed=1, pcap=str(pcap))
        if stats.config["loop_lag_ms"]["p95"] <= BUSY_LAG_MS:
            break  # else the machine was too busy for a real-time measurement: once more
    return stats, leftover, sockets, pcap


def test_stats_agree_with_the_impairment(lossy_call):
    stats, *_ = lossy_call
    s = stats.summary()
    assert 19 <= s["samples"] <= 21
    assert s["loss_fraction"] > 0 and abs(s["loss_fraction"] - LOSS) <= 0.03, s
    assert s["jitter_ms_p50"] > 0
    assert abs(s["rtt_ms_p50"] - 2 * DELAY_MS) <= 20, (s, stats.config["loop_lag_ms"])
    m = stats.config["measured"]
    assert m["e2e_delay_ms_min"] >= DELAY_MS
    assert s["e2e_delay_ms_p50"] >= DELAY_MS
    assert s["frames_decoded"] >= 100 and m["frames_with_timecode"] >= 0.8 * m["frames_decoded"]
    assert s["recv_kbps_p50"] > 50
    relay = m["relay"]["forward"]
    assert relay["dropped_loss"] > 0 and relay["forwarded"] + relay["dropped_loss"] <= relay["packets_in"]


def test_no_leaked_tasks_or_sockets(lossy_call):
    _, leftover, sockets, _ = lossy_call
    assert leftover == []
    assert sockets <= 0


def test_pcap_decodes_as_stun_dtls_srtp(lossy_call):
    pcap = lossy_call[3]
    exe = shutil.which("tshark")
    if exe is None:
        pytest.skip("tshark is not installed (apt-get install -y tshark)")
    out = subprocess.run([exe, "-r", str(pcap), "--enable-heuristic", "rtp_udp", "-T", "fields",
                          "-e", "frame.protocols", "-e", "stun.type", "-e", "dtls.handshake.type",
                          "-e", "dtls.handshake.extension.type", "-e", "rtp.p_type"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = [line.split("\t") for line in out.splitlines()]
    protos = [r[0] for r in rows]
    assert any(r[1] == "0x0001" for r in rows), "a STUN binding request"
    assert any(r[1] == "0x0101" for r in rows), "a STUN binding success response"
    hello = [r for r in rows if "dtls" in r[0] and r[2].split(",")[0] == "1"]
    assert hello and "14" in hello[0][3].split(","), "a DTLS ClientHello offering use_srtp (RFC 5764)"
    srtp = [r for r in rows if r[0].endswith(":rtp") and r[4]]
    assert len(srtp) > 200 and {"96", "97"} <= {r[4] for r in srtp}, "SRTP: RTP headers, encrypted payload"
    assert any("srtcp" in p or p.endswith(":rtcp") for p in protos)


# -- 20 % loss and a 2 s outage ------------------------------------------------------------
def test_call_survives_heavy_loss_and_an_outage():
    """Video stops during the outage and flows again after it (aiortc needs several seconds: see aiortc_call)."""
    outage_at_s, outage_s, limit_s = 3.0, 2.0, 20.0
    before_sockets = open_sockets()

    async def main():
        call = AiortcCall(forward=Impairment(delay_ms=20), backward=Impairment(delay_ms=20), seed=3)
        try:
            await call.start()  # (20 % loss during the handshake costs DTLS retransmissions: seconds)
            call.schedule([(0.0, "forward", {"loss": 0.2}), *outage_events(outage_at_s, outage_s)])
            frames_at_end_of_outage = None
            async for s in call.samples(limit_s):
                if s.t_s <= outage_at_s + outage_s:
                    frames_at_end_of_outage = s.frames_decoded
                elif s.frames_decoded > frames_at_end_of_outage + 30 and s.fps > 0:
                    break  # recovered: stop early
        finally:
            await call.close()
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return call.stats, leftover

    stats, leftover = asyncio.run(main())
    t = np.array(stats.column("t_s"))
    frames = np.array(stats.column("frames_decoded"))
    before = frames[t <= outage_at_s][-1]
    during = frames[(t > outage_at_s + 0.75) & (t <= outage_at_s + outage_s)]
    assert before > 20  # video flowed under 20 % loss
    assert np.ptp(during) == 0  # nothing got through the outage
    assert frames[-1] > frames[t <= outage_at_s + outage_s][-1] + 30, "frames flow again after the outage"
    assert t[-1] < limit_s
    last = stats.samples[-1]
    assert last.fps > 0 and last.rtt_ms is not None
    s = stats.summary()
    assert s["freeze_count"] >= 1 and s["freeze_s"] >= outage_s
    assert leftover == [] and open_sockets() - before_sockets <= 0


def test_a_given_relay_is_used_and_left_open():
    """As the dashboard does it: start the relay, run the call through it, change it live, close it after."""
    from rtlib.live.relay import UdpRelay

    async def main():
        relay = await UdpRelay.start(Impairment(delay_ms=30), Impairment(delay_ms=30), seed=2)
        try:
            def lossy_after_1s(sample):
                if sample.t_s > 1:
                    relay.forward.loss = 0.5

            stats = await run_aiortc_call(seconds=2, relay=relay, on_sample=lossy_after_1s)
            still_open = not relay._closed
            counters = relay.counters("forward")
        finally:
            await relay.close()
        return stats, still_open, counters

    stats, still_open, counters = asyncio.run(main())
    assert still_open and counters["dropped_loss"] > 0
    assert stats.config["forward"]["delay_ms"] == 30
    assert stats.config["measured"]["e2e_delay_ms_min"] >= 30
