"""rtlib.conf.sfu: rewriting across layer switches, RTCP termination, PLI merging, NACK from the cache, tshark."""

from __future__ import annotations

import shutil
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.conf.sfu import Sfu
from rtlib.rtp import tshark
from rtlib.rtp.packet import RtpPacket
from rtlib.rtp.pcap import write_pcap
from rtlib.rtp.rtcp import Fir, GenericNack, Pli, ReceiverReport, ReportBlock, SenderReport, build_rtcp, parse_rtcp
from tests.conftest import IN_CI

LAYERS = (150.0, 500.0, 1500.0)
SSRCS = [0xA0, 0xA1, 0xA2]
AUDIO = 0xAA
_HDR = struct.Struct("!BBHII")


class Source:
    """Participant "A": three simulcast layers, keyframes when asked, one packet per 500 kbit/s."""

    def __init__(self):
        self.seq = [100, 30000, 65500]   # one layer wraps soon
        self.ts0 = [0, 2**31, 2**32 - 9000]
        self.frame = 0
        self.key = [True, True, True]

    def frame_packets(self):
        out = []
        for k in range(3):
            n = k + 1
            ts = (self.ts0[k] + self.frame * 3000) & 0xFFFFFFFF
            key, self.key[k] = self.key[k], False
            for p in range(n):
                payload = (b"\x10" + (b"\x00" if key else b"\x01") if p == 0 else b"\x00\x00") + bytes(100)
                out.append(_HDR.pack(0x80, (0x80 if p == n - 1 else 0) | 96, self.seq[k], ts, SSRCS[k]) + payload)
                self.seq[k] = (self.seq[k] + 1) & 0xFFFF
        self.frame += 1
        return out


def _run(estimates_by_frame, frames=200, pli_interval_s=0.3):
    sfu = Sfu(layers_kbps=LAYERS, pli_min_interval_s=pli_interval_s)
    sfu.add_participant("A", video_ssrcs=SSRCS, audio_ssrc=AUDIO)
    sfu.add_participant("B")
    src = Source()
    got = []
    for f in range(frames):
        now = f / 30
        if f in estimates_by_frame:
            sfu.set_estimate(now, "B", estimates_by_frame[f])
        outs = sfu.poll(now)
        for pkt in src.frame_packets():
            outs += sfu.on_rtp(now, "A", pkt)
        for dst, d in outs:
            if dst == "A" and d[1] == 206:
                for p in parse_rtcp(d):
                    if isinstance(p, Pli):
                        src.key[SSRCS.index(p.media_ssrc)] = True
            elif dst == "B" and not 192 <= d[1] <= 223:
                got.append((now, d))
    return sfu, got


def _check_continuous(got):
    seqs = [struct.unpack_from("!H", d, 2)[0] for _, d in got]
    tss = [struct.unpack_from("!I", d, 4)[0] for _, d in got]
    ssrcs = {struct.unpack_from("!I", d, 8)[0] for _, d in got}
    assert len(ssrcs) == 1
    assert all((b - a) & 0xFFFF == 1 for a, b in zip(seqs, seqs[1:]))
    assert all((b - a) & 0xFFFFFFFF < 2**31 for a, b in zip(tss, tss[1:]))


def test_switches_keep_one_continuous_stream():
    est = {0: 3000, 90: 3000, 100: 3000, 130: 600, 150: 200, 170: 3000}
    sfu, got = _run({f: est.get(f - f % 10, 3000) if f < 130 else (600 if f < 150 else 200 if f < 170 else 3000)
                     for f in range(0, 200, 3)})
    leg = sfu.leg("B", "A")
    assert leg.switches >= 3  # up, up, down...
    _check_continuous(got)
    assert {layer for _, layer in leg.layer_log if layer >= 0} >= {0, 1, 2}
    # payloads are untouched
    assert all(d[12:14] in (b"\x10\x00", b"\x10\x01", b"\x00\x00") for _, d in got)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from([100.0, 400.0, 700.0, 2000.0, 5000.0]), min_size=1, max_size=30))
