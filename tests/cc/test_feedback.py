"""Feedback on the wire: transport-cc, REMB and PLI bytes through rtlib.rtp."""

import pytest

from rtlib.cc.feedback import SendHistory, SeqUnwrapper, TransportFeedbackReceiver, pli_bytes, remb_bytes
from rtlib.rtp.rtcp import Pli, Remb, TransportCC, parse_rtcp


def test_transport_cc_round_trip_gives_send_and_arrival_times():
    hist = SendHistory()
    rx = TransportFeedbackReceiver(ssrc=7, media_ssrc=9)
    sent = []
    for i in range(10):
        t = 1.000 + 0.005 * i
        seq16 = hist.next_seq(t, 1000 + i)
        sent.append((seq16, t))
        if i != 3:  # packet 3 is lost
            rx.on_packet(seq16, t + 0.0503 + 0.0001 * i)
    data = rx.build(1.2)
    assert data is not None and rx.build(1.25) is None  # nothing new: no feedback
    (fb,) = parse_rtcp(data)
    assert isinstance(fb, TransportCC) and fb.ssrc == 7 and fb.media_ssrc == 9
    results, rtt = hist.results(fb, now_s=1.300)
    assert [r.seq for r in results] == list(range(10))
    assert results[3].lost and not results[4].lost
    for i, r in enumerate(results):
        assert r.size_bytes == 1000 + i and r.send_time_s == pytest.approx(1.0 + 0.005 * i)
        if i != 3:
            assert r.arrival_time_s == pytest.approx(r.send_time_s + 0.0503 + 0.0001 * i, abs=250e-6)
    assert rtt == pytest.approx(1.300 - results[-1].send_time_s)


def test_feedback_continues_across_reports_and_sequence_wrap():
    hist = SendHistory()
    hist._seq = 65530  # start just below the 16-bit wrap
    rx = TransportFeedbackReceiver()
    got = []
    t = 0.0
    for burst in range(3):
        for _ in range(5):
            t += 0.01
            rx.on_packet(hist.next_seq(t, 500), t + 0.05)
        (fb,) = parse_rtcp(rx.build(t + 0.06))
        res, _ = hist.results(fb, t + 0.1)
        got += [r.seq for r in res]
    assert got == list(range(65530, 65545))  # unwrapped, each reported once


def test_late_packet_after_its_report_is_not_reported_twice():
    rx = TransportFeedbackReceiver()
    rx.on_packet(0, 0.1)
    rx.on_packet(2, 0.12)
    (fb,) = parse_rtcp(rx.build(0.15))
    assert fb.arrival_times_s()[1] is None
    rx.on_packet(1, 0.16)  # arrives after it was reported lost
    assert rx.build(0.2) is None


def test_unwrapper():
    u = SeqUnwrapper()
    assert [u.unwrap(s) for s in (65534, 65535, 0, 1, 65535, 2)] == [65534, 65535, 65536, 65537, 65535, 65538]


def test_remb_and_pli_bytes_parse():
    (remb,) = parse_rtcp(remb_bytes(5, 1_234_567, [0x1000]))
    assert isinstance(remb, Remb) and remb.ssrcs == [0x1000]
    assert remb.bitrate_bps == Remb.representable(1_234_567)
    assert abs(remb.bitrate_bps - 1_234_567) / 1_234_567 < 1e-4
    (pli,) = parse_rtcp(pli_bytes(5, 0x1000))
    assert isinstance(pli, Pli) and pli.media_ssrc == 0x1000


def test_bytes_in_flight_fall_as_feedback_covers_them_and_time_out():
    hist = SendHistory(in_flight_timeout_s=1.0)
    rx = TransportFeedbackReceiver()
    for i in range(6):
        seq16 = hist.next_seq(0.01 * i, 1000)
        if i < 4:
            rx.on_packet(seq16, 0.06 + 0.01 * i)
    assert hist.outstanding_bytes(0.1) == 6000
    (fb,) = parse_rtcp(rx.build())
    hist.results(fb, 0.15)  # covers packets 0-3 (all received)
    assert hist.outstanding_bytes(0.15) == 2000
    # no report ever covers packets 4 and 5 (say it was lost): they stop counting after 1 s
    assert hist.outstanding_bytes(1.039) == 2000
    assert hist.outstanding_bytes(1.045) == 1000
    assert hist.outstanding_bytes(1.2) == 0
    with pytest.raises(ValueError, match="in_flight_timeout_s"):
        SendHistory(in_flight_timeout_s=0)
