"""RFC 4588 retransmissions: the payload format, interop with aiortc, and the session endpoints."""

import pytest
from aiortc import rtp as artp
from hypothesis import given
from hypothesis import strategies as st

from rtlib.rtp import ParseError, RtpPacket
from rtlib.rtp.call import simulate_session
from rtlib.rtp.rtcp import parse_rtcp
from rtlib.rtp.rtx import unwrap_rtx, wrap_rtx
from rtlib.rtp.session import RtpReceiver, RtpSender
from tests.rtp.strategies import rtp_packets, u16, u32


def test_wrap_puts_the_original_sequence_number_first_and_keeps_timestamp_and_marker():
    p = RtpPacket(96, 0x1234, 90000, 0xAAAA, b"frame", marker=True, csrc=(7,), extensions={1: b"\x05"})
    r = wrap_rtx(p, ssrc=0xBBBB, payload_type=97, sequence_number=3)
    assert (r.ssrc, r.payload_type, r.sequence_number) == (0xBBBB, 97, 3)
    assert r.payload == b"\x12\x34frame"
    assert (r.timestamp, r.marker, r.csrc, r.extensions) == (90000, True, (7,), {1: b"\x05"})
    assert unwrap_rtx(RtpPacket.parse(bytes(r)), ssrc=0xAAAA, payload_type=96) == p


@given(rtp_packets(), u32, st.integers(0, 127), u16)
def test_unwrap_undoes_wrap(p, ssrc, pt, seq):
    r = RtpPacket.parse(bytes(wrap_rtx(p, ssrc=ssrc, payload_type=pt, sequence_number=seq)))
    back = unwrap_rtx(r, ssrc=p.ssrc, payload_type=p.payload_type)
    assert (back.sequence_number, back.payload, back.timestamp, back.marker) == \
        (p.sequence_number, p.payload, p.timestamp, p.marker)


def test_a_payload_without_room_for_the_osn_is_a_parse_error():
    with pytest.raises(ParseError, match="original sequence number"):
        unwrap_rtx(RtpPacket(97, 1, 0, 2, b"\x01"), ssrc=1, payload_type=96)


def test_our_rtx_bytes_unwrap_in_aiortc_and_aiortcs_in_ours():
    p = RtpPacket(96, 4242, 123456, 0xAAAA, b"\x90\x80payload", marker=True)
    ours = bytes(wrap_rtx(p, ssrc=0xBBBB, payload_type=97, sequence_number=17))
    theirs = artp.wrap_rtx(artp.RtpPacket.parse(bytes(p)), payload_type=97, sequence_number=17, ssrc=0xBBBB)
    assert bytes(theirs.serialize()) == ours
    got = artp.unwrap_rtx(artp.RtpPacket.parse(ours), payload_type=96, ssrc=0xAAAA)
    assert (got.sequence_number, got.payload, got.timestamp, got.marker) == (4242, p.payload, 123456, 1)
    assert unwrap_rtx(RtpPacket.parse(bytes(theirs.serialize())), ssrc=0xAAAA, payload_type=96) == p


def test_sender_rejects_an_rtx_stream_that_is_not_separate():
    with pytest.raises(ValueError, match="rtx_ssrc and rtx_payload_type must differ"):
        RtpSender(1, 96, 90000, rtx_ssrc=1)
    with pytest.raises(ValueError, match="rtx_ssrc and rtx_payload_type must differ"):
        RtpSender(1, 97, 90000, rtx_ssrc=2, rtx_payload_type=97)


def video_pair():
    tx = RtpSender(0xAAAA, 96, 90000, kind="video", mtu_bytes=300, rtx_ssrc=0xBBBB, rtx_payload_type=97, rtx_seq=500)
    rx = RtpReceiver(0xCC, 90000, kind="video", rtx_payload_types={97: 96}, rtx_ssrcs={0xBBBB: 0xAAAA})
    return tx, rx


