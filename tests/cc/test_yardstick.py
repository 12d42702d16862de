import math

import numpy as np
import pytest

from rtlib.cc.yardstick import (delay_budget_ms, floor_from_opportunities_ms, frontier, lowest_p95_ms, meets_bar,
                                omniscient_floor_ms, signal_delay_p95_ms)
from rtlib.net import ConstantCapacity
from rtlib.net.capacity import OpportunityTrace


def test_floor_by_hand():
    # opportunities at 0 and 100 ms, 200 ms long: time since the last one is 0..99 ms twice;
    # numpy's p95 of 0..99 is 0.95 * 99 = 94.05
    assert floor_from_opportunities_ms([0, 100], 200) == pytest.approx(94.05)
    # one opportunity every millisecond: nothing to wait for
    assert floor_from_opportunities_ms(range(0, 1000), 1000) == 0.0


def test_floor_of_a_link_with_an_outage():
    # a packet slot every 10 ms for 1 s, then a 1 s outage: half the instants are in the outage,
    # p95 of the time since the last opportunity is in it (0.9 of the way into the second second)
    times = list(range(0, 1000, 10))
    trace = OpportunityTrace(times + [2000])
    got = omniscient_floor_ms(trace, 2.0)
    assert got == pytest.approx(floor_from_opportunities_ms(times, 2000), abs=1.0)
    assert 890 <= got <= 910


def test_floor_of_a_constant_link_is_the_packet_spacing():
    # 1.2 Mbit/s = one 1500-byte opportunity every 10 ms: the floor is just under 10 ms
    assert omniscient_floor_ms(ConstantCapacity(1.2e6), 5.0) == pytest.approx(9.0, abs=0.6)


def test_floor_rejects_bad_input():
    with pytest.raises(ValueError, match="duration_ms"):
        floor_from_opportunities_ms([0], 0)
    with pytest.raises(ValueError, match="duration_s"):
        omniscient_floor_ms(ConstantCapacity(1e6), -1)


def test_frontier_budget_and_bar_by_hand():
    pts = [(150.0, 0.9), (90.0, 0.6), (120.0, 0.8), (float("nan"), 1.0)]
    F = frontier(pts)
    assert F(89) != F(89)                 # NaN: no setting that fast
    assert F(90) == 0.6 and F(130) == 0.8 and F(1000) == 0.9
    d0 = lowest_p95_ms(pts)
    assert d0 == 90.0
    assert delay_budget_ms(d0) == 120.0   # max(100, 90 + 30)
    assert delay_budget_ms(40.0) == 100.0
    D = delay_budget_ms(d0)
    assert meets_bar(0.76, 118, F(D), D)          # 0.76 >= 0.8 - 0.05, 118 <= 120
    assert not meets_bar(0.74, 118, F(D), D)      # too little utilisation
    assert not meets_bar(0.9, 121, F(D), D)       # over the budget
    assert math.isnan(lowest_p95_ms([]))


def test_signal_delay_by_hand():
    # one packet made at 0 arrives at 0.1 s, then nothing until 1 s: on [0, 1) the age is t
    # before the arrival and t - 0 after it, so the p95 is that of 0..999 ms: 949.05 ms
    assert signal_delay_p95_ms([0.1], [0.0], 0.0, 1.0) == pytest.approx(949.05)
    # a packet every ms, made 10 ms before it arrives: the age stays 10 ms (minus 10 ms propagation: 0)
    t = np.arange(1000) / 1000
    assert signal_delay_p95_ms(t, t - 0.010, 0.0, 1.0) == pytest.approx(10.0, abs=1e-6)
    assert signal_delay_p95_ms(t, t - 0.010, 0.0, 1.0, offset_s=0.010) == pytest.approx(0.0, abs=1e-6)
    # a late, older packet (reordered) does not make the receiver's freshest data older
    assert signal_delay_p95_ms([0.0, 0.5], [0.0, -5.0], 0.0, 1.0) == pytest.approx(949.05)
    # lost packets (NaN arrival) bring nothing
    assert signal_delay_p95_ms([0.1, np.nan], [0.0, 0.2], 0.0, 1.0) == pytest.approx(949.05)


def test_signal_delay_counts_an_outage_the_per_packet_p95_hides():
    # a sender that goes quiet for a 600 ms outage in every second: each packet waits 5 ms,
    # so the per-packet p95 is 5 ms, but over time the receiver's data is up to 600 ms old
    t = np.concatenate([np.arange(k, k + 0.4, 0.01) for k in range(10)])
    got = signal_delay_p95_ms(t, t - 0.005, 0.0, 10.0)
    assert got > 500


def test_signal_delay_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        signal_delay_p95_ms([0.1, 0.2], [0.0], 0.0, 1.0)
    with pytest.raises(ValueError, match="end_s"):
        signal_delay_p95_ms([0.1], [0.0], 1.0, 1.0)
    with pytest.raises(ValueError, match="step_ms"):
        signal_delay_p95_ms([0.1], [0.0], 0.0, 1.0, step_ms=0)
