"""Sans-IO sender and receiver: frames -> packets -> frames, SR/RR and RTT, NACK from history."""

import pytest

from rtlib.rtp import (
    DEFAULT_EXTENSION_MAP,
    GenericNack,
    ReceiverReport,
    RtpPacket,
    RtpReceiver,
    RtpSender,
    Sdes,
    SenderReport,
    parse_rtcp,
)
from rtlib.rtp.call import simulate_session


def test_audio_frames_round_trip_with_named_extensions():
    tx = RtpSender(0xAA, 0, 8000, seq=65534, timestamp_offset=2**32 - 160)
    rx = RtpReceiver(0xBB, 8000)
    frames = []
    for i in range(5):
        for d in tx.send_frame(bytes([i]) * 160, 0.02 * i, audio_level_dbov=-20, voice=True):
            p = RtpPacket.parse(d)
            named = DEFAULT_EXTENSION_MAP.decode(p.extensions)
            assert named.transport_seq == i and named.audio_level_dbov == -20
            assert named.abs_send_time_s == pytest.approx(0.02 * i, abs=1e-5)
            frames += rx.receive(d, 0.05 + 0.02 * i)
    assert [f.payload[0] for f in frames] == [0, 1, 2, 3, 4]
    assert [f.first_seq for f in frames] == [65534, 65535, 0, 1, 2]  # the sequence number wraps
    assert [f.timestamp for f in frames] == [(2**32 - 160 + 160 * i) % 2**32 for i in range(5)]
    assert frames[0].marker and not frames[1].marker  # RFC 3551: marker on the first packet of a talkspurt
    src = rx.sources[0xAA]
    assert src.received == 5 and src.lost == 0 and src.jitter == 0


def test_video_frames_are_split_and_reassembled_out_of_order():
    tx = RtpSender(1, 96, 90000, kind="video", mtu_bytes=200)
    rx = RtpReceiver(2, 90000, kind="video", nack=False)
    big = bytes(range(256)) * 3  # 768 bytes -> several packets
    pkts = tx.send_frame(big, 0.0) + tx.send_frame(b"second", 1 / 30)
    assert len(pkts) > 3 and all(len(d) <= 200 for d in pkts) and max(len(d) for d in pkts) >= 190
    parsed = [RtpPacket.parse(d) for d in pkts]
    assert [p.marker for p in parsed] == [False] * (len(pkts) - 2) + [True, True]
    order = [0, 2, 1] + list(range(3, len(pkts)))
    order = [len(pkts) - 1] + order[:-1]  # the second frame arrives first, then the first out of order
    frames = []
    for k, i in enumerate(order):
        frames += rx.receive(pkts[i], 0.01 * k)
    assert sorted(f.payload for f in frames) == sorted([big, b"second"])
    assert next(f for f in frames if f.payload == big).packets == len(pkts) - 1


def test_video_frame_with_a_lost_packet_is_not_delivered_until_repaired():
    tx = RtpSender(1, 96, 90000, kind="video", mtu_bytes=100)
    rx = RtpReceiver(2, 90000, kind="video")
    frame = bytes(range(250)) + bytes(150)
    pkts = tx.send_frame(frame, 0.0)
    assert len(pkts) >= 5
    for i in [0] + list(range(2, len(pkts))):
        assert rx.receive(pkts[i], 0.01 * i) == []
    frames = rx.receive(pkts[1], 0.2)  # the retransmission completes it
    assert len(frames) == 1 and frames[0].payload == frame and frames[0].packets == len(pkts)


def test_nack_is_answered_from_history():
    tx = RtpSender(0xAA, 0, 8000)
    rx = RtpReceiver(0xBB, 8000)
    sent = [tx.send_frame(bytes(160), 0.02 * i)[0] for i in range(6)]
    for i in (0, 1, 4, 5):  # 2 and 3 are lost
        rx.receive(sent[i], 0.1 + 0.02 * i)
    out = rx.datagrams_to_send()
    assert len(out) == 1
    nack = parse_rtcp(out[0])[0]
    assert isinstance(nack, GenericNack) and nack.media_ssrc == 0xAA and nack.lost == [2, 3]
    resent = tx.receive_rtcp(out[0], 0.3)
    assert resent == [sent[2], sent[3]] and tx.retransmitted == 2
    for d in resent:
        rx.receive(d, 0.35)
    assert rx.sources[0xAA].lost == 0
    assert rx.on_timer(0.5) == [] or all(not isinstance(parse_rtcp(d)[0], GenericNack) for d in rx.on_timer(0.5))


def test_nack_retries_then_gives_up():
    tx = RtpSender(0xAA, 0, 8000)
    rx = RtpReceiver(0xBB, 8000, nack_retry_s=0.1, nack_retries=3, rtcp_interval_s=100)
    sent = [tx.send_frame(bytes(160), 0.02 * i)[0] for i in range(3)]
    rx.receive(sent[0], 0.0)
    rx.receive(sent[2], 0.04)
    assert len(rx.datagrams_to_send()) == 1
    t, nacks = 0.04, 0
    for _ in range(10):
        t = rx.next_deadline_s()
        nacks += sum(isinstance(parse_rtcp(d)[0], GenericNack) for d in rx.on_timer(t))
    assert nacks == 2  # 3 tries in all


