"""RTP packets: known bytes, round-trips, header extensions, and ParseError only."""

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtlib.rtp import DEFAULT_EXTENSION_MAP, ExtensionMap, ParseError, RtpPacket, describe_header, is_rtcp, parse
from rtlib.rtp.extensions import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    TRANSPORT_CC_URI,
    decode_abs_send_time,
    decode_audio_level,
    encode_abs_send_time,
    encode_audio_level,
)
from rtlib.rtp.packet import parse_extension_elements
from tests.rtp.strategies import byte_edits, mutate, rtp_packets


def test_known_bytes_of_a_pcmu_packet():
    p = RtpPacket(0, 0x1234, 0x00010203, 0xCAFEBABE, b"\xff" * 160, marker=True)
    data = bytes(p)
    # V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq | ts | ssrc
    assert data[:12] == bytes.fromhex("8080 1234 00010203 cafebabe".replace(" ", ""))
    assert len(data) == 172
    assert RtpPacket.parse(data) == p


def test_header_fields_match_struct_by_hand():
    p = RtpPacket(111, 65535, 2**32 - 1, 1, b"abc", csrc=[7, 8])
    b0, b1, seq, ts, ssrc, c1, c2 = struct.unpack("!BBHIIII", bytes(p)[:20])
    assert (b0 >> 6, b0 & 0x0F, b1 & 0x7F, seq, ts, ssrc, c1, c2) == (2, 2, 111, 65535, 2**32 - 1, 1, 7, 8)


def test_one_byte_extension_layout_rfc8285():
    p = RtpPacket(96, 1, 2, 3, b"", extensions={1: b"\x85", 3: b"\x00\x07"})
    data = bytes(p)
    assert data[0] & 0x10
    # profile 0xBEDE, length 2 words, then (id 1, L=0) 0x85, (id 3, L=1) 00 07, then 3 bytes padding
    assert data[12:24] == bytes.fromhex("bede0002" "1085" "310007" "000000")
    assert RtpPacket.parse(data).extensions == {1: b"\x85", 3: b"\x00\x07"}


def test_two_byte_form_is_chosen_when_needed():
    for ext in ({20: b"x"}, {1: b""}, {2: bytes(17)}):
        p = RtpPacket(96, 1, 2, 3, extensions=ext)
        data = bytes(p)
        assert struct.unpack("!H", data[12:14])[0] == 0x1000
        q = RtpPacket.parse(data)
        assert q.extensions == ext and q == p


def test_one_byte_profile_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="one-byte extension id"):
        bytes(RtpPacket(96, 1, 2, 3, extensions={20: b"x"}, extension_profile=0xBEDE))
    with pytest.raises(ValueError, match="1-16 bytes"):
        bytes(RtpPacket(96, 1, 2, 3, extensions={2: bytes(17)}, extension_profile=0xBEDE))


def test_one_byte_id_15_stops_processing_and_padding_is_skipped():
    body = bytes([0x10, 0xAA, 0x00, 0x00, 0xF3, 0x20, 0xBB, 0x00])
    assert parse_extension_elements(0xBEDE, body) == {1: b"\xaa"}
    assert parse_extension_elements(0x1000, bytes([0, 0, 5, 2, 1, 2, 0, 0])) == {5: b"\x01\x02"}


def test_generic_rfc3550_extension_is_kept_raw():
    p = RtpPacket(96, 1, 2, 3, b"pl", extension_profile=0xABCD, extension_data=b"12345678")
    q = RtpPacket.parse(bytes(p))
    assert q.extension_profile == 0xABCD and q.extension_data == b"12345678" and q.extensions == {}
    with pytest.raises(ValueError, match="multiple of 4"):
        bytes(RtpPacket(extension_profile=0xABCD, extension_data=b"123"))


def test_padding_round_trip_and_count_byte():
    p = RtpPacket(0, 1, 2, 3, b"abc", padding_size=5)
    data = bytes(p)
    assert data[0] & 0x20 and data[-1] == 5 and data[-5:-1] == bytes(4)
    assert RtpPacket.parse(data) == p


@pytest.mark.parametrize("bad, match", [
    (b"\x80\x00", "shorter than the 12-byte"),
    (bytes.fromhex("40000001000000000000000000"), "version must be 2"),
    (bytes.fromhex("83000001000000000000000000000000"), "CSRCs"),
    (bytes.fromhex("900000010000000000000000bede"), "extension is truncated"),
    (bytes.fromhex("900000010000000000000000bede000110"), "runs past the packet"),
    (bytes.fromhex("900000010000000000000000bede000133aa0000"), "runs past the extension"),
    (bytes.fromhex("a00000010000000000000000aa00"), "padding count 0"),
    (bytes.fromhex("a00000010000000000000000aa09"), "padding count 9"),
])
def test_malformed_packets_raise_parse_error(bad, match):
    with pytest.raises(ParseError, match=match):
        RtpPacket.parse(bad)


def test_parse_error_is_a_value_error():
    assert issubclass(ParseError, ValueError)


