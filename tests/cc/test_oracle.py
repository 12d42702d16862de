"""The yardstick controller: told the link's capacity, one feedback round late."""

import pytest

from rtlib.cc.call import simulate_call
from rtlib.cc.oracle import LaggedOracle
from rtlib.net import StepCapacity


def steps():
    return StepCapacity([0.0, 10.0], [1e6, 2e6])


def test_target_is_the_margin_times_the_capacity_it_may_know():
    o = LaggedOracle(capacity=steps(), lag_s=0.1, window_s=0.2, margin=0.8, max_rate_bps=5e6)
    assert o.known_capacity_bps(0.25) is None  # the window is not filled yet: keep the start rate
    assert o.on_packet_results(0.25, []) == 300e3
    assert o.on_packet_results(5.0, []) == pytest.approx(0.8e6)
    # the step at 10 s is seen only once the lag has passed, and in part while the window straddles it
    assert o.on_packet_results(10.05, []) == pytest.approx(0.8e6)
    assert o.on_packet_results(10.2, []) == pytest.approx(0.8 * 1.5e6)
    assert o.on_packet_results(10.3, []) == pytest.approx(1.6e6)


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="capacity"):
        LaggedOracle(capacity=1e6)
    for kw, name in (({"lag_s": -1}, "lag_s"), ({"window_s": 0}, "window_s"), ({"margin": 0}, "margin")):
        with pytest.raises(ValueError, match=name):
            LaggedOracle(capacity=steps(), **kw)


def test_in_the_closed_loop_it_follows_a_step_within_a_second():
    r = simulate_call(steps(), 20.0, "oracle", flows=None)
    rep = r.report(1.0)
    good = rep["flows"][0]["goodput_bps"]
    assert 0.85e6 <= good[5:10].mean() <= 1.01e6  # margin 1: it fills the link
    assert 1.7e6 <= good[12:20].mean() <= 2.02e6
    assert r.summary(warmup_s=2)["delay_p95_ms"] < 100
