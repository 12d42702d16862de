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


@pytest.mark.parametrize("kw", [{"target_delay_s": 0.0}, {"min_window_bytes": 0}, {"share_bytes": -1},
                                {"max_filter_rtts": -1}])
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


def _report(c, now_s, owd_s, ticks):
    """One report: ``ticks`` = [(tick index, bytes)] arriving with one-way delay ``owd_s``."""
    res = [PacketResult(k, k * 0.02 + 0.001 - owd_s, b, k * 0.02 + 0.001) for k, b in ticks]
    return c.on_packet_results(now_s, res, rtt_s=0.1)


def test_windowed_max_while_no_queue_shows_by_hand():
    c = SelfClockedController(target_delay_s=0.05, share_bytes=0, tick_s=0.02, alpha=0.5)
    # 2500 B per 20 ms tick (1 Mbit/s), no queue: one-way delay 50 ms throughout
    _report(c, 0.10, 0.05, [(0, 2500), (1, 2500)])
    _report(c, 0.15, 0.05, [(2, 2500), (3, 2500)])
    assert c.estimator.rate_bps == pytest.approx(1e6)
    # a gap of two empty ticks (4, 5): the estimate halves twice (alpha 0.5) to 250 kbit/s
    # when tick 6 arrives; the report shows no queue, so the window keeps the 1 Mbit/s of
    # the last 10 round trips (1 s): 125000 B/s x (0.1 + 0.05 + 0.05) s
    _report(c, 0.20, 0.05, [(6, 2500)])
    assert c.estimator.rate_bps == pytest.approx(1e6 * 0.25)
    assert c.unqueued
    assert c.window_bytes == pytest.approx(1e6 / 8 * 0.2, rel=0.02)
    # the next report's packets waited 30 ms more: a queue shows, the estimate rules
    _report(c, 0.25, 0.08, [(7, 2500)])
    assert not c.unqueued
    assert c.window_bytes == pytest.approx(c.estimator.rate_bps / 8 * 0.2, rel=0.02)
    # Sprout-EWMA as published (no windowed max) takes the estimate at once
    plain = SelfClockedController(target_delay_s=0.05, share_bytes=0, tick_s=0.02, alpha=0.5, max_filter_rtts=0)
    for now, ticks in ((0.10, [(0, 2500), (1, 2500)]), (0.15, [(2, 2500), (3, 2500)]), (0.20, [(6, 2500)])):
        _report(plain, now, 0.05, ticks)
    assert plain.window_bytes == pytest.approx(0.25e6 / 8 * 0.2, rel=0.02)


def test_windowed_max_forgets_after_ten_round_trips():
    c = SelfClockedController(target_delay_s=0.05, share_bytes=0, tick_s=0.02, alpha=1.0)
    _report(c, 0.04, 0.05, [(0, 5000), (1, 1250)])   # one tick at 2 Mbit/s
    seen = []
    for i in range(1, 40):                           # then 500 kbit/s, no queue, for 1.56 s
        _report(c, 0.04 + 0.04 * i, 0.05, [(2 * i, 1250), (2 * i + 1, 1250)])
        seen.append(c.window_bytes)
    # 10 round trips of 100 ms = 1 s: the 2 Mbit/s tick counts for 1 s, then is forgotten
    assert seen[0] / seen[-1] == pytest.approx(4, rel=0.05)    # 2 Mbit/s against 0.5
    assert seen[22] / seen[-1] == pytest.approx(4, rel=0.05)   # 0.92 s later: still held
    assert seen[-1] == pytest.approx(0.5e6 / 8 * (0.1 + c.report_interval_s + 0.05), rel=0.02)
