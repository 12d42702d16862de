"""The closed loop: convergence on a constant link, and the baselines' known behaviour."""

import numpy as np
import pytest

from rtlib.cc.call import CallSim, FlowSpec, freeze_time_s, jain_index, make_controller, simulate_call


def steady(result, after_s):
    rep = result.report()
    keep = rep["t_s"] >= after_s
    f = rep["flows"][0]
    return f, keep


@pytest.mark.parametrize("cap_bps", [0.8e6, 2.0e6])
def test_gcc_converges_on_a_constant_link(cap_bps):
    r = simulate_call(cap_bps, 40.0, "gcc")
    f, keep = steady(r, 15.0)
    goodput = f["goodput_bps"][keep].mean()
    assert 0.80 * cap_bps <= goodput <= 1.0 * cap_bps
    # the target oscillates around the capacity, not far above or below
    assert 0.75 * cap_bps <= np.median(f["target_bps"][keep]) <= 1.1 * cap_bps
    s = r.summary(warmup_s=15.0)
    assert s["delay_p95_ms"] < 100 and s["loss"] < 0.01 and s["freeze_rate"] < 0.02


def test_gcc_without_probing_still_converges_by_8_percent_per_second():
    r = simulate_call(1.0e6, 60.0, "gcc", flows=[FlowSpec("gcc", controller_args={"probing": False})])
    f, keep = steady(r, 30.0)
    assert f["goodput_bps"][keep].mean() >= 0.8e6
    # 300 kbit/s * 1.08 ** t reaches 1 Mbit/s after about 16 s, not before 10 s
    early = r.report()["flows"][0]["target_bps"][r.report()["t_s"] < 10]
    assert early.max() < 0.8e6


def test_fixed_rate_above_capacity_loses_and_freezes():
    r = simulate_call(1.0e6, 20.0, "fixed", flows=[FlowSpec("fixed", start_rate_bps=1.5e6)])
    s = r.summary(warmup_s=5)
    assert s["loss"] > 0.2 and s["delay_p50_ms"] > 250 and s["freeze_rate"] > 0.3


def test_loss_based_aimd_fills_the_queue():
    r = simulate_call(1.5e6, 40.0, "aimd")
    s = r.summary(warmup_s=10)
    assert s["delay_p95_ms"] > 200 and s["loss"] > 0.0


def test_return_path_loss_is_survived():
    r = simulate_call(1.5e6, 30.0, "gcc", return_loss=0.2, seed=1)
    f, keep = steady(r, 15.0)
    assert f["goodput_bps"][keep].mean() > 0.7 * 1.5e6


def test_report_bins_and_units():
    r = simulate_call(1.0e6, 4.0, "gcc")
    rep = r.report(0.2)
    assert len(rep["t_s"]) == 20 and np.allclose(rep["capacity_bps"], 1e6)
    f = rep["flows"][0]
    for key in ("send_bps", "goodput_bps", "queue_delay_ms", "loss", "fps", "target_bps"):
        assert f[key].shape == (20,)
    assert np.nanmax(f["fps"]) <= 40
    with pytest.raises(ValueError, match="bin_s"):
        r.report(0.0)


def test_two_flows_share_fairly_and_the_log_is_deterministic():
    flows = [FlowSpec("gcc"), FlowSpec("gcc")]
    a = CallSim(2.0e6, 40.0, flows, seed=3).run().summary(warmup_s=20)
    b = CallSim(2.0e6, 40.0, [FlowSpec("gcc"), FlowSpec("gcc")], seed=3).run().summary(warmup_s=20)
    assert a == b
    assert a["jain"] > 0.9


def test_media_against_tcp_is_not_starved():
    r = CallSim(2.0e6, 60.0, [FlowSpec("gcc", start_s=5.0)], tcp_flows=[(0.0, None)]).run()
    s = r.summary(warmup_s=20)
    assert s["link_utilization"] > 0.95
    assert s["goodput_kbps_mean"] > 300  # the adaptive threshold keeps GCC in the game


def test_freeze_time_by_hand():
    # 30 fps for 1 s, then a 500 ms gap, then 30 fps until 2 s
    r = np.concatenate([np.arange(0, 1, 1 / 30), np.arange(1.5, 2.0, 1 / 30)])
    assert freeze_time_s(r, 2.0) == pytest.approx(1.5 - (1 - 1 / 30))
    assert freeze_time_s(np.arange(0, 2, 1 / 30), 2.0) == 0.0
    assert freeze_time_s(np.array([]), 2.0) == 0.0


def test_jain_index():
    assert jain_index([1, 1, 1]) == pytest.approx(1.0)
    assert jain_index([1, 0, 0]) == pytest.approx(1 / 3)
    assert jain_index([2, 1]) == pytest.approx(9 / 10)


def test_bad_parameters():
    with pytest.raises(ValueError, match="controller must be one of"):
        make_controller("bbr")
    with pytest.raises(ValueError, match="duration_s"):
        CallSim(1e6, 0.0)
    with pytest.raises(ValueError, match="return_loss"):
        CallSim(1e6, 10.0, return_loss=1.5)
    with pytest.raises(ValueError, match="capacity"):
        CallSim(None, 10.0)


