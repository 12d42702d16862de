"""GCC's parts against hand-computed cases (draft-ietf-rmcat-gcc-02 sections 5 and 6)."""

import math

import pytest

from rtlib.cc.gcc import (
    BETA,
    DelayBasedRateControl,
    KalmanFilter,
    LossBasedControl,
    OveruseDetector,
    PacketGrouper,
    RateState,
    Signal,
    TrendlineFilter,
    expected_packet_size_bits,
    next_state,
)


# -- 5.1 / 5.2 packet groups ---------------------------------------------------------------
def test_packets_sent_within_5ms_form_one_group():
    g = PacketGrouper()
    # group A: sent at 0, 2, 5 ms; group B at 10, 12 ms; group C at 20 ms closes B
    out = [g.add(s, s + 0.050, 1000) for s in (0.000, 0.002, 0.005, 0.010, 0.012)]
    assert out == [None] * 5  # no delta until a third group starts
    d = g.add(0.020, 0.075, 1000)  # B's last packet was sent at 12 ms and arrived at 62 ms
    assert d.send_delta_ms == pytest.approx(12 - 5)
    assert d.arrival_delta_ms == pytest.approx(62 - 55)
    assert d.d_ms == pytest.approx(0.0)
    assert d.size_delta_bytes == 2000 - 3000


def test_delay_variation_is_arrival_minus_send_delta():
    g = PacketGrouper()
    for s, a in ((0.0, 0.05), (0.010, 0.062), (0.020, 0.081)):
        d = g.add(s, a, 1200)
    # groups at 0 and 10 ms, closed by the third: d = (62 - 50) - (10 - 0) = 2 ms
    assert d.d_ms == pytest.approx(2.0)


def test_burst_after_an_outage_joins_the_group():
    g = PacketGrouper()
    g.add(0.000, 0.050, 1200)
    g.add(0.010, 0.300, 1200)  # second group delayed by an outage
    # sent 10 ms later, arrived 1 ms later (d < 0, inter-arrival < 5 ms): same group
    assert g.add(0.020, 0.301, 1200) is None
    assert g._cur.last_send == 0.020 and g._cur.size == 2400


def test_reordered_packet_is_ignored():
    g = PacketGrouper()
    g.add(0.010, 0.060, 1200)
    assert g.add(0.000, 0.061, 1200) is None
    assert g._cur.size == 1200


# -- 5.3 arrival-time filter -------------------------------------------------------------------
def test_kalman_first_update_by_hand():
    f = KalmanFilter(q=1e-3, e0=0.1, chi=0.01, var_v0=50.0)
    m = f.update(d_ms=10.0, send_delta_ms=5.0)
    alpha = 0.99 ** (30 * 5 / 1000)
    var_v = alpha * 50 + (1 - alpha) * 100
    k = 0.101 / (var_v + 0.101)
    assert m == pytest.approx(k * 10)
    assert f.e == pytest.approx((1 - k) * 0.101)
    assert f.var_v == pytest.approx(var_v)


def test_kalman_outlier_clipped_in_the_variance_only():
    f = KalmanFilter(var_v0=1.0)
    f.update(d_ms=100.0, send_delta_ms=5.0)  # 100 ms >> 3 * sqrt(1)
    alpha = 0.99 ** 0.15
    assert f.var_v == pytest.approx(max(alpha * 1 + (1 - alpha) * 9, 1.0))


def test_kalman_converges_to_a_constant_delay_variation():
    f = KalmanFilter()
    for _ in range(2000):
        f.update(1.0, 5.0)
    assert f.m_ms == pytest.approx(1.0, rel=0.02)
    assert f.detector_input_ms() == pytest.approx(60 * f.m_ms)


def test_trendline_slope_of_a_growing_queue():
    f = TrendlineFilter(window=20, smoothing=0.0, gain=4.0)
    # every 5 ms group arrives 0.5 ms later than sent: the queue grows 0.1 ms per ms
    for i in range(1, 40):
        f.update(0.5, 5.0, arrival_s=i * 0.0055)
    assert f.slope == pytest.approx(0.5 / 5.5)
    assert f.detector_input_ms() == pytest.approx(39 * f.slope * 4)


