"""RTCP packets: known layouts, compound round-trips, transport-cc chunks, ParseError only."""

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtlib.rtp import (
    App,
    Bye,
    Feedback,
    Fir,
    GenericNack,
    ParseError,
    Pli,
    RawRtcp,
    ReceiverReport,
    Remb,
    ReportBlock,
    Sdes,
    SdesChunk,
    SenderReport,
    TransportCC,
    build_rtcp,
    parse_rtcp,
)
from tests.rtp.strategies import byte_edits, compounds, mutate, rtcp_packets


def test_sender_report_layout():
    sr = SenderReport(0x11223344, 0x0102030405060708, 160, 5, 800,
                      [ReportBlock(0xAABBCCDD, 26, -2, 70000, 12, 0x12345678, 65536)])
    data = bytes(sr)
    assert data[:4] == bytes([0x81, 200, 0, 12])  # V=2, RC=1, PT=200, 13 words - 1
    assert len(data) == 52
    assert data[32:36] == bytes([26, 0xFF, 0xFF, 0xFE])  # fraction lost, then -2 as 24-bit two's complement
    assert parse_rtcp(data) == [sr]
    assert sr.lsr == 0x03040506


def test_sdes_chunks_are_word_aligned_with_a_null_terminator():
    for n in range(0, 9):  # every alignment of the item
        sd = Sdes([SdesChunk(1, [(1, b"x" * n)]), SdesChunk(2, [(1, b"ab")])])
        data = bytes(sd)
        assert len(data) % 4 == 0
        first_chunk_len = 4 + 2 + n + 1
        first_chunk_len += -first_chunk_len % 4
        assert data[4 + first_chunk_len: 8 + first_chunk_len] == struct.pack("!I", 2)
        assert parse_rtcp(data) == [sd]
        assert sd.chunks[0].cname == "x" * n


def test_bye_with_reason():
    bye = Bye([1, 2], "call ended")
    data = bytes(bye)
    assert data[12] == len("call ended")
    assert parse_rtcp(data) == [bye]


def test_generic_nack_pid_blp_and_wrap():
    nack = GenericNack(1, 2, [65534, 65535, 0, 1, 20])
    data = bytes(nack)
    # FCI 1: PID 65534, BLP bits 0,1,2 (65535, 0, 1); FCI 2: PID 20
    assert data[12:20] == struct.pack("!HHHH", 65534, 0b111, 20, 0)
    assert parse_rtcp(data) == [nack]
    with pytest.raises(ValueError, match="at least one"):
        bytes(GenericNack(1, 2, []))


def _circular_span(seqs):
    """Total forward distance walked along the 16-bit circle when visiting ``seqs`` in order."""
    return sum((b - a) & 0xFFFF for a, b in zip(seqs, seqs[1:]))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=300) | st.lists(
    st.integers(65500, 65600).map(lambda s: s & 0xFFFF), min_size=1, max_size=80))
def test_generic_nack_canonicalises_any_list_and_round_trips(lost):
    nack = GenericNack(7, 8, list(lost))
    assert parse_rtcp(bytes(nack)) == [nack]                 # round-trips whatever order or repeats it got
    assert set(nack.lost) == set(lost) and len(nack.lost) == len(set(lost))
    assert _circular_span(nack.lost) < 0x10000               # one pass around the circle, no step back
    if len(nack.lost) > 1:                                   # and it starts after the largest gap
        wrap_gap = (nack.lost[0] - nack.lost[-1]) & 0xFFFF
        assert all(wrap_gap >= (b - a) & 0xFFFF for a, b in zip(nack.lost, nack.lost[1:]))
    assert GenericNack(7, 8, list(reversed(lost))) == nack   # the order given does not matter


def test_generic_nack_canonical_order_across_the_wrap():
    assert GenericNack(1, 2, [1, 65535, 0, 1, 1]).lost == [65535, 0, 1]
    assert GenericNack(1, 2, [300, 3, 5, 3]).lost == [3, 5, 300]
    assert GenericNack(1, 2, [32768, 0]).lost == [0, 32768]  # a tie: plain numeric order


def test_generic_nack_from_another_encoder_parses_to_the_canonical_list():
    # overlapping and unordered FCIs (RFC 4585 does not forbid them): PID 10 + bit for 12, PID 5, PID 11
    fci = struct.pack("!HHHHHH", 10, 0b10, 5, 0, 11, 0)
    data = struct.pack("!BBHII", 0x80 | 1, 205, 2 + 3, 1, 2) + fci
    (nack,) = parse_rtcp(data)
    assert nack.lost == [5, 10, 11, 12]
    assert parse_rtcp(bytes(nack)) == [nack] and len(bytes(nack)) == 16  # re-encoded as one FCI