def test_history_is_bounded():
    tx = RtpSender(1, 0, 8000, history_size=10)
    for i in range(50):
        tx.send_frame(bytes(160), 0.02 * i)
    assert len(tx.history) == 10 and min(tx.history) == 40


def test_sender_report_and_rtt_from_receiver_report():
    tx = RtpSender(0xAA, 0, 8000, rtcp_interval_s=1.0)
    rx = RtpReceiver(0xBB, 8000, rtcp_interval_s=1.0)
    one_way = 0.05
    for i in range(10):
        for d in tx.send_frame(bytes(160), 0.02 * i):
            rx.receive(d, 0.02 * i + one_way)
    sr = tx.make_sender_report(0.2)
    pkts = parse_rtcp(sr)
    assert isinstance(pkts[0], SenderReport) and isinstance(pkts[1], Sdes)
    assert pkts[0].packet_count == 10 and pkts[0].octet_count == 1600
    assert pkts[0].rtp_timestamp == tx.rtp_timestamp(0.2)
    rx.receive(sr, 0.2 + one_way)
    hold = 0.3
    rr = rx.make_receiver_report(0.2 + one_way + hold)
    rr_pkts = parse_rtcp(rr)
    assert isinstance(rr_pkts[0], ReceiverReport)
    block = rr_pkts[0].reports[0]
    assert block.lsr == pkts[0].lsr and block.dlsr == round(hold * 65536)
    tx.receive_rtcp(rr, 0.2 + 2 * one_way + hold)
    assert tx.rtt_s == pytest.approx(2 * one_way, abs=2 / 65536)


def test_periodic_timers():
    tx = RtpSender(1, 0, 8000, rtcp_interval_s=2.0)
    assert tx.next_deadline_s() is None
    tx.send_frame(bytes(160), 0.0)
    assert tx.next_deadline_s() == 1.0  # the first report after half the interval (RFC 3550 6.3)
    assert tx.on_timer(0.5) == [] and len(tx.on_timer(1.0)) == 1 and tx.next_deadline_s() == 3.0


def test_receiver_survives_garbage():
    rx = RtpReceiver(1, 8000)
    assert rx.receive(b"\x00\x01garbage", 0.0) == [] and rx.receive(b"\x81\xc9\x00\x09", 0.1) == []
    assert rx.invalid == 2


def test_closed_loop_rtt_equals_the_path_and_nack_repairs_loss():
    res = simulate_session(seconds=10, delay_ms=40, back_delay_ms=60, jitter_ms=0, loss=0.05, seed=3)
    rtts = [r for _, r in res.rtt_samples]
    assert len(rtts) >= 5
    assert rtts == pytest.approx([0.1] * len(rtts), abs=3 / 65536)  # 40 + 60 ms, to the 1/65536 s clock
    assert res.retransmitted > 0 and res.lost < res.retransmitted  # most losses repaired


def test_closed_loop_without_nack_keeps_the_losses():
    a = simulate_session(seconds=10, loss=0.05, seed=3, nack=False)
    assert a.retransmitted == 0 and a.lost > 0 and a.nacks_sent == 0


def test_audio_frame_that_just_fits_the_mtu():
    tx = RtpSender(1, 0, 8000, mtu_bytes=200)
    room = 200 - tx._header_bytes(True)
    assert len(tx.send_frame(bytes(room), 0.0, audio_level_dbov=-10)[0]) == 200
    with pytest.raises(ValueError, match="fit one packet"):
        tx.send_frame(bytes(room + 1), 0.02, audio_level_dbov=-10)


def test_parameter_checks():
    with pytest.raises(ValueError, match="kind"):
        RtpSender(1, 0, 8000, kind="text")
    with pytest.raises(ValueError, match="payload_type"):
        RtpSender(1, 200, 8000)
    with pytest.raises(ValueError, match="audio frame must fit"):
        RtpSender(1, 0, 8000, mtu_bytes=100).send_frame(bytes(500), 0.0)
    with pytest.raises(ValueError, match="t_s"):
        RtpSender(1, 0, 8000).send_frame(b"", -1.0)


def test_sender_keeps_keyframe_requests_remb_and_transport_feedback():
    from rtlib.rtp import Fir, Pli, Remb, TransportCC, build_rtcp

    tx = RtpSender(0xAA, 96, 90000, kind="video")
    tcc = TransportCC(0xBB, 0xAA, base_seq=0, reference_time=0, fb_pkt_count=0, recv_deltas=[4, None, 8])
    out = tx.receive_rtcp(build_rtcp([Pli(0xBB, 0xAA), Fir(0xBB, [(0xAA, 1)]), Remb(0xBB, 500_000, [0xAA]), tcc]),
                          1.0)
    assert out == []  # feedback, not a NACK: nothing to resend
    assert tx.keyframe_requests == 2
    assert tx.remb_bps == Remb.representable(500_000)
    assert tx.transport_feedback == [tcc]