# -- 5.4 over-use detector and adaptive threshold ---------------------------------------
def test_threshold_rises_with_k_u_and_falls_with_k_d():
    det = OveruseDetector()
    det.adapt_threshold(0.0, 1.000)  # the first sample only starts the clock
    assert det.threshold_ms == 12.5
    # |m| = 20 > 12.5 after 10 ms: 12.5 + 10 * 0.01 * (20 - 12.5)
    assert det.adapt_threshold(20.0, 1.010) == pytest.approx(13.25)
    # |m| = 5 < 13.25 after 100 ms: 13.25 + 100 * 0.00018 * (5 - 13.25)
    assert det.adapt_threshold(-5.0, 1.110) == pytest.approx(13.25 - 0.1485)


def test_threshold_ignores_spikes_caps_the_step_and_clamps():
    det = OveruseDetector()
    det.adapt_threshold(0.0, 0.0)
    th = det.threshold_ms
    assert det.adapt_threshold(th + 15.1, 0.010) == th  # |m| - th > 15: no update
    # a 10 s gap counts as 100 ms: 12.5 + 100 * 0.01 * (27 - 12.5) = 27
    assert det.adapt_threshold(27.0, 10.0) == pytest.approx(27.0)
    det2 = OveruseDetector(threshold0_ms=6.0)
    det2.adapt_threshold(0.0, 0.0)
    for i in range(1, 50):
        det2.adapt_threshold(0.0, i * 0.1)
    assert det2.threshold_ms == 6.0  # clamped at the floor


def test_overuse_needs_10ms_above_threshold_and_a_non_decreasing_m():
    det = OveruseDetector(adaptive=False)
    # 5 ms groups: time above threshold 2.5, 7.5, 12.5 ms -> signalled at the third
    assert det.detect(20.0, 5.0, 0.005) is Signal.NORMAL
    assert det.detect(21.0, 5.0, 0.010) is Signal.NORMAL
    assert det.detect(22.0, 5.0, 0.015) is Signal.OVERUSE
    det = OveruseDetector(adaptive=False)
    det.detect(20.0, 5.0, 0.005)
    det.detect(21.0, 5.0, 0.010)
    assert det.detect(20.5, 5.0, 0.015) is Signal.NORMAL  # m decreasing: not yet


def test_underuse_and_normal():
    det = OveruseDetector(adaptive=False)
    assert det.detect(-13.0, 5.0, 0.005) is Signal.UNDERUSE
    assert det.detect(3.0, 5.0, 0.010) is Signal.NORMAL


# -- 5.5 rate control -----------------------------------------------------------------------
@pytest.mark.parametrize("state,signal,after", [
    (RateState.HOLD, Signal.OVERUSE, RateState.DECREASE),
    (RateState.INCREASE, Signal.OVERUSE, RateState.DECREASE),
    (RateState.DECREASE, Signal.OVERUSE, RateState.DECREASE),
    (RateState.HOLD, Signal.NORMAL, RateState.INCREASE),
    (RateState.INCREASE, Signal.NORMAL, RateState.INCREASE),
    (RateState.DECREASE, Signal.NORMAL, RateState.HOLD),
    (RateState.HOLD, Signal.UNDERUSE, RateState.HOLD),
    (RateState.INCREASE, Signal.UNDERUSE, RateState.HOLD),
    (RateState.DECREASE, Signal.UNDERUSE, RateState.HOLD),
])
def test_state_transition_table(state, signal, after):
    assert next_state(state, signal) is after


def test_multiplicative_increase_is_8_percent_per_second():
    rc = DelayBasedRateControl(500e3)
    rc.update(Signal.NORMAL, None, 0.1, 0.0)
    assert rc.update(Signal.NORMAL, None, 0.1, 1.0) == pytest.approx(540e3)
    assert rc.update(Signal.NORMAL, None, 0.1, 1.5) == pytest.approx(540e3 * 1.08 ** 0.5)
    # a step longer than 1 s counts as 1 s
    assert rc.update(Signal.NORMAL, None, 0.1, 5.0) == pytest.approx(540e3 * 1.08 ** 1.5)


