"""simulate_call: the receiver's RFC 3550 view of a call through rtlib.net.simulate_path."""

import numpy as np
import pytest

from rtlib.rtp import RtpPacket, read_pcap
from rtlib.rtp.call import parse_buffer, simulate_call


def test_perfect_path():
    r = simulate_call(seconds=2, delay_ms=30, jitter_ms=0, loss=0, seed=1)
    assert r.sent == r.received == r.expected == 100
    assert r.lost == r.path_lost == r.late == r.duplicated == 0
    assert r.jitter_ms == pytest.approx(0, abs=1e-6)
    assert r.delay_ms_mean == pytest.approx(30) and r.delay_ms_p95 == pytest.approx(30)


def test_counts_agree_with_the_path():
    r = simulate_call(seconds=10, delay_ms=60, jitter_ms=10, loss=0.1, seed=5)
    received_on_path = int(np.sum(~np.isnan(r.arrival_s)))
    assert r.received == received_on_path == r.sent - r.path_lost
    # RFC 3550 cannot see losses after the last packet received: expected stops there
    last = int(np.flatnonzero(~np.isnan(r.arrival_s))[-1])
    assert r.expected == last + 1 and r.lost == r.expected - r.received
    assert 0.05 < r.path_lost / r.sent < 0.15


def test_same_seed_same_call_and_different_seed_differs():
    a = simulate_call(seconds=3, loss=0.05, seed=9).to_dict()
    b = simulate_call(seconds=3, loss=0.05, seed=9).to_dict()
    c = simulate_call(seconds=3, loss=0.05, seed=10).to_dict()
    assert a == b and a != c


def test_more_jitter_more_late_packets_and_bigger_buffer_fewer():
    late = [simulate_call(seconds=10, jitter_ms=j, seed=2, buffer="fixed:20").late for j in (0, 10, 40)]
    assert late[0] == 0 and late[0] < late[1] < late[2]
    lates = [simulate_call(seconds=10, jitter_ms=30, seed=2, buffer=f"fixed:{b}").late for b in (20, 80, 300)]
    assert lates[0] > lates[1] > lates[2]


def test_jitter_grows_with_path_jitter():
    j = [simulate_call(seconds=5, jitter_ms=x, seed=4).jitter_ms for x in (0, 5, 20)]
    assert j[0] < j[1] < j[2]


def test_fixed_buffer_late_packets_by_hand():
    r = simulate_call(seconds=10, jitter_ms=30, seed=2, buffer="fixed:40")
    a = r.arrival_s
    media_s = ((r.rtp_timestamp - r.rtp_timestamp[0]) % 2**32) / 8000
    first = int(np.nanargmin(a))  # the first packet to arrive is held 40 ms, the rest follow the media clock
    due = a[first] + 0.040 + (media_s - media_s[first])
    with np.errstate(invalid="ignore"):
        assert r.late == int(np.sum(a > due + 1e-9)) > 0
    assert r.playout_delay_ms == pytest.approx((a[first] - r.send_s[first] + 0.040) * 1000)


def test_adaptive_buffer_trades_delay_for_fewer_late_packets():
    fixed = simulate_call(seconds=20, jitter_ms=30, seed=6, buffer="fixed:20")
    adaptive = simulate_call(seconds=20, jitter_ms=30, seed=6, buffer="adaptive")
    assert adaptive.late < fixed.late
    assert adaptive.to_dict()["buffer"] == "adaptive"


def test_pcap_holds_what_arrived(tmp_path):
    path = tmp_path / "call.pcap"
    r = simulate_call(seconds=3, loss=0.1, seed=3, pcap=path)
    rows = read_pcap(path)
    rtp = [RtpPacket.parse(d) for _, port, d in rows if port == 5004]
    assert len(rtp) == r.received
    assert [t for t, _, _ in rows] == sorted(t for t, _, _ in rows)
    assert all(p.ssrc == r.ssrc and p.payload_type == 0 for p in rtp)
    assert any(port == 5005 for _, port, _ in rows)  # the sender's SR


@pytest.mark.parametrize("kwargs, match", [
    ({"codec": "opus"}, "codec"), ({"seconds": 0}, "seconds"), ({"loss": 2}, "loss"),
    ({"buffer": "fixed:-1"}, "buffer"), ({"buffer": "elastic"}, "buffer"), ({"delay_ms": -5}, "delay_ms"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_call(**kwargs)


def test_parse_buffer():
    assert parse_buffer("fixed:80") == ("fixed", 80.0) and parse_buffer("adaptive") == ("adaptive", None)