@pytest.mark.parametrize("lost, match", [([65536], "lost sequence number"), ([-1], "lost sequence number"),
                                         ([1.5], "lost sequence number"), ("12", "list of 16-bit")])
def test_generic_nack_bad_lists_are_named(lost, match):
    with pytest.raises(ValueError, match=match):
        GenericNack(1, 2, lost)


def test_fir_and_pli():
    fir = Fir(1, [(0xABC, 7), (0xDEF, 255)])
    assert bytes(fir)[1] == 206 and bytes(fir)[0] & 0x1F == 4
    assert parse_rtcp(bytes(fir) + bytes(Pli(1, 2))) == [fir, Pli(1, 2)]


def test_remb_mantissa_exponent():
    remb = Remb(1, 1_000_000, [0xA, 0xB])
    data = bytes(remb)
    assert data[12:16] == b"REMB" and data[16] == 2
    assert data[17:20] == bytes([(2 << 2) | 3, 0xD0, 0x90])  # exponent 2, mantissa 250000 = 0x3D090
    back = parse_rtcp(data)[0]
    assert back.bitrate_bps == Remb.representable(1_000_000) <= 1_000_000
    assert 1_000_000 - back.bitrate_bps < 1_000_000 / 2**17
    assert Remb.representable(200_000) == 200_000  # < 2**18: exact
    assert Remb.representable(2**18 + 1) == 2**18  # the low bit does not fit the 18-bit mantissa


def test_app_packet():
    app = App(5, "RTLB", 3, b"data1234")
    assert parse_rtcp(bytes(app)) == [app]
    with pytest.raises(ValueError, match="4 ASCII"):
        bytes(App(5, "toolong"))