def test_back_off_to_beta_times_incoming_rate():
    rc = DelayBasedRateControl(1.2e6)
    rc.update(Signal.NORMAL, 1.0e6, 0.1, 0.0)
    assert rc.update(Signal.OVERUSE, 1.0e6, 0.1, 0.05) == pytest.approx(BETA * 1.0e6)
    assert rc.state is RateState.DECREASE
    # still over-using 50 ms later: the next cut waits one RTT (100 ms)
    assert rc.update(Signal.OVERUSE, 0.9e6, 0.1, 0.10) == pytest.approx(850e3)
    assert rc.update(Signal.OVERUSE, 0.9e6, 0.1, 0.16) == pytest.approx(BETA * 0.9e6)
    assert rc.update(Signal.NORMAL, 0.8e6, 0.1, 0.2) == pytest.approx(BETA * 0.9e6)  # -> hold
    assert rc.state is RateState.HOLD


def test_other_back_off_factor():
    rc = DelayBasedRateControl(1.2e6, beta=0.5)
    rc.update(Signal.OVERUSE, 1.0e6, 0.1, 0.0)
    assert rc.rate_bps == pytest.approx(0.5e6)


def test_additive_increase_near_convergence():
    rc = DelayBasedRateControl(1.0e6)
    rc.update(Signal.OVERUSE, 1.0e6, 0.1, 0.0)  # decrease at 1 Mbit/s: average max = 1000 kbit/s
    rc.update(Signal.NORMAL, 1.0e6, 0.1, 0.1)  # -> hold
    rc.update(Signal.NORMAL, 1.0e6, 0.1, 0.2)  # -> increase (clock restarts)
    a0 = rc.rate_bps
    a1 = rc.update(Signal.NORMAL, 1.0e6, 0.1, 0.3)
    assert rc.near_convergence
    # response time 100 + 100 ms; alpha = 0.5 * 0.1 / 0.2 = 0.25
    assert a1 - a0 == pytest.approx(max(1000, 0.25 * expected_packet_size_bits(a0)))


def test_incoming_rate_far_above_average_resets_to_multiplicative():
    rc = DelayBasedRateControl(1.0e6)
    rc.update(Signal.OVERUSE, 1.0e6, 0.1, 0.0)
    rc.update(Signal.NORMAL, 1.0e6, 0.1, 0.1)
    rc.update(Signal.NORMAL, 2.0e6, 0.1, 0.2)
    a0 = rc.rate_bps
    a1 = rc.update(Signal.NORMAL, 2.0e6, 0.1, 1.2)
    assert rc.avg_max_kbps is None and not rc.near_convergence
    assert a1 == pytest.approx(a0 * 1.08)


def test_estimate_stays_below_one_and_a_half_incoming_rate():
    rc = DelayBasedRateControl(500e3)
    rc.update(Signal.NORMAL, 400e3, 0.1, 0.0)
    for t in range(1, 20):
        rc.update(Signal.NORMAL, 400e3, 0.1, float(t))
    assert rc.rate_bps == pytest.approx(1.5 * 400e3 + 10e3)  # grew to the bound, not past it
    # the bound never lowers the estimate by itself
    rc2 = DelayBasedRateControl(1.0e6)
    rc2.update(Signal.NORMAL, 0.2e6, 0.1, 0.0)
    assert rc2.update(Signal.NORMAL, 0.2e6, 0.1, 1.0) == pytest.approx(1.0e6)


def test_expected_packet_size():
    # 1 Mbit/s at 30 fps: 33333 bits per frame in 4 packets
    assert expected_packet_size_bits(1e6) == pytest.approx(1e6 / 30 / 4)