def test_any_estimate_sequence_gives_a_continuous_stream(levels):
    estimates = {f: levels[(f // 7) % len(levels)] for f in range(0, 220, 2)}
    sfu, got = _run(estimates, frames=220)
    assert got
    _check_continuous(got)


def test_pli_from_many_receivers_is_merged_and_rate_limited():
    sfu = Sfu(layers_kbps=LAYERS, pli_min_interval_s=0.5)
    sfu.add_participant("A", video_ssrcs=SSRCS)
    for r in "BCDE":
        sfu.add_participant(r)
    src = Source()
    for pkt in src.frame_packets():
        sfu.on_rtp(0.0, "A", pkt)
    sent = []
    for k, r in enumerate("BCDE"):
        out_ssrc = sfu.leg(r, "A").out_ssrc
        pkt = bytes(Pli(0x1000 + k, out_ssrc)) if k % 2 == 0 else bytes(Fir(0x1000 + k, [(out_ssrc, 1)]))
        sent += sfu.on_rtcp(1.0 + 0.01 * k, r, pkt)
    sent += sfu.poll(1.2)
    plis = [p for dst, d in sent for p in parse_rtcp(d) if isinstance(p, Pli)]
    assert len(plis) == 1 and plis[0].media_ssrc == SSRCS[0]  # four requests, one PLI upstream
    later = sfu.poll(1.6)
    assert [p for _, d in later for p in parse_rtcp(d) if isinstance(p, Pli)] == []  # served by the first keyframe
    assert sfu.keyframe_requests_merged == 3
    assert sfu.plis_received == 2 and sfu.firs_received == 2


def test_nack_is_answered_from_the_cache():
    sfu, got = _run({0: 200}, frames=20)
    out_seqs = [struct.unpack_from("!H", d, 2)[0] for _, d in got]
    leg = sfu.leg("B", "A")
    nack = bytes(GenericNack(0x77, leg.out_ssrc, [out_seqs[3], out_seqs[5], (out_seqs[-1] + 100) & 0xFFFF]))
    out = sfu.on_rtcp(1.0, "B", nack)
    assert [d for _, d in out] == [got[3][1], got[5][1]]
    assert sfu.nacks_answered == 2 and sfu.nack_misses == 1


def test_rtcp_is_terminated_per_leg():
    sfu, got = _run({0: 3000}, frames=60)
    leg = sfu.leg("B", "A")
    # B's receiver report about the rewritten SSRC is consumed, not forwarded to A
    rr = build_rtcp([ReceiverReport(0x77, [ReportBlock(leg.out_ssrc, fraction_lost=10)])])
    assert sfu.on_rtcp(2.0, "B", rr) == []
    assert leg.last_report.fraction_lost == 10
    out = sfu.poll(3.0)
    to_a = [p for dst, d in out if dst == "A" for p in parse_rtcp(d)]
    to_b = [p for dst, d in out if dst == "B" for p in parse_rtcp(d)]
    # upstream: the SFU's own RR about A's own SSRCs
    assert [type(p) for p in to_a] == [ReceiverReport]
    assert {rb.ssrc for rb in to_a[0].reports} == set(SSRCS)
    # downstream: the SFU's own SR for the rewritten stream, counting what B got
    srs = [p for p in to_b if isinstance(p, SenderReport)]
    assert [p.ssrc for p in srs] == [leg.out_ssrc]
    assert srs[0].packet_count == len(got)
    assert srs[0].octet_count == sum(len(d) - 12 for _, d in got)


def test_audio_levels_pick_the_dominant_speaker_and_last_n():
    sfu = Sfu(layers_kbps=LAYERS, last_n=1)
    sfu.add_participant("A", video_ssrcs=[1], audio_ssrc=11)
    sfu.add_participant("B", video_ssrcs=[2], audio_ssrc=12)
    sfu.add_participant("C", audio_ssrc=13)
    for k in range(150):
        t = k * 0.02
        for pid, ssrc, level in (("A", 11, 90), ("B", 12, 15)):
            p = RtpPacket(111, k, k * 960, ssrc, b"\x00" * 40, extensions={1: bytes((0x80 | level,))})
            sfu.on_rtp(t, pid, bytes(p))
    assert sfu.speakers.dominant == "B"
    assert sfu.leg("C", "B").active and not sfu.leg("C", "A").active


def test_bad_input():
    with pytest.raises(ValueError, match="pli_min_interval_s"):
        Sfu(pli_min_interval_s=-1)
    with pytest.raises(ValueError, match="cache_packets"):
        Sfu(cache_packets=1000)
    sfu = Sfu()
    sfu.add_participant("A", video_ssrcs=[1])
    with pytest.raises(ValueError, match="already"):
        sfu.add_participant("A")
    with pytest.raises(ValueError, match="ssrc"):
        sfu.add_participant("B", video_ssrcs=[1])
    with pytest.raises(ValueError, match="RTP"):
        sfu.on_rtp(0.0, "A", b"\x00" * 5)


@pytest.mark.interop
def test_tshark_reads_the_rewritten_stream_as_one_stream(tmp_path):
    if shutil.which("tshark") is None:
        if IN_CI:
            pytest.fail("tshark is missing in CI")
        pytest.skip("tshark is not installed (apt-get install -y tshark)")
    est = {f: (3000 if f < 120 else 300 if f < 160 else 3000) for f in range(0, 240, 3)}
    sfu, got = _run(est, frames=240)
    assert sfu.leg("B", "A").switches >= 3
    path = tmp_path / "sfu_leg.pcap"
    # arrival = send + 20 ms; packets of one frame spaced 1 ms apart
    write_pcap(path, [(t + 0.02 + 0.0001 * k, d) for k, (t, d) in enumerate(got)])
    streams = tshark.rtp_streams(path)
    assert len(streams) == 1
    s = streams[0]
    assert s["ssrc"] == sfu.leg("B", "A").out_ssrc
    assert s["pkts"] == len(got) and s["lost"] == 0
    assert not s["problems"]