def test_queueing_delay_counts_the_wait_in_the_pacer():
    r = simulate_call(10e6, 10.0, "fixed", flows=[FlowSpec("fixed", start_rate_bps=1e6)])
    s = r.summary(warmup_s=1.0)
    # a 4 kB frame leaves the pacer in 5 ms bursts at 2.5 Mbit/s (its last packet ~10 ms
    # after its first); the 10 Mbit/s link adds ~1 ms
    assert s["network_delay_p95_ms"] < 3
    assert s["delay_p95_ms"] > s["network_delay_p95_ms"] + 3
    f = r.flows[0]
    assert np.all(f.enqueue_s <= f.send_s)


def outage():
    from rtlib.net import StepCapacity
    return StepCapacity([0.0, 10.0, 11.0], [2e6, 2e3, 2e6])


@pytest.mark.parametrize("window_ms", [None, 100.0])
def test_congestion_window_stops_the_sender_in_an_outage(window_ms):
    flows = [FlowSpec("gcc", start_rate_bps=1.5e6, controller_args={"window_ms": window_ms})]
    r = simulate_call(outage(), 14.0, "gcc", flows=flows)
    f = r.flows[0]
    video = ~f.audio
    in_outage = video & (f.send_s >= 10.3) & (f.send_s < 11.0)
    if window_ms is None:
        # rate control alone keeps sending through the outage, at a falling rate
        assert in_outage.sum() > 40
    else:
        # the window fills within a round trip; after that only audio goes out, and the
        # encoder drops the frames the pacer cannot take
        assert in_outage.sum() <= 2
        assert f.extra["frames_skipped"] > 5
    assert r.summary(warmup_s=12.0)["delay_p95_ms"] < 100  # recovered after the outage either way


def test_audio_passes_a_full_congestion_window_without_waiting():
    flows = [FlowSpec("gcc", start_rate_bps=1.5e6, controller_args={"window_ms": 100.0})]
    r = simulate_call(outage(), 12.0, "gcc", flows=flows)
    f = r.flows[0]
    audio_in_outage = f.audio & (f.enqueue_s >= 10.3) & (f.enqueue_s < 11.0)
    assert audio_in_outage.sum() >= 30
    assert np.all(f.send_s[audio_in_outage] - f.enqueue_s[audio_in_outage] < 0.002)


def test_frames_per_second_counts_the_last_second():
    from rtlib.cc.call import frames_per_second

    rng = np.random.default_rng(1)
    render_s = np.sort(np.arange(0, 10, 1 / 30) + rng.uniform(-0.015, 0.015, 300))  # 30 fps, jittered
    fps = frames_per_second(render_s, np.arange(1.0, 10.0, 0.2))
    assert np.all(np.abs(fps - 30) <= 1)  # 200 ms bins would show 25 or 35
    bins = np.histogram(render_s, np.arange(0, 10.01, 0.2))[0] / 0.2
    assert bins.max() - bins.min() >= 5  # what the old 200 ms histogram showed: 25 or 35 fps from 30
    # before one second has passed, the count is divided by the time so far
    assert frames_per_second(render_s, np.array([0.5]))[0] == pytest.approx(30, abs=2)
    # a burst of delayed frames shows above the encoder's rate, as a player's overlay would
    burst = np.concatenate([np.arange(0, 2, 1 / 30), 2.3 + np.arange(20) * 0.005, 2.6 + np.arange(0, 2, 1 / 30)])
    assert frames_per_second(burst, np.array([3.0]))[0] > 30


def test_each_flow_after_the_first_has_clocks_of_its_own():
    sim = CallSim(3.5e6, 10.0, [FlowSpec("gcc"), FlowSpec("gcc"), FlowSpec("gcc")], seed=4)
    phases = [f.clock_phases_s() for f in sim.flows]
    assert phases[0] == (0.0, 0.0, 0.0)  # the first flow's clocks are time zero
    for frame_s, audio_s, feedback_s in phases[1:]:
        assert 0 <= frame_s < 1 / 30 and 0 <= audio_s < 0.020 and 0 <= feedback_s < sim.feedback_interval_s
    assert phases[1] != phases[2]
    again = CallSim(3.5e6, 10.0, [FlowSpec("gcc"), FlowSpec("gcc"), FlowSpec("gcc")], seed=4)
    assert [f.clock_phases_s() for f in again.flows] == phases  # seeded: the same run twice


def test_phase_locked_senders_share_unfairly_independent_ones_fairly(monkeypatch):
    # RFC 8867 5.4 with SCReAM: three senders whose cameras and feedback timers tick at the
    # same instants sample the shared queue differently by window size (one takes the link);
    # with clocks of their own they converge
    from rtlib.cc.call import MediaFlow
    from rtlib.cc.scenarios import run_scenario

    fair = run_scenario("rfc8867-5.4", "scream").summary(warmup_s=60)["jain"]
    monkeypatch.setattr(MediaFlow, "clock_phases_s", lambda self: (0.0, 0.0, 0.0))
    locked = run_scenario("rfc8867-5.4", "scream").summary(warmup_s=60)["jain"]
    assert fair > 0.9 and locked < 0.75
