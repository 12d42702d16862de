import math

import pytest

from rtlib.cc.yardstick import (delay_budget_ms, floor_from_opportunities_ms, frontier, lowest_p95_ms, meets_bar,
                                omniscient_floor_ms)
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
