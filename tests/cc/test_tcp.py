"""The Reno-like TCP model (RFC 5681 behaviour in miniature)."""

import pytest

from rtlib.cc.tcp import RenoSender


def test_slow_start_doubles_the_window_each_round_trip():
    s = RenoSender(initial_cwnd=2)
    t = 0.0
    for rtt in range(4):
        seqs = [s.send(t) for _ in range(int(s.cwnd))]
        t += 0.1
        for q in seqs:
            s.on_ack(q, t)
    assert s.cwnd == 2 * 2 ** 4
    assert s.srtt_s == pytest.approx(0.1)


def test_three_later_acks_mark_a_loss_and_halve_the_window_once():
    s = RenoSender(initial_cwnd=20)
    s.ssthresh = 10  # congestion avoidance
    seqs = [s.send(0.0) for _ in range(20)]
    for q in seqs[1:5]:  # segment 0 never arrives; 1..4 are acked
        s.on_ack(q, 0.1)
    assert s.losses == 1 and s.inflight == 15
    w = 20 + 1 / 20  # acks of 1 and 2: +1/cwnd each (congestion avoidance)
    w = (w + 1 / w) / 2  # the ack of 3 is the third after 0: halve
    assert s.cwnd == pytest.approx(w + 1 / w)  # then +1/cwnd for 4
    s.on_ack(seqs[6], 0.11)
    s.on_ack(seqs[5], 0.11)
    assert s.cwnd > 10.0  # the same round trip: no second halving


def test_congestion_avoidance_adds_one_segment_per_round_trip():
    s = RenoSender(initial_cwnd=10)
    s.ssthresh = 5
    seqs = [s.send(0.0) for _ in range(10)]
    for q in seqs:
        s.on_ack(q, 0.1)
    assert s.cwnd == pytest.approx(11.0, rel=0.01)


def test_timeout_restarts_from_one_segment():
    s = RenoSender(initial_cwnd=10)
    for _ in range(10):
        s.send(0.0)
    assert s.timeout_due() == pytest.approx(1.0)  # RFC 6298: at least 1 s
    s.on_timeout(1.0)
    assert s.cwnd == 1.0 and s.ssthresh == 5.0 and s.inflight == 0 and s.timeout_due() is None
