"""Packetizers: audio ptime, VP8 (RFC 7741) and H.264 (RFC 6184), interop with aiortc, loss handling."""

import pytest
from hypothesis import given, settings, strategies as st

from rtlib.media.clips import synthetic_video
from rtlib.media.codecs import get_codec
from rtlib.media.codecs.video import h264_available
from rtlib.media.packetize import (
    AudioPacketizer, ParseError, RtpPayload, VideoDepacketizer, VideoPacketizer, Vp8Descriptor,
    audio_depacketize, h264_depacketize, h264_packetize, split_annexb, to_rtp_packets, vp8_depacketize,
    vp8_packetize, wire_bitrate_bps,
)


# --- audio ------------------------------------------------------------------------------

def test_audio_packets_carry_frames_and_advance_the_clock():
    c = get_codec("pcmu")
    pk = AudioPacketizer(c, frames_per_packet=2, initial_timestamp=1000)
    assert pk.packet_ms == 40
    frames = [bytes([i]) * 160 for i in range(4)]
    out = []
    out += pk.push(frames[0], talkspurt_start=True)
    assert out == []
    out += pk.push(frames[1])
    out += pk.push(frames[2])
    out += pk.push(frames[3])
    assert [p.timestamp for p in out] == [1000, 1320]
    assert [p.marker for p in out] == [True, False]
    assert audio_depacketize(c, out[1].payload) == frames[2:]
    pk.skip(3)
    assert pk.push(frames[0]) == [] and pk.push(frames[1])[0].timestamp == 1320 + 320 + 480


def test_g722_and_opus_clock_rates():
    g722 = AudioPacketizer(get_codec("g722"))
    assert [g722.push(b"\0" * 160)[0].timestamp for _ in range(3)] == [0, 160, 320]
    opus = AudioPacketizer(get_codec("opus", frame_ms=10))
    assert [opus.push(b"\0")[0].timestamp for _ in range(3)] == [0, 480, 960]


def test_frames_per_packet_only_for_sample_codecs():
    with pytest.raises(ValueError, match="frames_per_packet must be 1 for dvi4"):
        AudioPacketizer(get_codec("dvi4"), frames_per_packet=2)
    with pytest.raises(ParseError, match="whole 160-byte frames"):
        audio_depacketize(get_codec("pcmu"), b"\0" * 100)
    assert audio_depacketize(get_codec("opus"), b"abc") == [b"abc"]


def test_wire_bitrate():
    assert wire_bitrate_bps(160, 20) == 80_000                    # G.711, 20 ms, IPv4
    assert wire_bitrate_bps(160, 20, ip_version=6) == 88_000
    assert wire_bitrate_bps(60, 20, extra_bytes=10) == pytest.approx((60 + 50) * 8 * 50)
    with pytest.raises(ValueError, match="packet_ms"):
        wire_bitrate_bps(160, 0)
    with pytest.raises(ValueError, match="ip_version"):
        wire_bitrate_bps(160, 20, ip_version=5)


def test_to_rtp_packets_uses_rtlib_rtp():
    packet_mod = pytest.importorskip("rtlib.rtp.packet")
    payloads = [RtpPayload(b"\xff" * 160, 160 * i, i == 0) for i in range(3)]
    pkts = to_rtp_packets(payloads, payload_type=0, ssrc=0x1234, first_sequence_number=65535)
    assert [p.sequence_number for p in pkts] == [65535, 0, 1]
    wire = bytes(pkts[0])
    back = packet_mod.RtpPacket.parse(wire)
    assert back.marker and back.timestamp == 0 and back.payload == b"\xff" * 160


# --- VP8 ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def vp8_frames():
    c = get_codec("vp8", width=640, height=480, bitrate_bps=1_500_000)
    return [c.encode(f, keyframe=(i == 0)) for i, f in enumerate(synthetic_video(8, 640, 480))]


@pytest.mark.interop
def test_vp8_packetizer_matches_aiortc_both_ways(vp8_frames):
    from aiortc.codecs.vpx import Vp8Encoder, vp8_depayload

    assert len(vp8_frames[0]) > 1300        # the key frame needs fragmenting
    for i, frame in enumerate(vp8_frames):
        ours = vp8_packetize(frame, picture_id=100 + i, max_payload_bytes=1300)
        theirs = Vp8Encoder._packetize(frame, 100 + i)
        assert ours == theirs
        assert b"".join(vp8_depayload(p) for p in ours) == frame
        assert vp8_depacketize(theirs) == frame


