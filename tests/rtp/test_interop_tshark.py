"""Interop with Wireshark's dissectors (tshark): captures from rtlib decode as RTP/RTCP
with the fields rtlib wrote, and tshark's RTP stream analysis agrees with rtlib's
receiver statistics.

Skips when tshark is absent outside CI (install it: apt-get install -y tshark);
fails when it is absent in CI, where .ci/run installs it.

One documented difference: Wireshark's "expected" count ends at the sequence number
of the *last packet captured*, RFC 3550 A.3's at the *highest* one received.  They
agree unless the last packet to arrive was overtaken; the test accounts for it.
"""

import shutil

import pytest

from rtlib.rtp import (
    App,
    Bye,
    DEFAULT_EXTENSION_MAP,
    Fir,
    GenericNack,
    Pli,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtpPacket,
    Sdes,
    SdesChunk,
    SenderReport,
    TransportCC,
    build_rtcp,
    extend_sequence_numbers,
    write_pcap,
)
from rtlib.rtp import tshark
from rtlib.rtp.call import simulate_call
from tests.conftest import IN_CI

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def have_tshark():
    if shutil.which("tshark") is None:
        if IN_CI:
            pytest.fail("tshark is missing in CI: .ci/run should have installed it (apt-get install -y tshark)")
        pytest.skip("tshark is not installed (apt-get install -y tshark); Wireshark interop not checked here")
    return True


