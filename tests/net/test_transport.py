"""Reliable in-order stream vs datagrams: retransmissions and head-of-line blocking."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtlib.net.experiments import silence_lost_frames
from rtlib.net.transport import compare_stream_and_datagrams, in_order_delivery


def test_in_order_delivery_waits_for_every_earlier_packet():
    a = np.array([0.10, 0.30, 0.15, 0.20, 0.50, 0.45])
    np.testing.assert_allclose(in_order_delivery(a), [0.10, 0.30, 0.30, 0.30, 0.50, 0.50])
    assert np.isinf(in_order_delivery([0.1, np.nan, 0.2])[1:]).all()
    assert in_order_delivery([]).size == 0


@given(st.lists(st.floats(0, 100), max_size=50))
def test_in_order_delivery_properties(arrivals):
    d = in_order_delivery(arrivals)
    assert np.all(np.diff(d) >= 0)  # handed over in order
    assert np.all(d >= np.array(arrivals))  # never before it arrived


def test_stream_delivers_everything_but_late_datagrams_lose_some():
    send = np.arange(3000) * 0.02
    c = compare_stream_and_datagrams(send, 200, delay_ms=50, jitter_ms=3, loss=0.05, seed=2)
    lost = np.isnan(c.datagram_arrival_s)
    assert lost.mean() == pytest.approx(0.05, abs=0.015)
    assert np.all(np.isfinite(c.delivery_s))  # the stream recovers every packet
    assert np.all(c.transmissions[lost] >= 2) and np.all(c.transmissions[~lost] == 1)
    # a retransmission takes at least one more round trip
    extra = c.first_arrival_s[lost] - c.send_s[lost]
    assert extra.min() >= 0.050 + 0.100 - 1e-9
    # head-of-line blocking: packets that arrived fine still wait behind a lost one
    blocked = (c.delivery_s > c.first_arrival_s + 1e-9) & ~lost
    assert blocked.sum() > lost.sum()
    # so the stream misses a 150 ms playout deadline more often than datagrams do
    m = c.late_or_lost(150)
    assert m["stream"] > m["datagrams"] > 0.03


def test_no_loss_no_difference():
    send = np.arange(500) * 0.02
    c = compare_stream_and_datagrams(send, 200, delay_ms=40, seed=1)
    np.testing.assert_allclose(c.delivery_s, c.datagram_arrival_s)
    assert c.late_or_lost(100) == {"datagrams": 0.0, "stream": 0.0}


def test_rto_follows_rfc6298_with_a_floor():
    send = np.arange(10) * 0.02
    assert compare_stream_and_datagrams(send, 100, delay_ms=10).rto_s == pytest.approx(0.2)
    assert compare_stream_and_datagrams(send, 100, delay_ms=300, jitter_ms=10).rto_s == pytest.approx(0.65)


@pytest.mark.parametrize("kwargs, match", [
    (dict(dupthresh=0), r"dupthresh must be an integer in \[1, 100\]"),
    (dict(rto_min_ms=0), r"rto_min_ms must be in \[1, 60000\] ms"),
    (dict(max_rounds=0), r"max_rounds must be an integer in \[1, 100\]"),
    (dict(ack_delay_ms=-1), r"ack_delay_ms must be a finite number >= 0 ms"),
    (dict(loss=2), r"loss must be in \[0, 1\]"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare_stream_and_datagrams([0.0, 0.1], 100, **kwargs)


def test_silence_lost_frames():
    x = np.ones(800)  # 100 ms at 8 kHz = five 20 ms frames
    y = silence_lost_frames(x, 8000, [False, True, False, True, False])
    assert y[:160].all() and not y[160:320].any() and y[320:480].all() and not y[480:640].any()
    with pytest.raises(ValueError, match="lost must hold at least one flag per frame"):
        silence_lost_frames(x, 8000, [False])