@given(st.booleans(), st.integers(0, 15), st.booleans(), st.one_of(st.none(), st.integers(0, 0x7FFF)),
       st.binary(max_size=20))
def test_vp8_descriptor_roundtrip(start, pid, nonref, picture_id, data):
    d = Vp8Descriptor(start, pid, nonref, picture_id)
    parsed, rest = Vp8Descriptor.parse(d.to_bytes() + data)
    assert parsed == d and rest == data


@given(st.binary(max_size=4))
def test_vp8_descriptor_never_crashes_on_junk(junk):
    try:
        _, rest = Vp8Descriptor.parse(junk)
    except ParseError:
        return
    assert len(rest) < len(junk) and junk.endswith(rest)  # the descriptor took at least one leading byte


def test_vp8_depacketize_rejects_a_missing_start():
    parts = vp8_packetize(b"x" * 3000, 1, 1200)
    with pytest.raises(ParseError, match="start"):
        vp8_depacketize(parts[1:])


# --- H.264 --------------------------------------------------------------------------------

needs_h264 = pytest.mark.skipif(not h264_available(), reason="PyAV without libx264")


@pytest.fixture(scope="module")
def h264_frames():
    c = get_codec("h264", width=640, height=480, bitrate_bps=1_500_000)
    return [c.encode(f, keyframe=(i == 0)) for i, f in enumerate(synthetic_video(6, 640, 480))]


@needs_h264
@pytest.mark.interop
def test_h264_packetizer_interoperates_with_aiortc(h264_frames):
    from aiortc.codecs.h264 import H264Encoder, h264_depayload

    for frame in h264_frames:
        ours = h264_packetize(frame, 1300)
        assert all(len(p) <= 1300 for p in ours)
        assert split_annexb(b"".join(h264_depayload(p) for p in ours)) == split_annexb(frame)
        theirs = H264Encoder._packetize(H264Encoder._split_bitstream(frame))
        assert split_annexb(h264_depacketize(theirs)) == split_annexb(frame)
    kinds = {p[0] & 0x1F for p in h264_packetize(h264_frames[0], 1300)}
    assert 24 in kinds and 28 in kinds        # SPS+PPS aggregated (STAP-A), the IDR slice fragmented (FU-A)


nal = st.binary(min_size=1, max_size=3000).map(lambda b: bytes([0x60 | (1 + b[0] % 23)]) + b[1:].replace(b"\0\0", b"\0\1"))


@settings(max_examples=60)
@given(st.lists(nal, min_size=1, max_size=6), st.integers(100, 1500))
def test_h264_roundtrip_property(nals, max_payload):
    stream = b"".join(b"\0\0\0\1" + n for n in nals)
    packets = h264_packetize(stream, max_payload)
    assert all(len(p) <= max_payload for p in packets)
    assert split_annexb(h264_depacketize(packets)) == split_annexb(stream)


def test_h264_depacketize_errors():
    with pytest.raises(ParseError, match="FU-A fragment without its start"):
        h264_depacketize([bytes([0x7C, 0x05]) + b"abc"])
    with pytest.raises(ParseError, match="STAP-A"):
        h264_depacketize([bytes([0x78, 0x00, 0x09]) + b"ab"])
    with pytest.raises(ParseError, match="not supported"):
        h264_depacketize([bytes([0x7E])])


# --- video frames through packets, with loss ------------------------------------------------

def test_video_depacketizer_drops_a_frame_with_a_hole(vp8_frames):
    c = get_codec("vp8")
    pk, dp = VideoPacketizer(c, 500), VideoDepacketizer(c)
    packets = [p for f in vp8_frames[:3] for p in pk.push(f)]
    assert [p.timestamp for p in packets if p.marker] == [0, 3000, 6000]
    hole = 1                                   # the key frame's second fragment
    out = [dp.push(p.payload, p.timestamp, p.marker, seq) for seq, p in enumerate(packets) if seq != hole]
    frames = [f for f in out if f is not None]
    assert frames == vp8_frames[1:3] and dp.dropped_frames == 1
