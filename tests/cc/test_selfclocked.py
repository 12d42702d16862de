import math

import numpy as np
import pytest

from rtlib.cc.base import PacketResult
from rtlib.cc.call import CONTROLLERS, CallSim, FlowSpec
from rtlib.cc.selfclocked import ArrivalRateEstimator, SelfClockedController


def test_rate_estimate_by_hand():
    est = ArrivalRateEstimator(tick_s=0.02, alpha=0.5)
    est.add(0.001, 1000)
    est.add(0.015, 1500)
    assert est.rate_bps is None            # tick 0 still open
    est.add(0.025, 500)                    # closes tick 0: 2500 B in 20 ms
    assert est.rate_bps == pytest.approx(2500 * 8 / 0.02)          # 1 Mbit/s, the first tick sets it
    est.close_until(0.06)                  # tick 1 (500 B) and tick 2 (empty) end
    # tick 1: 1e6 + 0.5 * (200e3 - 1e6) = 600e3; tick 2: 0.5 * 600e3 = 300e3
    assert est.rate_bps == pytest.approx(300e3)
    assert est.ticks == 3


def test_rate_estimate_many_empty_ticks_decay_geometrically():
    est = ArrivalRateEstimator(tick_s=0.02, alpha=0.25)
    est.add(0.0, 2500)
    est.close_until(0.02)
    assert est.rate_bps == pytest.approx(1e6)
    est.close_until(0.02 + 10 * 0.02)      # ten empty ticks
    assert est.rate_bps == pytest.approx(1e6 * 0.75 ** 10)


@pytest.mark.parametrize("kw", [{"tick_s": 0.0}, {"tick_s": 2.0}, {"alpha": 0.0}, {"alpha": 1.5}])
def test_estimator_rejects_bad_parameters(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        ArrivalRateEstimator(**kw)


def test_window_by_hand():
    c = SelfClockedController(target_delay_s=0.05, share_bytes=0)
    # 1 Mbit/s = 125000 B/s over 100 ms RTT + 50 ms between reports + 50 ms target = 25000 B
    assert c.window_for(1e6, 0.1, 0.05) == pytest.approx(25000)
    assert c.window_for(1e3, 0.1, 0.05) == pytest.approx(2 * 1252)  # the floor
    # the fairness term adds a constant: 25000 + 2 x 1252
    assert SelfClockedController(target_delay_s=0.05).window_for(1e6, 0.1, 0.05) == pytest.approx(27504)


def test_share_term_makes_two_flows_converge():
    # two flows on one queue, one starting at 4x the other's rate: with the share term the
    # equilibrium is equal rates (Jain's index near 1); checked by simulation on RFC 8867 5.4
    from rtlib.cc.scenarios import run_scenario

    fair = run_scenario("rfc8867-5.4", "selfclocked", duration_s=80).summary(warmup_s=50)["jain"]
    unfair = run_scenario("rfc8867-5.4", "selfclocked", duration_s=80,
                          controller_args={"share_bytes": 0}).summary(warmup_s=50)["jain"]
    assert fair > 0.9 > unfair


def test_window_follows_reported_arrivals():
    c = SelfClockedController(target_delay_s=0.05)
    # 20 ms ticks each delivering 2500 B (1 Mbit/s), reported every 50 ms with an RTT of 100 ms
    seq, t_report = 0, 0.15
    for k in range(40):
        res = []
        for j in range(5):  # 5 packets of 500 B per tick, 2 ticks and a half per report
            arr = k * 0.05 + j * 0.01
            res.append(PacketResult(seq, arr - 0.05, 500, arr))
            seq += 1
        c.on_packet_results(t_report + k * 0.05, res, rtt_s=0.1)
    assert c.estimator.rate_bps == pytest.approx(500 * 5 * 8 / 0.05, rel=0.02)  # 400 kbit/s delivered
    assert c.congestion_window_bytes(0.0) == pytest.approx(400e3 / 8 * (0.1 + 0.05 + 0.05) + 2 * 1252, rel=0.03)


@pytest.mark.parametrize("kw", [{"target_delay_s": 0.0}, {"min_window_bytes": 0}, {"share_bytes": -1}])
def test_rejects_bad_parameters(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        SelfClockedController(**kw)


def test_registered_controllers():
    assert CONTROLLERS["selfclocked"] is SelfClockedController
    assert "scream" in CONTROLLERS


@pytest.mark.parametrize("controller", ["selfclocked", "scream"])
def test_encoder_follows_the_window_so_delay_stays_out_of_the_pacer(controller):
    # 1 Mbit/s then 300 kbit/s: the window closes; frames shrink or are skipped in the
    # encoder instead of waiting in the pacer
    from rtlib.net import StepCapacity
    cap = StepCapacity([0, 10], [1e6, 0.3e6])
    res = CallSim(cap, 20.0, [FlowSpec(controller)]).run()
    f = res.media[0]
    wait_ms = (f.send_s - f.enqueue_s)[~f.audio] * 1000
    assert np.percentile(wait_ms, 95) < 40
    assert f.extra["frames_skipped"] > 0
    s = res.summary(warmup_s=2.0)
    assert s["utilization"] > 0.5 and math.isfinite(s["video_delay_p95_ms"])
