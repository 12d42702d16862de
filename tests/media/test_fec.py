"""FEC: RFC 5109 parity packets, recovery, RED (RFC 2198) and the trace-level helpers."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rtlib.media.fec import (
    FecDecoder, FecEncoder, FecPacket, fec_recover, fec_schedule, make_fec_packet, recover, red_pack, red_recover,
    red_unpack,
)
from rtlib.rtp import ParseError, RtpPacket


def media_packet(seq, payload, *, ts=None, ssrc=0x1234ABCD, pt=0, marker=False, csrc=(), padding=0, ext=None):
    return bytes(RtpPacket(pt, seq & 0xFFFF, (160 * seq if ts is None else ts) & 0xFFFFFFFF, ssrc, payload,
                           marker=marker, csrc=csrc, padding_size=padding, extensions=ext))


@st.composite
def groups(draw, max_k=16):
    """k media packets of one SSRC with consecutive (wrapping) sequence numbers and varied headers."""
    k = draw(st.integers(1, max_k))
    seq0 = draw(st.integers(0, 0xFFFF))
    ssrc = draw(st.integers(0, 2**32 - 1))
    packets = []
    for i in range(k):
        payload = draw(st.binary(min_size=0, max_size=200))
        packets.append(media_packet(
            seq0 + i, payload, ts=draw(st.integers(0, 2**32 - 1)), ssrc=ssrc, pt=draw(st.integers(0, 127)),
            marker=draw(st.booleans()), csrc=draw(st.lists(st.integers(0, 2**32 - 1), max_size=3)),
            padding=draw(st.sampled_from([0, 0, 1, 4, 17])),
            ext=draw(st.sampled_from([None, {1: b"\x01"}, {3: b"abcd", 5: b"xy"}]))))
    return packets


@settings(max_examples=300, deadline=None)
@given(groups(), st.data())
def test_every_single_loss_in_a_group_is_recovered_bit_for_bit(media, data):
    fec = make_fec_packet(media, seq=data.draw(st.integers(0, 0xFFFF)))
    i = data.draw(st.integers(0, len(media) - 1))
    rest = media[:i] + media[i + 1:]
    order = data.draw(st.permutations(rest))  # arrival order does not matter
    assert recover(fec, order) == media[i]


@settings(max_examples=300, deadline=None)
@given(groups(), st.data())
def test_two_losses_are_never_invented(media, data):
    assume(len(media) >= 2)
    fec = make_fec_packet(media)
    lost = data.draw(st.lists(st.integers(0, len(media) - 1), min_size=2, max_size=len(media), unique=True))
    rest = [p for i, p in enumerate(media) if i not in lost]
    assert recover(fec, rest) is None
    dec = FecDecoder()
    for p in rest:
        assert dec.push_media(p) == []
    assert dec.push_fec(fec) == [] and dec.recovered == 0


@settings(max_examples=100, deadline=None)
@given(groups())
def test_nothing_missing_nothing_recovered_and_parse_roundtrip(media):
    fec = make_fec_packet(media, seq=7)
    assert recover(fec, media) is None
    f = FecPacket.parse(fec)
    assert bytes(f) == fec
    assert f.protected() == [RtpPacket.parse(p).sequence_number for p in media]
    assert f.seq == 7 and f.ssrc == RtpPacket.parse(media[0]).ssrc and not f.long_mask


def test_fec_header_fields_by_hand():
    a = media_packet(100, b"\x01\x02\x03", ts=1000, pt=0, marker=True)
    b = media_packet(101, b"\xf0", ts=1160, pt=8)
    fec = make_fec_packet([a, b], seq=5)
    f = FecPacket.parse(fec)
    assert fec[12] >> 7 == 0 and (fec[12] >> 6) & 1 == 0  # E = 0, L = 0 (16-bit mask)
    assert fec[13] == 0x80 | (0 ^ 8)  # M recovery = 1 ^ 0, PT recovery = 0 ^ 8
    assert f.sn_base == 100 and f.mask == 0b11 << 14
    assert int.from_bytes(fec[16:20], "big") == 1000 ^ 1160  # TS recovery
    assert int.from_bytes(fec[20:22], "big") == 3 ^ 1  # length recovery
    assert int.from_bytes(fec[22:24], "big") == 3  # protection length = longest payload
    assert fec[26:] == bytes([0x01 ^ 0xF0, 0x02, 0x03])
    assert len(fec) == 12 + 10 + 4 + 3


def test_sequence_numbers_wrap_and_long_mask():
    media = [media_packet(s, bytes([s & 0xFF])) for s in (65534, 65535, 0, 1)]
    f = FecPacket.parse(make_fec_packet(media))
    assert f.sn_base == 65534 and f.protected() == [65534, 65535, 0, 1]
    spread = [media_packet(s, b"x") for s in (10, 30, 57)]
    g = FecPacket.parse(make_fec_packet(spread))
    assert g.long_mask and g.protected() == [10, 30, 57]
    assert recover(make_fec_packet(spread), spread[:2]) == spread[2]
    with pytest.raises(ValueError, match="within 48"):
        make_fec_packet([media_packet(0, b""), media_packet(48, b"")])
    with pytest.raises(ValueError, match="one SSRC"):
        make_fec_packet([media_packet(0, b"", ssrc=1), media_packet(1, b"", ssrc=2)])


def test_encoder_and_decoder_across_groups():
    enc, dec = FecEncoder(3, first_seq=9), FecDecoder()
    media = [media_packet(i, bytes([i]) * (i + 1)) for i in range(9)]
    wire = []
    for p in media:
        wire.append(("m", p))
        wire += [("f", f) for f in enc.push(p)]
    assert sum(kind == "f" for kind, _ in wire) == 3
    lost = {1, 4, 5}  # group 0 loses one (recoverable), group 1 loses two (not), group 2 none
    got = []
    for kind, data in wire:
        if kind == "m" and RtpPacket.parse(data).sequence_number in lost:
            continue
        got += dec.push_media(data) if kind == "m" else dec.push_fec(data)
    assert got == [media[1]] and dec.recovered == 1


def test_malformed_fec_packets_raise_parse_error():
    good = make_fec_packet([media_packet(1, b"abc")])
    for bad in (good[:20], good[:12] + bytes([0x80]) + good[13:], good[:24], b"\x00" * 30,
                good[:24] + b"\x00\x00" + good[26:]):
        with pytest.raises(ParseError):
            FecPacket.parse(bad)
    with pytest.raises(ParseError):
        recover(good, [b"\x80\x00"])


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=80))
def test_fec_parser_never_raises_anything_but_parse_error(data):
    try:
        FecPacket.parse(data)
    except ParseError:
        pass


def test_red_roundtrip_and_errors():
    payload = red_pack(b"new", 0, [(0, 320, b"older"), (0, 160, b"old")])
    assert payload[:4] == bytes([0x80, 0x05, 0x00, 0x05])  # F=1, PT 0, offset 320 << 10, length 5
    assert red_unpack(payload) == [(0, 320, b"older"), (0, 160, b"old"), (0, 0, b"new")]
    assert red_unpack(red_pack(b"solo", 111)) == [(111, 0, b"solo")]
    for bad in (b"", b"\x80\x00", b"\x80\x00\x00\x09\x00abc"):
        with pytest.raises(ParseError):
            red_unpack(bad)
    with pytest.raises(ValueError, match="shorter than 1024"):
        red_pack(b"", 0, [(0, 0, b"x" * 1024)])


# -- trace level ---------------------------------------------------------------------
def test_fec_schedule_puts_one_fec_after_each_group():
    send, is_fec, group = fec_schedule(0.02 * np.arange(10), 4)
    assert is_fec.sum() == 2 and len(send) == 12
    assert list(np.flatnonzero(is_fec)) == [4, 9]
    assert np.all(np.diff(send) >= 0) and list(group[is_fec]) == [0, 1]


def test_fec_recover_timing_and_limits():
    send, is_fec, group = fec_schedule(0.02 * np.arange(8), 4)
    arrival = send + 0.05
    media_idx = np.flatnonzero(~is_fec)
    arrival[media_idx[1]] = np.nan  # one loss in group 0: repaired when the FEC packet arrives
    arrival[media_idx[[4, 6]]] = np.nan  # two in group 1: not repaired
    out = fec_recover(arrival, is_fec, group, 4)
    assert out[1] == pytest.approx(0.06 + 0.05)
    assert np.isnan(out[4]) and np.isnan(out[6])
    arrival[np.flatnonzero(is_fec)[0]] = np.nan  # FEC packet lost: no repair
    assert np.isnan(fec_recover(arrival, is_fec, group, 4)[1])


def test_red_recover():
    arr = np.array([0.1, np.nan, 0.14, np.nan, np.nan, 0.2])
    assert np.allclose(red_recover(arr, 1), [0.1, 0.14, 0.14, np.nan, 0.2, 0.2], equal_nan=True)
    assert np.allclose(red_recover(arr, 2), [0.1, np.nan, 0.14, 0.2, np.nan, 0.2], equal_nan=True)
    with pytest.raises(ValueError, match="distance"):
        red_recover(arr, 0)