# -- 6 loss-based control ----------------------------------------------------------------
def test_loss_based_rules():
    lc = LossBasedControl(1e6)
    assert lc.update(0.15) == pytest.approx(1e6 * (1 - 0.075))
    r = lc.rate_bps
    assert lc.update(0.05) == pytest.approx(r)  # 2-10 %: hold
    assert lc.update(0.01) == pytest.approx(r * 1.05)
    assert lc.update(0.0, cap_bps=0.5e6) == pytest.approx(0.5e6)
    with pytest.raises(ValueError, match="loss_ratio must be in"):
        lc.update(1.5)


def test_bad_parameters_are_named():
    with pytest.raises(ValueError, match="beta"):
        DelayBasedRateControl(1e6, beta=1.2)
    with pytest.raises(ValueError, match="chi"):
        KalmanFilter(chi=0.5)
    with pytest.raises(ValueError, match="k_u"):
        OveruseDetector(k_u=-1)
    with pytest.raises(ValueError, match="start_rate_bps"):
        DelayBasedRateControl(math.nan)


def test_near_convergence_literal_draft_reading():
    rc = DelayBasedRateControl(1.0e6, sticky_near=False)
    rc.update(Signal.OVERUSE, 1.0e6, 0.1, 0.0)  # average at decreases: 1000 kbit/s
    rc.update(Signal.NORMAL, 0.85e6, 0.1, 0.1)
    rc.update(Signal.NORMAL, 0.85e6, 0.1, 0.2)
    a0 = rc.rate_bps
    # 850 kbit/s is more than 3 sigma (3 * sqrt(0.4 * 1000) = 60 kbit/s) below: "far", multiplicative
    assert rc.update(Signal.NORMAL, 0.85e6, 0.1, 1.2) == pytest.approx(a0 * 1.08)
    assert not rc.near_convergence
    sticky = DelayBasedRateControl(1.0e6)
    sticky.update(Signal.OVERUSE, 1.0e6, 0.1, 0.0)
    sticky.update(Signal.NORMAL, 0.85e6, 0.1, 0.1)
    sticky.update(Signal.NORMAL, 0.85e6, 0.1, 0.2)
    b0 = sticky.rate_bps
    assert sticky.update(Signal.NORMAL, 0.85e6, 0.1, 1.2) - b0 < 0.02 * b0  # additive
    assert sticky.near_convergence


def test_probe_result_by_hand():
    from rtlib.cc.base import PacketResult
    from rtlib.cc.gcc import probe_result_bps

    # 6 packets of 1000 bytes sent 1 ms apart (8 Mbit/s), delivered 4 ms apart (2 Mbit/s)
    res = [PacketResult(i, 0.001 * i, 1000, 0.05 + 0.004 * i) for i in range(6)]
    assert probe_result_bps(res) == pytest.approx(0.95 * 5 * 8000 / 0.020)  # saturated: 95 % of receive rate
    # delivered as sent: the smaller of the two rates
    res = [PacketResult(i, 0.001 * i, 1000, 0.05 + 0.001 * i) for i in range(6)]
    assert probe_result_bps(res) == pytest.approx(5 * 8000 / 0.005)
    assert probe_result_bps(res[:2]) is None  # too few packets


def test_gcc_controller_on_a_synthetic_feedback_stream():
    from rtlib.cc.base import PacketResult
    from rtlib.cc.gcc import GccController

    c = GccController(500e3, probing=False)
    seq = 0
    t = 0.0
    # 1 Mbit/s sent into a 0.8 Mbit/s link: the queue grows and GCC must back off
    q = 0.0
    last_arrival = 0.0
    for report in range(40):
        results = []
        for _ in range(5):
            send = t
            service = 1250 * 8 / 0.8e6
            arrival = max(send + 0.05, last_arrival + service)
            last_arrival = arrival
            results.append(PacketResult(seq, send, 1250, arrival))
            seq += 1
            t += 0.01
        c.on_packet_results(t + 0.1, results, 0.15)
    states = {row[4] for row in c.trace}
    assert "decrease" in states and c.detector.signal is not None
    assert c.target_rate_bps < 0.9e6