@pytest.mark.parametrize("field, value", [("payload_type", 128), ("sequence_number", 65536), ("timestamp", -1),
                                          ("ssrc", 2**32), ("payload_type", 1.5)])
def test_out_of_range_fields_name_themselves(field, value):
    p = RtpPacket()
    setattr(p, field, value)
    with pytest.raises(ValueError, match=field):
        bytes(p)


def test_too_many_csrcs():
    with pytest.raises(ValueError, match="15"):
        bytes(RtpPacket(csrc=range(16)))


def test_named_extensions_round_trip():
    ext = DEFAULT_EXTENSION_MAP.encode(abs_send_time_s=12.345, transport_seq=65535, audio_level_dbov=-42, voice=True)
    p = RtpPacket.parse(bytes(RtpPacket(111, 1, 2, 3, extensions=ext)))
    named = DEFAULT_EXTENSION_MAP.decode(p.extensions)
    assert named.transport_seq == 65535 and named.audio_level_dbov == -42 and named.voice is True
    assert named.abs_send_time_s == pytest.approx(12.345, abs=2**-18)


def test_abs_send_time_wraps_every_64_seconds():
    assert decode_abs_send_time(encode_abs_send_time(64.5)) == pytest.approx(0.5, abs=2**-18)
    assert encode_abs_send_time(1.0) == bytes.fromhex("040000")  # 1 s = 2**18


def test_audio_level_rfc6464_bits():
    assert encode_audio_level(-30, voice=True) == bytes([0x80 | 30])
    assert decode_audio_level(bytes([0x7F])) == (False, -127)
    with pytest.raises(ValueError, match="level_dbov"):
        encode_audio_level(5)


def test_named_values_of_the_wrong_size_raise_parse_error():
    with pytest.raises(ParseError, match="abs-send-time"):
        DEFAULT_EXTENSION_MAP.decode({2: b"\x00\x01"})
    with pytest.raises(ParseError, match="transport-wide"):
        DEFAULT_EXTENSION_MAP.decode({3: b"\x00"})


def test_extension_map_from_sdp_uris_and_checks():
    m = ExtensionMap.from_uris({AUDIO_LEVEL_URI: 5, ABS_SEND_TIME_URI: 6, TRANSPORT_CC_URI: 7, "urn:x": 9})
    assert (m.audio_level, m.abs_send_time, m.transport_seq) == (5, 6, 7)
    assert ExtensionMap.from_uris(m.uris()) == m
    with pytest.raises(ValueError, match="distinct"):
        ExtensionMap(1, 1, 2)


def test_is_rtcp_rfc5761():
    assert is_rtcp(bytes([0x80, 200])) and is_rtcp(bytes([0x80, 223]))
    assert not is_rtcp(bytes(RtpPacket(0, 1, 2, 3))) and not is_rtcp(bytes(RtpPacket(96, marker=True)))


def test_describe_header_lists_fields_in_wire_order():
    data = bytes(RtpPacket(0, 513, 160, 0xABCDEF01, b"\xff" * 4, marker=True, extensions={1: b"\x85"}))
    rows = describe_header(data)
    names = [r["field"] for r in rows]
    assert names[:9] == ["V (version)", "P (padding)", "X (extension)", "CC (CSRC count)", "M (marker)",
                         "PT (payload type)", "sequence number", "timestamp", "SSRC"]
    assert rows[6]["value"] == 513 and rows[6]["hex"] == "0201"
    assert any(r["field"] == "extension profile" for r in rows) and rows[-1]["field"] == "payload"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtp_packets())
def test_build_then_parse_round_trips(p):
    data = bytes(p)
    q = RtpPacket.parse(data)
    assert q == p
    assert bytes(q) == data
    if not is_rtcp(data):  # RFC 5761: marker + PT 64-95 looks like RTCP; avoid them when muxing
        assert parse(data) == p


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_raise_parse_error_only(data):
    try:
        p = RtpPacket.parse(data)
    except ParseError:
        return
    # whatever parses re-serialises to something that parses the same
    assert RtpPacket.parse(bytes(p)) == p


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtp_packets(), byte_edits(400))
def test_mutated_packets_raise_parse_error_only(p, edits):
    data = mutate(bytes(p), edits)
    try:
        q = RtpPacket.parse(bytes(data))
    except ParseError:
        return
    assert RtpPacket.parse(bytes(q)) == q


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rtp_packets())
def test_describe_and_dissect_any_packet(p):
    from rtlib.rtp.dissect import dissect

    data = bytes(p)
    rows = describe_header(data)
    assert rows[6]["value"] == p.sequence_number
    covered = sum(len(bytes.fromhex(r["hex"].rstrip("…"))) for r in rows[5:] if "…" not in r["hex"])
    assert covered <= len(data)
    d = dissect(data)
    assert "RTP packet" in d._repr_html_() and "sequence number" in repr(d)


def test_parse_accepts_memoryview_and_bytearray():
    data = bytes(RtpPacket(0, 1, 2, 3, b"xyz", extensions={1: b"a"}))
    assert RtpPacket.parse(memoryview(data)) == RtpPacket.parse(bytearray(data)) == RtpPacket.parse(data)
