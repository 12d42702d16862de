"""Interop with aiortc (a WebRTC implementation no one here wrote), in both directions.

Every packet type aiortc's ``aiortc.rtp`` supports: RTP with header extensions (one-
and two-byte forms, CSRCs, padding), SR, RR, SDES, BYE, generic NACK, PLI and REMB.
Built by rtlib, parsed by aiortc with equal fields; built by aiortc, parsed by rtlib
with equal fields.

aiortc's SDES builder does not align each chunk to 32 bits (RFC 3550 6.5) and its
parser reads the null terminator as a (type, length) pair, so SDES interop is tested
with one chunk per packet (every alignment of the CNAME), which is what aiortc sends.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

aiortc_rtp = pytest.importorskip("aiortc.rtp")
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters  # noqa: E402

from rtlib.rtp import (  # noqa: E402
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    TRANSPORT_CC_URI,
    Bye,
    ExtensionMap,
    GenericNack,
    Pli,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtpPacket,
    Sdes,
    SdesChunk,
    SenderReport,
    build_rtcp,
    parse_rtcp,
)

pytestmark = pytest.mark.interop

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
IDS = {AUDIO_LEVEL_URI: 1, ABS_SEND_TIME_URI: 2, TRANSPORT_CC_URI: 3, MID_URI: 4}
EXT_MAP = ExtensionMap.from_uris(IDS)


def aiortc_map(ids=IDS):
    m = aiortc_rtp.HeaderExtensionsMap()
    m.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u)
                                                   for u, i in ids.items()]))
    return m


u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


# -- RTP ---------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(pt=st.integers(0, 127), marker=st.booleans(), seq=u16, ts=u32, ssrc=u32, csrc=st.lists(u32, max_size=15),
       payload=st.binary(max_size=200), padding=st.integers(0, 255), ast=st.integers(0, 0xFFFFFF),
       tseq=u16, level=st.integers(-127, 0), voice=st.booleans(),
       mid=st.one_of(st.none(), st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=30)))
def test_rtp_built_by_rtlib_parses_in_aiortc(pt, marker, seq, ts, ssrc, csrc, payload, padding, ast, tseq, level,
                                            voice, mid):
    ext = EXT_MAP.encode(abs_send_time_s=ast / 2**18, transport_seq=tseq, audio_level_dbov=level, voice=voice)
    if mid is not None:
        ext[IDS[MID_URI]] = mid.encode()  # > 16 bytes forces the two-byte form
    data = bytes(RtpPacket(pt, seq, ts, ssrc, payload, marker=marker, csrc=csrc, extensions=ext,
                           padding_size=padding))
    a = aiortc_rtp.RtpPacket.parse(data, aiortc_map())
    assert (a.payload_type, bool(a.marker), a.sequence_number, a.timestamp, a.ssrc) == (pt, marker, seq, ts, ssrc)
    assert a.csrc == csrc and a.payload == payload and a.padding_size == padding
    assert a.extensions.abs_send_time == ast
    assert a.extensions.transport_sequence_number == tseq
    assert a.extensions.audio_level == (voice, -level)
    assert a.extensions.mid == mid


@settings(max_examples=150, deadline=None)
@given(pt=st.integers(0, 127).filter(lambda p: p not in range(72, 77)), marker=st.booleans(), seq=u16, ts=u32,
       ssrc=u32, csrc=st.lists(u32, max_size=15), payload=st.binary(max_size=200), padding=st.integers(0, 255),
       ast=st.integers(0, 0xFFFFFF), tseq=u16, level=st.integers(0, 127), voice=st.booleans(),
       mid=st.one_of(st.none(), st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=30)))
def test_rtp_built_by_aiortc_parses_in_rtlib(pt, marker, seq, ts, ssrc, csrc, payload, padding, ast, tseq, level,
                                            voice, mid):
    a = aiortc_rtp.RtpPacket(payload_type=pt, marker=int(marker), sequence_number=seq, timestamp=ts, ssrc=ssrc,
                             payload=payload)
    a.csrc = csrc
    a.padding_size = padding
    a.extensions.abs_send_time = ast
    a.extensions.transport_sequence_number = tseq
    a.extensions.audio_level = (voice, level)
    a.extensions.mid = mid
    p = RtpPacket.parse(a.serialize(aiortc_map()))
    assert (p.payload_type, p.marker, p.sequence_number, p.timestamp, p.ssrc) == (pt, marker, seq, ts, ssrc)
    assert list(p.csrc) == csrc and p.payload == payload and p.padding_size == padding
    named = EXT_MAP.decode(p.extensions)
    assert round(named.abs_send_time_s * 2**18) == ast
    assert named.transport_seq == tseq and (named.voice, named.audio_level_dbov) == (voice, -level)
    assert p.extensions.get(IDS[MID_URI], b"").decode() == (mid or "")


def test_rtp_without_extensions_is_byte_identical():
    a = aiortc_rtp.RtpPacket(payload_type=0, marker=1, sequence_number=4321, timestamp=123456, ssrc=0xDEADBEEF,
                             payload=b"\xff" * 160)
    a.csrc = [1, 2]
    assert a.serialize() == bytes(RtpPacket(0, 4321, 123456, 0xDEADBEEF, b"\xff" * 160, marker=True, csrc=[1, 2]))


# -- RTCP ----------------------------------------------------------------------------------------
blocks = st.builds(ReportBlock, ssrc=u32, fraction_lost=st.integers(0, 255),
                   packets_lost=st.integers(-(1 << 23), (1 << 23) - 1), highest_seq=u32, jitter=u32, lsr=u32, dlsr=u32)


def a_block(rb: ReportBlock):
    return aiortc_rtp.RtcpReceiverInfo(ssrc=rb.ssrc, fraction_lost=rb.fraction_lost, packets_lost=rb.packets_lost,
                                       highest_sequence=rb.highest_seq, jitter=rb.jitter, lsr=rb.lsr, dlsr=rb.dlsr)


def same_block(a, rb: ReportBlock) -> bool:
    return (a.ssrc, a.fraction_lost, a.packets_lost, a.highest_sequence, a.jitter, a.lsr, a.dlsr) == \
        (rb.ssrc, rb.fraction_lost, rb.packets_lost, rb.highest_seq, rb.jitter, rb.lsr, rb.dlsr)


@settings(max_examples=100, deadline=None)
@given(ssrc=u32, ntp=st.integers(0, 2**64 - 1), rtp_ts=u32, pc=u32, oc=u32, reports=st.lists(blocks, max_size=31))
def test_sender_report_both_ways(ssrc, ntp, rtp_ts, pc, oc, reports):
    ours = SenderReport(ssrc, ntp, rtp_ts, pc, oc, reports)
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(ours))
    assert isinstance(a, aiortc_rtp.RtcpSrPacket) and a.ssrc == ssrc
    si = a.sender_info
    assert (si.ntp_timestamp, si.rtp_timestamp, si.packet_count, si.octet_count) == (ntp, rtp_ts, pc, oc)
    assert len(a.reports) == len(reports) and all(same_block(x, rb) for x, rb in zip(a.reports, reports))
    theirs = aiortc_rtp.RtcpSrPacket(ssrc=ssrc, sender_info=aiortc_rtp.RtcpSenderInfo(
        ntp_timestamp=ntp, rtp_timestamp=rtp_ts, packet_count=pc, octet_count=oc),
        reports=[a_block(rb) for rb in reports])
    assert parse_rtcp(bytes(theirs)) == [ours]


@settings(max_examples=100, deadline=None)
@given(ssrc=u32, reports=st.lists(blocks, max_size=31))
def test_receiver_report_both_ways(ssrc, reports):
    ours = ReceiverReport(ssrc, reports)
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(ours))
    assert isinstance(a, aiortc_rtp.RtcpRrPacket) and a.ssrc == ssrc
    assert len(a.reports) == len(reports) and all(same_block(x, rb) for x, rb in zip(a.reports, reports))
    theirs = aiortc_rtp.RtcpRrPacket(ssrc=ssrc, reports=[a_block(rb) for rb in reports])
    assert parse_rtcp(bytes(theirs)) == [ours]


@pytest.mark.parametrize("n", range(0, 12))
def test_sdes_both_ways(n):
    cname = ("{cname-" + "x" * n + "}").encode()
    ours = Sdes([SdesChunk(0x1234, [(1, cname)])])
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(ours))
    assert isinstance(a, aiortc_rtp.RtcpSdesPacket)
    assert [(c.ssrc, c.items) for c in a.chunks] == [(0x1234, [(1, cname)])]
    theirs = aiortc_rtp.RtcpSdesPacket(chunks=[aiortc_rtp.RtcpSourceInfo(ssrc=0x1234, items=[(1, cname)])])
    assert parse_rtcp(bytes(theirs)) == [ours]


@settings(max_examples=50, deadline=None)
@given(sources=st.lists(u32, max_size=31), reason=st.sampled_from(["", "bye", "call ended"]))
def test_bye_both_ways(sources, reason):
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(Bye(sources, reason)))
    assert isinstance(a, aiortc_rtp.RtcpByePacket) and a.sources == sources  # aiortc ignores the reason
    assert parse_rtcp(bytes(aiortc_rtp.RtcpByePacket(sources=sources))) == [Bye(sources)]


@settings(max_examples=100, deadline=None)
@given(ssrc=u32, media=u32, start=st.integers(0, 60000), offsets=st.sets(st.integers(0, 3000), min_size=1, max_size=50))
def test_generic_nack_both_ways(ssrc, media, start, offsets):
    lost = sorted((start + o) & 0xFFFF for o in offsets)  # sorted without wrap: aiortc does not wrap
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(GenericNack(ssrc, media, lost)))
    assert isinstance(a, aiortc_rtp.RtcpRtpfbPacket) and a.fmt == 1
    assert (a.ssrc, a.media_ssrc, a.lost) == (ssrc, media, lost)
    theirs = aiortc_rtp.RtcpRtpfbPacket(fmt=1, ssrc=ssrc, media_ssrc=media, lost=lost)
    assert parse_rtcp(bytes(theirs)) == [GenericNack(ssrc, media, lost)]


def test_pli_both_ways():
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(Pli(0xAAAA, 0xBBBB)))
    assert isinstance(a, aiortc_rtp.RtcpPsfbPacket) and (a.fmt, a.ssrc, a.media_ssrc, a.fci) == (1, 0xAAAA, 0xBBBB, b"")
    theirs = aiortc_rtp.RtcpPsfbPacket(fmt=1, ssrc=0xAAAA, media_ssrc=0xBBBB)
    assert parse_rtcp(bytes(theirs)) == [Pli(0xAAAA, 0xBBBB)]


@settings(max_examples=100, deadline=None)
@given(ssrc=u32, bitrate=st.integers(0, 10**10), ssrcs=st.lists(u32, max_size=20))
def test_remb_both_ways(ssrc, bitrate, ssrcs):
    (a,) = aiortc_rtp.RtcpPacket.parse(bytes(Remb(ssrc, bitrate, ssrcs)))
    assert isinstance(a, aiortc_rtp.RtcpPsfbPacket) and a.fmt == 15 and a.ssrc == ssrc
    assert aiortc_rtp.unpack_remb_fci(a.fci) == (Remb.representable(bitrate), ssrcs)
    theirs = aiortc_rtp.RtcpPsfbPacket(fmt=15, ssrc=ssrc, media_ssrc=0, fci=aiortc_rtp.pack_remb_fci(bitrate, ssrcs))
    assert parse_rtcp(bytes(theirs)) == [Remb(ssrc, Remb.representable(bitrate), ssrcs)]


def test_compound_from_a_session_parses_in_aiortc():
    sr = SenderReport(1, 2**63, 160, 10, 1600, [ReportBlock(2, 5, 3, 70000, 9, 1, 2)])
    compound = build_rtcp([sr, Sdes([SdesChunk(1, [(1, b"caller@rtlib")])]), GenericNack(1, 2, [5, 7]),
                           Pli(1, 2), Remb(1, 300_000, [2]), Bye([1])])
    types = [type(p).__name__ for p in aiortc_rtp.RtcpPacket.parse(compound)]
    assert types == ["RtcpSrPacket", "RtcpSdesPacket", "RtcpRtpfbPacket", "RtcpPsfbPacket", "RtcpPsfbPacket",
                     "RtcpByePacket"]