def test_loss_cut_counts_only_packets_sent_after_it():
    from rtlib.cc.base import PacketResult
    from rtlib.cc.gcc import GccController

    c = GccController(1e6, probing=False)
    seq = 0

    def report(now, send_times, lost_every):
        nonlocal seq
        res = []
        for k, t in enumerate(send_times):
            lost = k % lost_every == 0
            res.append(PacketResult(seq, t, 1200, None if lost else t + 0.05))
            seq += 1
        return c.on_packet_results(now, res, 0.1)

    report(0.10, [0.001 * i for i in range(30)], 1000)  # starts the loss clock (1 of 30 lost)
    before = c.loss_control.rate_bps
    report(0.40, [0.10 + 0.005 * i for i in range(40)], 2)  # 20 of 40 lost
    after_cut = c.loss_control.rate_bps
    assert after_cut == pytest.approx(before * (1 - 0.5 * 21 / 70))  # the report covers all 70
    # more losses, but of packets sent before the cut: no second cut
    report(0.70, [0.30 + 0.002 * i for i in range(40)], 2)
    assert c.loss_control.rate_bps >= after_cut


def test_start_up_probe_measures_the_link():
    from rtlib.cc.base import PacketResult
    from rtlib.cc.gcc import GccController

    c = GccController(300e3)
    clusters = c.probes(0.0)
    assert [round(r) for _, r, _ in clusters] == [600_000, 1_500_000]  # padding above the 300k of media
    # the first cluster: its padding goes out at 900 kbit/s total and arrives spaced by a 2 Mbit/s link
    cid, pad_bps, n = clusters[0]
    results = []
    for k in range(n):
        c.on_packet_sent(0.001 * k, k, 1252, cid, padding=True)
        results.append(PacketResult(k, 0.011 * k, 1252, 0.05 + 0.011 * k))
    c.on_packet_results(0.2, results, 0.1)
    assert c.delay_control.rate_bps == pytest.approx(1252 * 8 / 0.011, rel=0.02)  # not saturated: the send rate
    assert c.probe_log[0][2] == pytest.approx(1252 * 8 / 0.011, rel=0.02)


def test_recovery_probe_after_a_large_drop_only_when_enabled():
    from rtlib.cc.call import CallSim, FlowSpec
    from rtlib.cc.gcc import RECOVERY_FRACTION

    def run(capacity, recovery):
        sim = CallSim(capacity, 30.0, [FlowSpec("gcc", controller_args={"recovery_probe": recovery})])
        sim.run()
        return sim.flows[0].controller

    drop = [[0, 2.5e6], [15, 0.5e6], [17, 2.5e6]]  # the estimate falls well below 66 % at 15 s
    c = run(drop, True)
    assert c.recovery_log, "no recovery probe after a drop from 2.5 to 0.5 Mbit/s"
    t, before = c.recovery_log[0]
    assert 15 < t < 20 and before > 1.5e6
    probed = {round(rate) for tp, rate, _ in c.probe_log if tp >= t}
    assert round(RECOVERY_FRACTION * before) in probed  # at 85 % of the rate before the drop
    assert run(drop, False).recovery_log == []        # off by default
    assert run(2.5e6, True).recovery_log == []        # no large drop, no recovery probe


def test_congestion_window_is_target_times_min_rtt_plus_the_queue_allowance():
    from rtlib.cc.gcc import WINDOW_MIN_BYTES, GccController

    assert GccController().congestion_window_bytes(0.0) is None  # off by default
    c = GccController(start_rate_bps=800e3, window_ms=100.0, probing=False)
    for t, rtt in ((0.05, 0.120), (0.10, 0.104), (0.15, 0.130)):
        c.on_packet_results(t, [], rtt)
    assert c.congestion_window_bytes(0.2) == pytest.approx(c.target_rate_bps * (0.104 + 0.100) / 8)
    low = GccController(start_rate_bps=60e3, window_ms=0.0, probing=False)
    low.on_packet_results(0.05, [], 0.1)
    assert low.congestion_window_bytes(0.1) == WINDOW_MIN_BYTES
    with pytest.raises(ValueError, match="window_ms"):
        GccController(window_ms=-1)