def test_a_nacked_video_packet_comes_back_as_rtx_and_completes_its_frame():
    tx, rx = video_pair()
    first = tx.send_frame(bytes(range(200)) * 3, 0.0)        # 3 packets
    second = tx.send_frame(b"\x01" * 500, 1 / 30)
    for d in first[:1] + first[2:] + second:                  # the frame's middle packet is lost
        assert rx.receive(d, 0.05) == [] or d in second
    (nack,) = rx.datagrams_to_send()
    (rtx,) = tx.receive_rtcp(nack, 0.1)
    r = RtpPacket.parse(rtx)
    assert (r.ssrc, r.payload_type, r.sequence_number) == (0xBBBB, 97, 500)
    frames = rx.receive(rtx, 0.15)
    assert [f.payload for f in frames] == [bytes(range(200)) * 3]
    src = rx.sources[0xAAAA]
    assert src.lost == 1                                      # the stream's loss is before repair
    assert (rx.rtx_received, rx.rtx_repaired, rx.rtx_duplicates) == (1, 1, 0)
    assert rx.next_deadline_s() == rx._next_rtcp_s            # no NACK retry left for it
    assert rx.receive(rtx, 0.2) == [] and rx.rtx_duplicates == 1


def test_rtx_from_an_unknown_stream_or_too_short_is_dropped_not_fatal():
    tx, rx = video_pair()
    rx.receive(tx.send_frame(b"\x00" * 100, 0.0)[0], 0.05)
    stray = bytes(wrap_rtx(RtpPacket(96, 0, 0, 0xAAAA, b"x"), ssrc=0xDDDD, payload_type=97, sequence_number=0))
    assert rx.receive(stray, 0.1) == [] and rx.rtx_unknown == 1
    short = bytes(RtpPacket(97, 1, 0, 0xBBBB, b"\x00"))
    assert rx.receive(short, 0.1) == [] and rx.invalid == 1


def test_with_rtx_the_reports_show_the_networks_jitter_not_the_repairs():
    plain = simulate_session(seconds=20, loss=0.05, seed=4, rtx=False)
    rtx = simulate_session(seconds=20, loss=0.05, seed=4, rtx=True)
    jitter = {name: max(rb.jitter for _, rb in r.report_blocks) / 8 for name, r in (("plain", plain), ("rtx", rtx))}
    # 5 ms of mean path jitter gives J of about 4-6 ms; retransmissions a round trip late push it past 20
    assert jitter["rtx"] < 8 < 20 < jitter["plain"]
    assert rtx.frames_received == plain.frames_received == 1000
    assert rtx.repaired == rtx.lost > 0 and plain.lost == 0   # loss before repair vs after it
    assert rtx.retransmitted >= rtx.repaired


def test_nack_bytes_name_the_media_stream_not_the_rtx_one():
    tx, rx = video_pair()
    pk = tx.send_frame(b"\x00" * 100, 0.0) + tx.send_frame(b"\x00" * 100, 0.1) + tx.send_frame(b"\x00" * 100, 0.2)
    rx.receive(pk[0], 0.05)
    rx.receive(pk[2], 0.25)
    (nack,) = rx.datagrams_to_send()
    (fb,) = parse_rtcp(nack)
    assert fb.media_ssrc == 0xAAAA


def test_an_original_arriving_after_its_repair_is_a_duplicate_not_a_second_frame():
    tx = RtpSender(0xAAAA, 0, 8000, rtx_ssrc=0xBBBB)
    rx = RtpReceiver(0xCC, 8000, rtx_payload_types={97: 0}, rtx_ssrcs={0xBBBB: 0xAAAA})
    pk = [tx.send_frame(bytes(160), 0.02 * i)[0] for i in range(3)]
    rx.receive(pk[0], 0.05)
    rx.receive(pk[2], 0.09)                                   # packet 1 is late, not lost
    (nack,) = rx.datagrams_to_send()
    (rtx,) = tx.receive_rtcp(nack, 0.1)
    assert len(rx.receive(rtx, 0.15)) == 1                    # the repair plays
    assert rx.receive(pk[1], 0.16) == []                      # the straggler does not play twice
    assert rx.sources[0xAAAA].duplicates == 1 and rx.sources[0xAAAA].lost == 0
