"""The aiortc-remb baseline: aiortc's own estimator, driven by simulated arrivals."""

import pytest

from rtlib.cc.aiortc_remb import AiortcRembController, AiortcRembReceiver
from rtlib.rtp.rtcp import Remb, parse_rtcp

pytest.importorskip("aiortc")


def test_estimator_reports_remb_bytes_near_the_incoming_rate():
    rx = AiortcRembReceiver(ssrc=1)
    out = []
    # 1 Mbit/s: a 1250-byte packet every 10 ms, no queueing
    for i in range(600):
        t = i * 0.010
        data = rx.on_packet(t + 0.05, int(t * 262144) & 0xFFFFFF, 1250, 0x1000)
        if data is not None:
            out.append((t, data))
    assert out, "aiortc's estimator should have produced a REMB"
    (remb,) = parse_rtcp(out[0][1])
    assert isinstance(remb, Remb) and remb.ssrcs == [0x1000]
    assert out[0][0] > 3.0  # aiortc waits for 3 s of incoming rate before its first estimate
    assert remb.bitrate_bps == pytest.approx(1e6, rel=0.15)


def test_sender_follows_remb_within_its_bounds():
    c = AiortcRembController(300e3, 100e3, 2e6)
    assert c.feedback == "remb"
    assert c.on_remb(1.0, 1.2e6) == 1.2e6
    assert c.on_remb(2.0, 30e6) == 2e6
    assert c.on_remb(3.0, 1e3) == 100e3