def test_transport_cc_from_arrivals_and_back():
    arrivals = [1.000, None, 1.0203, 1.02, None, None] + [1.1 + 0.001 * i for i in range(30)] + [3.0]
    fb = TransportCC.from_arrivals(1, 2, 65530, arrivals, fb_pkt_count=9)
    back = parse_rtcp(bytes(fb))[0]
    assert back == fb
    assert back.sequence_numbers()[:7] == [65530, 65531, 65532, 65533, 65534, 65535, 0]
    for a, b in zip(arrivals, back.arrival_times_s()):
        assert (a is None and b is None) or abs(a - b) <= 125e-6 + 1e-9
    assert fb.reference_time == int(1.000 // 0.064)


def test_transport_cc_chunk_kinds():
    # 14 one-bit symbols -> one status vector chunk; a long run -> run-length; a mix with large deltas -> 2-bit
    assert TransportCC.encode_chunks([1, 0] * 7) == [0x8000 | 0b10101010101010]
    assert TransportCC.encode_chunks([1] * 100) == [(1 << 13) | 100]
    assert TransportCC.encode_chunks([2, 1, 0]) == [0xC000 | (2 << 12) | (1 << 10)]
    assert TransportCC.encode_chunks([0] * 9000) == [8191, 809]


def _tcc_bytes(fci: bytes) -> bytes:
    fci += b"\x00" * (-len(fci) % 4)
    return struct.pack("!BBH", 0x80 | 15, 205, (8 + len(fci)) // 4) + struct.pack("!II", 7, 8) + fci


# base 100, 3 packets, reference time 5, feedback count 1; one run-length chunk "small delta" x3; deltas 4, 8, 1
HAND_FCI = struct.pack("!HHI", 100, 3, (5 << 8) | 1) + struct.pack("!H", (1 << 13) | 3) + bytes([4, 8, 1])


def test_transport_cc_parses_hand_made_packet():
    fb = parse_rtcp(_tcc_bytes(HAND_FCI))[0]
    assert isinstance(fb, TransportCC)
    assert (fb.base_seq, fb.reference_time, fb.fb_pkt_count, fb.recv_deltas) == (100, 5, 1, [4, 8, 1])
    assert fb.arrival_times_s() == pytest.approx([0.321, 0.323, 0.32325])


@pytest.mark.parametrize("mutate, match", [
    (lambda f: f[:2] + struct.pack("!H", 0) + f[4:], "status count 0"),
    (lambda f: f[:8] + struct.pack("!H", 3 << 13 | 3) + f[10:], "reserved symbol"),
    (lambda f: f[:8] + struct.pack("!H", 0xC000 | 3 << 12) + f[10:], "reserved symbol"),
    (lambda f: f[:10], "deltas are truncated"),
    (lambda f: f[:2] + struct.pack("!H", 30) + f[4:10], "chunks are truncated"),
    (lambda f: f[:6], "truncated"),
])
def test_transport_cc_malformed(mutate, match):
    with pytest.raises(ParseError, match=match):
        parse_rtcp(_tcc_bytes(mutate(HAND_FCI)))


def test_transport_cc_build_checks():
    with pytest.raises(ValueError, match="recv_deltas"):
        bytes(TransportCC(1, 2, 0, 0, 0, [40000]))
    with pytest.raises(ValueError, match="1 to 65535"):
        bytes(TransportCC(1, 2, 0, 0, 0, []))
    with pytest.raises(ValueError, match="at least one"):
        TransportCC.from_arrivals(1, 2, 0, [None, float("nan")])


def test_unknown_types_are_kept():
    pkts = [RawRtcp(207, 2, b"abcdefgh"), Feedback(205, 3, 1, 2, b"1234"), RawRtcp(210, 0, b"abc")]
    assert parse_rtcp(build_rtcp(pkts)) == pkts


def test_padding_on_the_last_packet():
    bye = bytes(Bye([5]))
    padded = bytes([bye[0] | 0x20, bye[1], 0, 2]) + bye[4:] + b"\x00\x00\x00\x04"
    assert parse_rtcp(bytes(ReceiverReport(1)) + padded) == [ReceiverReport(1), Bye([5])]


@pytest.mark.parametrize("bad, match", [
    (b"", "empty"),
    (b"\x81\xc8\x00", "header truncated"),
    (bytes.fromhex("41c90001aaaaaaaa"), "version must be 2"),
    (bytes.fromhex("80640001aaaaaaaa"), "packet type"),
    (bytes.fromhex("81c90002aaaaaaaa"), "announces 8 bytes"),
    (bytes.fromhex("a1cb0001aaaaaa00"), "padding count 0"),
    (bytes.fromhex("80cc0001aaaaaaaa"), "APP is 4 bytes"),
    (bytes.fromhex("81ce0003000000010000000212345678"), "PLI must carry no FCI"),
    (bytes.fromhex("81cd0002aaaaaaaabbbbbbbb"), "one or more 4-byte FCI"),
    (bytes.fromhex("84ce0003aaaaaaaabbbbbbbb12345678"), "FIR needs"),
    (bytes.fromhex("8fce0004aaaaaaaa0000000052454d4203000001"), "REMB announces 3"),
    (bytes.fromhex("82cb000104746f6f"), "announces 2 sources"),
])
def test_malformed_rtcp_raises_parse_error(bad, match):
    with pytest.raises(ParseError, match=match):
        parse_rtcp(bad)


@pytest.mark.parametrize("make, match", [
    (lambda: ReportBlock(1, fraction_lost=256), "fraction_lost"),
    (lambda: ReportBlock(1, packets_lost=1 << 23), "packets_lost"),
    (lambda: SenderReport(1, ntp_timestamp=-1), "ntp_timestamp"),
    (lambda: ReceiverReport(1, [ReportBlock(1)] * 32), "31"),
    (lambda: Sdes([SdesChunk(1, [(1, bytes(256))])]), "255 bytes"),
    (lambda: Remb(1, -5), "bitrate_bps"),
])
def test_out_of_range_fields_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        bytes(make())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(compounds)
def test_compound_round_trips(pkts):
    data = build_rtcp(pkts)
    assert parse_rtcp(data) == pkts


def _normal(pkts):
    """Compare NACKs as sets: a parsed NACK's PIDs may overlap in ways the builder merges."""
    return [sorted(set(p.lost)) if isinstance(p, GenericNack) else p for p in pkts]


@settings(max_examples=800, deadline=None)
@given(st.binary(max_size=160))
def test_random_bytes_raise_parse_error_only(data):
    try:
        pkts = parse_rtcp(data)
    except ParseError:
        return
    assert _normal(parse_rtcp(build_rtcp(pkts))) == _normal(pkts)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(compounds, byte_edits(2000))
def test_mutated_compounds_raise_parse_error_only(pkts, edits):
    data = mutate(build_rtcp(pkts), edits)
    try:
        out = parse_rtcp(bytes(data))
    except ParseError:
        return
    assert _normal(parse_rtcp(build_rtcp(out))) == _normal(out)


@given(rtcp_packets)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_every_truncation_raises_parse_error(p):
    data = bytes(p)
    for cut in range(0, len(data), max(1, len(data) // 16)):
        try:
            parse_rtcp(data[:cut])
        except ParseError:
            continue
        raise AssertionError(f"truncated {type(p).__name__} at {cut}/{len(data)} bytes parsed")