SCENARIOS = {
    "loss-jitter": dict(seconds=20, delay_ms=60, jitter_ms=20, loss=0.03, seed=1),
    "bursty-loss": dict(seconds=20, delay_ms=40, jitter_ms=5, loss=0.1, burst_len=3, seed=2),
    "no-reorder": dict(seconds=10, delay_ms=50, jitter_ms=30, loss=0.05, reorder=False, seed=3),
    "heavy-tail": dict(seconds=10, delay_ms=30, jitter_ms=40, jitter_dist="pareto", loss=0.02, seed=4),
    "seq-wrap": dict(seconds=10, delay_ms=30, jitter_ms=10, loss=0.05, seed=5, initial_seq=65300),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_rtp_stream_analysis_matches_receiver_statistics(have_tshark, tmp_path, name):
    path = tmp_path / f"{name}.pcap"
    r = simulate_call(pcap=path, **SCENARIOS[name])
    streams = tshark.rtp_streams(path)
    assert len(streams) == 1
    s = streams[0]
    assert s["ssrc"] == r.ssrc and s["payload"] == "g711U" and (s["sport"], s["dport"]) == (5004, 5004)
    assert s["pkts"] == r.received
    # tshark's expected count stops at the last packet captured (see the module docstring)
    ext = extend_sequence_numbers(r.seq[r.arrival_order])
    behind = int(ext.max() - ext[-1])
    assert s["lost"] == r.lost - behind
    if SCENARIOS[name].get("reorder") is False:
        assert behind == 0 and s["lost"] == r.lost
    # both run the RFC 3550 A.8 estimator in arrival order
    assert s["max_jitter_ms"] == pytest.approx(r.jitter_series_ms.max(), rel=0.01)


def test_every_captured_packet_decodes_as_rtp_with_our_sequence_numbers(have_tshark, tmp_path):
    path = tmp_path / "call.pcap"
    r = simulate_call(seconds=5, loss=0.05, jitter_ms=15, seed=7, pcap=path)
    rows = tshark.fields(path, ["rtp.ssrc", "rtp.seq", "rtp.timestamp", "rtp.p_type"], display_filter="rtp")
    assert len(rows) == r.received
    assert [int(q) for _, q, _, _ in rows] == r.seq[r.arrival_order].tolist()
    assert [int(t) for _, _, t, _ in rows] == r.rtp_timestamp[r.arrival_order].tolist()
    assert {int(s, 16) for s, _, _, _ in rows} == {r.ssrc} and {pt for *_, pt in rows} == {"0"}
    srs = tshark.fields(path, ["rtcp.pt", "rtcp.senderssrc"], display_filter="rtcp")
    assert srs and all(row[0].startswith("200") for row in srs)


def test_header_extensions_decode(have_tshark, tmp_path):
    one = RtpPacket(111, 5, 6, 7, b"abc", extensions=DEFAULT_EXTENSION_MAP.encode(
        abs_send_time_s=1.25, transport_seq=99, audio_level_dbov=-33, voice=True))
    two = RtpPacket(111, 6, 6, 7, b"abc", extensions={20: b"hello", 1: b""})
    path = tmp_path / "ext.pcap"
    write_pcap(path, [(0.0, bytes(one)), (0.1, bytes(two))])
    rows = tshark.fields(path, ["rtp.ext.profile", "rtp.ext.rfc5285.id", "rtp.ext.rfc5285.data"],
                         display_filter="rtp")
    assert rows[0][0] == "0xbede" and rows[0][1] == "1,2,3"
    assert rows[0][2].split(",") == [v.hex() for v in one.extensions.values()]
    assert rows[1][0] == "0x1000" and rows[1][1] == "20,1" and rows[1][2].split(",")[0] == b"hello".hex()


def test_rtcp_compound_decodes_field_by_field(have_tshark, tmp_path):
    blocks = [ReportBlock(0xB0B, 64, -3, 70000, 44, 0x12345678, 65536)]
    arrivals = [1.000, None, 1.0203, 1.02, None, None] + [1.1 + 0.001 * i for i in range(30)] + [3.0]
    tcc = TransportCC.from_arrivals(0xA, 0xB, 65530, arrivals, fb_pkt_count=7)
    pkts = [SenderReport(0xA, 0xE0000000_80000000, 160, 10, 1600, blocks), ReceiverReport(0xC, blocks),
            Sdes([SdesChunk(0xA, [(1, b"alice@rtlib")]), SdesChunk(0xC, [(1, b"bob"), (2, b"Bob")])]),
            GenericNack(0xA, 0xB, [65534, 65535, 0, 40]), Pli(0xA, 0xB), Fir(0xA, [(0xB, 9), (0xC, 10)]),
            Remb(0xA, 1_000_000, [0xB, 0xC]), tcc, App(0xA, "RTLB", 3, b"12345678"), Bye([0xA], "done")]
    path = tmp_path / "rtcp.pcap"
    write_pcap(path, [(0.0, build_rtcp(pkts))])
    names = ["rtcp.pt", "rtcp.senderssrc", "rtcp.timestamp.ntp.msw", "rtcp.timestamp.ntp.lsw",
             "rtcp.sender.packetcount", "rtcp.sender.octetcount", "rtcp.ssrc.fraction", "rtcp.ssrc.cum_nr",
             "rtcp.ssrc.ext_high", "rtcp.ssrc.jitter", "rtcp.ssrc.lsr", "rtcp.ssrc.dlsr", "rtcp.sdes.text",
             "rtcp.rtpfb.nack_pid", "rtcp.rtpfb.nack_blp", "rtcp.psfb.fir.fci.ssrc", "rtcp.psfb.fir.fci.csn",
             "rtcp.psfb.remb.fci.br_mantissa", "rtcp.psfb.remb.fci.br_exp", "rtcp.psfb.remb.fci.ssrc", "rtcp.rtpfb.transportcc.baseseq",
             "rtcp.rtpfb.transportcc.statuscount", "rtcp.rtpfb.transportcc.reftime",
             "rtcp.rtpfb.transportcc.pktcount", "rtcp.rtpfb.transportcc.recv_delta", "rtcp.app.name",
             "rtcp.app.subtype", "_ws.malformed"]
    (row,) = tshark.fields(path, names)
    f = dict(zip(names, row))
    assert f["rtcp.pt"].split(",") == ["200", "201", "202", "205", "206", "206", "206", "205", "204", "203"]
    assert f["rtcp.timestamp.ntp.msw"] == str(0xE0000000) and f["rtcp.timestamp.ntp.lsw"] == str(0x80000000)
    assert (f["rtcp.sender.packetcount"], f["rtcp.sender.octetcount"]) == ("10", "1600")
    assert f["rtcp.ssrc.fraction"].split(",") == ["64", "64"] and f["rtcp.ssrc.cum_nr"].split(",") == ["-3", "-3"]
    assert f["rtcp.ssrc.ext_high"].split(",")[0] == "70000" and f["rtcp.ssrc.jitter"].split(",")[0] == "44"
    assert f["rtcp.ssrc.lsr"].split(",")[0] == str(0x12345678) and f["rtcp.ssrc.dlsr"].split(",")[0] == "65536"
    assert f["rtcp.sdes.text"].split(",")[:3] == ["alice@rtlib", "bob", "Bob"]
    # tshark lists each PID, then the packets its bitmask marks ("also lost", counted without wrapping)
    assert [int(x) for x in f["rtcp.rtpfb.nack_pid"].split(",")] == [65534, 65535, 65536, 40]
    assert [int(x, 16) for x in f["rtcp.rtpfb.nack_blp"].split(",")] == [0b11, 0]
    assert [int(x, 16) for x in f["rtcp.psfb.fir.fci.ssrc"].split(",")] == [0xB, 0xC]
    assert f["rtcp.psfb.fir.fci.csn"] == "9,10"
    # (the bitrate is a text-only field in tshark; mantissa << exponent is what it shows)
    assert int(f["rtcp.psfb.remb.fci.br_mantissa"]) << int(f["rtcp.psfb.remb.fci.br_exp"]) == \
        Remb.representable(1_000_000)
    assert [int(x, 16) for x in f["rtcp.psfb.remb.fci.ssrc"].split(",")] == [0xB, 0xC]
    assert f["rtcp.rtpfb.transportcc.baseseq"] == "65530" and f["rtcp.rtpfb.transportcc.statuscount"] == "37"
    assert f["rtcp.rtpfb.transportcc.reftime"] == str(tcc.reference_time)
    assert f["rtcp.rtpfb.transportcc.pktcount"] == "7"
    deltas = [int(x, 16) for x in f["rtcp.rtpfb.transportcc.recv_delta"].split(",")]
    ours = [d for d in tcc.recv_deltas if d is not None]
    # tshark shows the raw field: 1 byte for small deltas, 2 bytes (two's complement) for large ones
    assert [d if 0 <= d <= 255 else d & 0xFFFF for d in ours] == deltas
    assert (f["rtcp.app.name"], f["rtcp.app.subtype"]) == ("RTLB", "3")
    assert f["_ws.malformed"] == ""


def test_streams_text_mentions_the_stream(have_tshark, tmp_path):
    path = tmp_path / "c.pcap"
    r = simulate_call(seconds=2, seed=1, pcap=path)
    text = tshark.rtp_streams_text(path)
    assert f"0x{r.ssrc:08X}" in text and "g711U" in text
    assert "RTP" in tshark.packet_summary(path, count=3)
