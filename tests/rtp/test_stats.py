"""RFC 3550 receiver statistics: A.1 sequence numbers, A.3 loss, A.8 jitter, RTT, RTCP interval."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.rtp import (
    SourceStats,
    extend_sequence_numbers,
    interarrival_jitter,
    ntp_from_unix_s,
    ntp_short,
    round_trip_time_s,
    rtcp_interval,
    unix_s_from_ntp,
)


def feed(seqs, min_sequential=1, clock=8000):
    s = SourceStats(0x1234, clock, min_sequential=min_sequential)
    for i, q in enumerate(seqs):
        s.update(q % 65536, (160 * i) % 2**32, 0.02 * i)
    return s


def test_extended_sequence_number_across_wrap():
    s = feed(range(65530, 65546))
    assert s.cycles == 65536 and s.max_seq == 9
    assert s.extended_max_seq == 65536 + 9
    assert s.expected == 16 and s.received == 16 and s.lost == 0


def test_probation_of_a_new_source_a1():
    s = feed([10, 11, 12], min_sequential=2)
    # A.1: the first packet only starts probation; counting starts at the second
    assert s.received == 2 and s.base_seq == 11 and s.expected == 2
    s2 = feed([10, 50, 51, 52], min_sequential=2)
    assert s2.base_seq == 51 and s2.received == 2


def test_loss_reordering_and_duplicates_a3():
    s = feed([1, 2, 4, 3, 5, 5, 8])
    assert s.expected == 8 and s.received == 7 and s.lost == 1 and s.duplicates == 1
    s = feed([1, 2, 3, 3, 3])
    assert s.lost == -2  # duplicates make the cumulative loss negative, as RFC 3550 6.4.1 says


def test_fraction_lost_per_interval():
    s = feed(range(0, 100, 2))  # every other packet lost: 50 received of 99 expected
    assert s.fraction_lost() == (49 << 8) // 99
    for q in range(100, 120):
        s.update(q, 0, 0.0)
    assert s.fraction_lost() == (1 << 8) // 21  # 99 was lost: 1 of the 21 expected in this interval
    for q in range(120, 140):
        s.update(q, 0, 0.0)
    assert s.fraction_lost() == 0  # nothing lost in the next interval
    assert s.fraction_lost() == 0  # and an empty interval is 0, not a division by zero


def test_large_jump_needs_two_packets_to_resync():
    s = feed([100, 101, 102])
    assert not s.update(20000, 0, 1.0)  # a big jump is ignored once...
    assert s.update(20001, 0, 1.02)  # ...and accepted when the next follows it: the source restarted
    assert s.base_seq == 20001 and s.received == 1


def test_report_block_clamps_and_fields():
    s = feed([0, 1, 2, 5])
    rb = s.report_block(lsr=0x11112222, dlsr=65536)
    assert (rb.ssrc, rb.packets_lost, rb.highest_seq, rb.lsr, rb.dlsr) == (0x1234, 2, 5, 0x11112222, 65536)
    assert rb.fraction_lost == (2 << 8) // 6


def test_jitter_by_hand_rfc3550_a8():
    # transit times (timestamp units) 0, 80, 80, 0: |D| = 80, 0, 80
    arrival = np.array([0.0, 0.02 + 0.01, 0.04 + 0.01, 0.06])
    ts = np.array([0, 160, 320, 480])
    j = 0.0
    expected = [0.0]
    for d in (80, 0, 80):
        j += (d - j) / 16
        expected.append(j)
    assert interarrival_jitter(arrival, ts, 8000) == pytest.approx(expected)
    s = SourceStats(1, 8000, min_sequential=1)
    for k, (a, t) in enumerate(zip(arrival, ts)):
        s.update(k, int(t), float(a))
    assert s.jitter == pytest.approx(expected[-1])
    assert s.jitter_ms == pytest.approx(expected[-1] / 8)


def test_jitter_gain_inverse():
    arrival = [0.0, 0.021, 0.040, 0.065]  # transit changes by +8, -8, +40 units at 8 kHz
    ts = [0, 160, 320, 480]
    assert interarrival_jitter(arrival, ts, 8000, gain_inverse=1) == pytest.approx([0, 8, 8, 40])
    assert interarrival_jitter(arrival, ts, 8000, gain_inverse=4) == pytest.approx([0, 2, 3.5, 12.625])
    with pytest.raises(ValueError, match="gain_inverse"):
        interarrival_jitter(arrival, ts, 8000, gain_inverse=0)


def test_jitter_survives_timestamp_wrap():
    ts = [(2**32 - 320 + 160 * i) % 2**32 for i in range(5)]
    j = interarrival_jitter([0.02 * i for i in range(5)], ts, 8000)
    assert np.allclose(j, 0)


def test_constant_delay_means_zero_jitter_and_jitter_converges_for_alternating():
    n = 2000
    ts = 160 * np.arange(n)
    arrival = 0.02 * np.arange(n) + 0.05 + 0.004 * (np.arange(n) % 2)  # +0 / +4 ms alternately: |D| = 32 units
    assert interarrival_jitter(0.02 * np.arange(n) + 0.05, ts, 8000)[-1] == pytest.approx(0, abs=1e-6)
    assert interarrival_jitter(arrival, ts, 8000)[-1] == pytest.approx(32, rel=1e-3)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 0.1), min_size=2, max_size=60), st.integers(0, 2**32 - 1))
def test_vectorised_and_per_packet_jitter_agree(extra_s, ts0):
    n = len(extra_s)
    ts = [(ts0 + 160 * i) % 2**32 for i in range(n)]
    arrival = [0.02 * i + e for i, e in enumerate(extra_s)]
    s = SourceStats(1, 8000, min_sequential=1)
    for k in range(n):
        s.update(k, ts[k], arrival[k])
    assert s.jitter == pytest.approx(interarrival_jitter(arrival, ts, 8000)[-1], abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 65535), st.lists(st.integers(1, 50), min_size=1, max_size=200))
def test_extended_sequence_numbers_are_monotonic_for_forward_steps(start, steps):
    seq = np.cumsum([start] + steps) % 65536
    ext = extend_sequence_numbers(seq)
    assert np.all(np.diff(ext) == np.array(steps))
    s = feed(list(np.cumsum([start] + steps)))
    assert s.extended_max_seq == ext[-1]


def test_rtt_rfc3550_example_and_edge_cases():
    assert round_trip_time_s(0xB7108000, 0xB7052000, 0x00054000) == 6.125
    assert round_trip_time_s(0x00001000, 0, 0) is None  # no SR received yet
    assert round_trip_time_s(0x00000010, 0xFFFFFFF0, 0x10) == pytest.approx(16 / 65536)  # wrap of the 16.16 clock
    assert round_trip_time_s(0x10, 0x20, 0) == 0.0  # negative (clock jumped): clamped
    with pytest.raises(ValueError, match="lsr"):
        round_trip_time_s(1, -1, 0)


def test_ntp_round_trip_and_middle_bits():
    t = 1_700_000_000.25
    ntp = ntp_from_unix_s(t)
    assert unix_s_from_ntp(ntp) == pytest.approx(t, abs=1e-9)
    assert ntp >> 32 == 1_700_000_000 + 2_208_988_800 and (ntp & 0xFFFFFFFF) == 1 << 30
    assert ntp_short(ntp) == ((ntp >> 32) & 0xFFFF) << 16 | (1 << 14)


def test_rtcp_interval_rfc3550_6_3():
    # two members, 5 % of 64 kbit/s: far below the minimum, so 5 s (2.5 s before the first report)
    assert rtcp_interval(2, 1, 3200, True, 100) == 5.0
    assert rtcp_interval(2, 1, 3200, True, 100, initial=True) == 2.5
    # 1000 receivers, 1 sender, 3200 bit/s: receivers share 75 %: 100 bytes * 999 / (0.75 * 400 B/s)
    assert rtcp_interval(1000, 1, 3200, False, 100) == pytest.approx(100 * 999 / 300)
    # the sender's own interval: 25 % shared by 1 sender
    assert rtcp_interval(1000, 1, 3200, True, 100) == 5.0
    # half the members send: no split, everyone shares the whole bandwidth
    assert rtcp_interval(1000, 500, 3200, False, 100) == pytest.approx(100 * 1000 / 400)
    # randomisation: [0.5, 1.5] x T / (e - 3/2)
    lo, hi = rtcp_interval(1000, 1, 3200, False, 100, u=np.array([0.0, 1.0]))
    t = 100 * 999 / 300
    assert lo == pytest.approx(0.5 * t / (math.e - 1.5)) and hi == pytest.approx(1.5 * t / (math.e - 1.5))


def test_rtcp_interval_is_vectorised_and_grows_with_members():
    m = np.arange(2, 5000)
    t = rtcp_interval(m, 1, 3200, False, 120)
    assert t.shape == m.shape and np.all(np.diff(t) >= 0) and t[0] == 5.0


def test_rtcp_interval_checks():
    with pytest.raises(ValueError, match="senders"):
        rtcp_interval(2, 3, 3200, True, 100)
    with pytest.raises(ValueError, match="rtcp_bw_bps"):
        rtcp_interval(2, 1, 0, True, 100)
    with pytest.raises(ValueError, match="clock_rate_hz"):
        SourceStats(1, 0)
