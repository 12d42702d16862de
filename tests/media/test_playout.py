"""Playout: traces, scenarios, policies, the driver, the oracle and the sans-IO buffer."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.media.jitter import (
    SCENARIOS, AdaptivePlayout, FixedBuffer, FixedDelay, PacketTrace, QuantileBuffer, adaptive_estimates,
    compare_to_oracle, continuous_trace, late_loss_at, late_packets, make_scenario, oracle_delay_s, oracle_result,
    play_trace,
)
from rtlib.media.jitter.buffer import JitterBuffer, play_through_buffer
from rtlib.media.jitter.scenarios import PAUSE_MEAN_S, TALKSPURT_MEAN_S


# -- traces and scenarios -----------------------------------------------------------
def test_trace_validates_its_arrays():
    with pytest.raises(ValueError, match="arrival_s must have the shape"):
        PacketTrace([0, 0.02], [0.1])
    with pytest.raises(ValueError, match="non-decreasing"):
        PacketTrace([0.02, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="frame_s must be in"):
        PacketTrace([0], [0.1], frame_s=1.0)
    with pytest.raises(ValueError, match="inf"):
        PacketTrace([0], [np.inf])
    tr = PacketTrace([0, 0.02, 0.04], [0.05, np.nan, 0.09])
    assert tr.talkspurt_start[0] and tr.n_talkspurts == 1
    assert tr.loss_rate == pytest.approx(1 / 3)
    assert np.allclose(tr.delay_s[[0, 2]], [0.05, 0.05])


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenarios_are_seeded_fifo_and_plausible(name):
    a = make_scenario(name, 30, seed=4)
    b = make_scenario(name, 30, seed=4)
    c = make_scenario(name, 30, seed=5)
    assert np.array_equal(a.arrival_s, b.arrival_s) and not np.array_equal(a.arrival_s, c.arrival_s)
    assert np.all(np.diff(a.arrival_s) >= 0), "a FIFO path never reorders"
    assert np.all(a.delay_s > 0.015)
    assert np.all(np.diff(a.send_s) >= a.frame_s - 1e-12)


def test_speech_activity_follows_p59():
    tr = make_scenario("steady", 1200, seed=1)
    activity = len(tr) * tr.frame_s / tr.duration_s
    assert activity == pytest.approx(TALKSPURT_MEAN_S / (TALKSPURT_MEAN_S + PAUSE_MEAN_S), abs=0.05)
    talk_s = len(tr) * tr.frame_s / tr.n_talkspurts
    assert talk_s == pytest.approx(TALKSPURT_MEAN_S, rel=0.15)


def test_scenario_loss_and_continuous_mode():
    tr = make_scenario("steady", 200, seed=2, loss=0.1, speech=False)
    assert tr.n_talkspurts == 1 and len(tr) == 10_000
    assert tr.loss_rate == pytest.approx(0.1, abs=0.01)
    with pytest.raises(ValueError, match="name must be one of"):
        make_scenario("moon")
    with pytest.raises(ValueError, match=r"loss must be in \[0, 1\)"):
        make_scenario(loss=1.5)


# -- the driver -------------------------------------------------------------------
def test_fixed_delay_plays_every_frame_that_long_after_sending():
    tr = make_scenario("wifi", 30, seed=0, loss=0.05)
    res = play_trace(tr, FixedDelay(80))
    assert np.allclose(res.delay_s, 0.080)
    assert np.array_equal(res.late, tr.received & (tr.delay_s > 0.080))
    assert res.mean_delay_ms == pytest.approx(80)
    assert res.total_loss_rate == pytest.approx(np.mean(~tr.received | (tr.delay_s > 0.080)))


def test_fixed_buffer_waits_from_each_talkspurts_first_packet():
    tr = make_scenario("steady", 30, seed=1)
    res = play_trace(tr, FixedBuffer(30))
    firsts = np.flatnonzero(tr.talkspurt_start)
    assert np.allclose(res.delay_s[firsts], tr.delay_s[firsts] + 0.030)


@pytest.mark.parametrize("policy", [AdaptivePlayout(), QuantileBuffer(), FixedBuffer(20)], ids=lambda p: p.name)
def test_talkspurt_mode_holds_the_delay_within_a_talkspurt(policy):
    tr = make_scenario("congestion", 60, seed=3, loss=0.02)
    res = play_trace(tr, policy)
    for k in range(tr.n_talkspurts):
        d = res.delay_s[tr.talkspurt_id == k]
        assert np.ptp(d) < 1e-9
    assert not res.stretched.any() and res.stretched_fraction == 0


def test_talkspurts_never_overlap():
    tr = make_scenario("spikes", 120, seed=2)
    res = play_trace(tr, AdaptivePlayout(k=1))
    assert np.all(np.diff(res.playout_s) >= tr.frame_s - 1e-9)


def test_stretch_mode_moves_in_bounded_steps():
    tr = make_scenario("congestion", 60, seed=0, speech=False)
    res = play_trace(tr, QuantileBuffer(), mode="stretch", max_stretch=0.1)
    steps = np.diff(res.delay_s)
    assert np.max(np.abs(steps)) <= 0.1 * tr.frame_s + 1e-12
    assert 0 < res.stretched_fraction < 0.5
    assert np.array_equal(np.abs(steps) > 1e-9, res.stretched[1:])
    # Without stretching a continuous stream keeps its first delay for ever.
    flat = play_trace(tr, QuantileBuffer(), mode="talkspurt")
    assert np.ptp(flat.delay_s) < 1e-9 and flat.late_loss_rate > res.late_loss_rate


def test_decisions_are_causal():
    """Changing what arrives after a talkspurt was decided cannot change its delay."""
    tr = make_scenario("wifi", 40, seed=6)
    res = play_trace(tr, AdaptivePlayout())
    k = tr.n_talkspurts // 2
    first = np.flatnonzero(tr.talkspurt_start)[k]
    later = tr.arrival_s > tr.arrival_s[first]
    arrival = tr.arrival_s.copy()
    arrival[later] += 0.5  # everything that arrives later is now much later
    res2 = play_trace(tr.with_arrivals(arrival), AdaptivePlayout())
    upto = tr.talkspurt_id <= k
    assert np.allclose(res.playout_s[upto], res2.playout_s[upto])


def test_driver_rejects_bad_arguments():
    tr = make_scenario("steady", 5)
    with pytest.raises(ValueError, match="mode must be one of"):
        play_trace(tr, AdaptivePlayout(), mode="warp")
    with pytest.raises(ValueError, match="max_stretch"):
        play_trace(tr, AdaptivePlayout(), mode="stretch", max_stretch=0)
    with pytest.raises(ValueError, match="policy must be a PlayoutPolicy"):
        play_trace(tr, "adaptive")


# -- the adaptive estimator ----------------------------------------------------------
def test_adaptive_by_hand():
    pol = AdaptivePlayout(alpha=0.5, k=4, warmup=False, initial_v_ms=0)
    pol.observe(0.0, 0.010)
    pol.observe(0.02, 0.040)  # delay 20 ms
    assert pol.d == pytest.approx(0.015) and pol.v == pytest.approx(0.0025)
    assert pol.target_delay_s(0.0) == pytest.approx(0.025)


def test_adaptive_on_constant_delay_plays_at_that_delay():
    tr = continuous_trace(0.05 + 0.02 * np.arange(100))
    res = play_trace(tr, AdaptivePlayout(initial_v_ms=0))
    assert np.allclose(res.delay_s, 0.05) and res.late_loss_rate == 0


def test_adaptive_prior_guards_the_first_talkspurt_then_fades():
    i = np.arange(3000)
    send = 3.0 * (i // 100) + 0.02 * (i % 100)  # 30 talkspurts of 2 s, 1 s of silence between
    starts = i % 100 == 0
    tr = PacketTrace(send, send + 0.05, starts)
    res = play_trace(tr, AdaptivePlayout())  # initial_v_ms = 10: first talkspurt at 50 + 4 x 10 ms
    assert res.delay_s[0] == pytest.approx(0.09)
    assert res.delay_s[400] == pytest.approx(0.05 + 0.04 / 401, abs=1e-9)  # in the warm-up the prior weighs 1/count
    assert res.delay_s[-1] < 0.0501


@pytest.mark.parametrize("warmup", [True, False])
def test_vectorised_estimates_equal_the_class(warmup):
    delays = make_scenario("wifi", 40, seed=1).delay_s
    d, v = adaptive_estimates(delays, warmup=warmup)
    pol = AdaptivePlayout(warmup=warmup)
    for i, n in enumerate(delays):
        pol.observe(0.0, n)
        assert pol.d == pytest.approx(d[i], abs=1e-12) and pol.v == pytest.approx(v[i], abs=1e-12)


def test_larger_k_trades_delay_for_late_loss():
    tr = make_scenario("wifi", 120, seed=0)
    results = [play_trace(tr, AdaptivePlayout(k=k)) for k in (1, 2, 4, 8)]
    delays = [r.mean_delay_ms for r in results]
    losses = [r.late_loss_rate for r in results]
    assert delays == sorted(delays) and losses == sorted(losses, reverse=True)
    assert losses[0] > 0.05 > losses[-1]


def test_spike_variant_follows_a_spike_and_recovers():
    pol = AdaptivePlayout(variant="spike")
    for i in range(50):
        pol.observe(0.02 * i, 0.02 * i + 0.05)
    assert not pol.spike
    pol.observe(1.0, 1.3)  # +250 ms jump
    assert pol.spike and pol.d == pytest.approx(0.3)
    for i in range(1, 15):  # the queue drains: delay falls back with slope -1
        pol.observe(1.0 + 0.02 * i, 1.3 + 0.001 * i)
    for i in range(15, 40):
        pol.observe(1.0 + 0.02 * i, 1.0 + 0.02 * i + 0.05)
    assert not pol.spike and pol.d < 0.1
    with pytest.raises(ValueError, match="variant must be one of"):
        AdaptivePlayout(variant="psychic")


def test_adaptive_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"alpha must be in \[0, 1\)"):
        AdaptivePlayout(alpha=1.0)
    with pytest.raises(ValueError, match="k must be in"):
        AdaptivePlayout(k=-1)
    with pytest.raises(ValueError, match="finite delays"):
        adaptive_estimates([0.1, np.nan])


# -- the quantile buffer -------------------------------------------------------------
def test_quantile_buffer_on_constant_delay_adds_one_bucket():
    pol = QuantileBuffer()
    for i in range(200):
        pol.observe(0.02 * i, 0.02 * i + 0.07)
    assert pol.target_delay_s(0.0) == pytest.approx(0.07 + 0.02)


def test_quantile_buffer_covers_its_quantile():
    rng = np.random.default_rng(0)
    rel_ms = rng.uniform(0, 100, 5000)
    pol = QuantileBuffer(quantile=0.9, bucket_ms=5, forget_factor=0.9999)
    for i, r in enumerate(rel_ms):
        pol.observe(0.02 * i, 0.02 * i + 0.05 + r / 1000)
    # The window reference is the fastest packet of the last 2 s (about 50 ms here).
    assert pol.reference_delay_s == pytest.approx(0.05, abs=0.003)
    assert pol.quantile_delay_s() == pytest.approx(0.090, abs=0.006)


def test_quantile_buffer_forgets():
    pol = QuantileBuffer(bucket_ms=5)
    for i in range(3000):  # wide jitter first ...
        pol.observe(0.02 * i, 0.02 * i + 0.05 + 0.1 * (i % 2))
    wide = pol.quantile_delay_s()
    for i in range(3000, 9000):  # ... then none
        pol.observe(0.02 * i, 0.02 * i + 0.05)
    assert wide > 0.1 and pol.quantile_delay_s() <= 0.01


# -- the oracle ----------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 0.5), min_size=2, max_size=300), st.floats(0, 0.5))
def test_oracle_is_the_smallest_fixed_delay_within_budget(delays, budget):
    tr = continuous_trace(0.02 * np.arange(len(delays)) + np.array(delays))
    d = oracle_delay_s(tr, budget)
    assert late_loss_at(tr, d) <= budget + 1e-12
    smaller = np.nextafter(d, 0)
    assert late_loss_at(tr, smaller) > budget or smaller < min(tr.delay_s)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(30, 200))
def test_no_fixed_delay_beats_the_oracle(seed, delay_ms):
    tr = make_scenario("wifi", 10, seed=seed, loss=0.02)
    cmp = compare_to_oracle(play_trace(tr, FixedDelay(delay_ms)))
    assert cmp["ratio"] >= 1 - 1e-9


def test_oracle_result_and_zero_budget():
    tr = make_scenario("spikes", 60, seed=1)
    assert oracle_delay_s(tr, 0.0) == pytest.approx(np.max(tr.delay_s))
    res = oracle_result(tr, 0.01)
    assert res.late_loss_rate <= 0.01 and "oracle" in res.policy
    with pytest.raises(ValueError, match="late_loss"):
        oracle_delay_s(tr, 1.0)


# -- the sans-IO buffer ----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SCENARIOS))
@pytest.mark.parametrize("make", [lambda: FixedBuffer(40), AdaptivePlayout, QuantileBuffer],
                         ids=["fixed", "adaptive", "quantile"])
def test_buffer_equals_the_driver_in_talkspurt_mode(name, make):
    tr = make_scenario(name, 40, seed=3, loss=0.05)
    a = play_trace(tr, make())
    b, jb = play_through_buffer(tr, make())
    assert np.array_equal(a.late, b.late)
    assert np.allclose(a.playout_s[tr.received], b.playout_s[tr.received])
    assert jb.stats["late"] == a.late.sum()
    assert jb.stats["played"] == a.played.sum()


def test_buffer_close_to_the_driver_in_stretch_mode():
    tr = make_scenario("wifi", 60, seed=3, speech=False)
    a = play_trace(tr, QuantileBuffer(), mode="stretch")
    b, jb = play_through_buffer(tr, QuantileBuffer(), mode="stretch")
    assert abs(int(a.late.sum()) - jb.stats["late"]) <= 0.1 * a.late.sum() + 2
    assert abs(a.mean_delay_ms - b.mean_delay_ms) < 3
    assert jb.stats["stretched"] > 0


def test_buffer_hands_out_frames_in_order_with_gaps_marked():
    jb = JitterBuffer(FixedBuffer(40))
    assert jb.next_deadline_s() is None and jb.pop(10.0) == []
    assert jb.push(0, 0.00, "a", 0.050) == "buffered"
    assert jb.next_deadline_s() == pytest.approx(0.090)
    assert jb.push(2, 0.04, "c", 0.095) == "buffered"  # seq 1 is missing
    assert jb.push(2, 0.04, "c", 0.096) == "duplicate"
    frames = jb.pop(0.2)
    assert [(f.seq, f.status) for f in frames] == [(0, "played"), (1, "missing"), (2, "played")]
    assert [f.due_s for f in frames] == pytest.approx([0.09, 0.11, 0.13])
    assert jb.push(1, 0.02, "b", 0.21) == "late"
    assert jb.push(3, 0.06, "d", 0.16) == "late"  # due at 0.15
    assert jb.stats == {"received": 4, "played": 2, "late": 2, "missing": 1, "duplicate": 1, "stretched": 0}


def test_buffer_detects_a_talkspurt_by_timestamp_jump():
    jb = JitterBuffer(FixedBuffer(40))
    jb.push(0, 0.0, None, 0.05)
    jb.pop(1.0)
    # seq 1 is the next packet, but sent 1 s later: a new talkspurt, re-anchored at its arrival.
    jb.push(1, 1.0, None, 1.2)
    assert jb.next_deadline_s() == pytest.approx(1.24)


def test_buffer_rejects_bad_input():
    jb = JitterBuffer(AdaptivePlayout())
    with pytest.raises(ValueError, match="seq must be"):
        jb.push(-1, 0.0, None, 0.1)
    with pytest.raises(ValueError, match="finite"):
        jb.push(0, math.nan, None, 0.1)
    with pytest.raises(ValueError, match="mode must be one of"):
        JitterBuffer(AdaptivePlayout(), mode="?")


def test_late_packets_in_arrival_order():
    tr = make_scenario("wifi", 30, seed=2)
    expected = play_trace(tr, AdaptivePlayout(), mode="talkspurt").late
    rx = np.flatnonzero(tr.received)
    shuffled = rx[np.argsort(tr.arrival_s[rx])][::-1]  # any order in, flags in that order out
    got = late_packets(tr.arrival_s[shuffled], tr.send_s[shuffled], talkspurt_start=tr.talkspurt_start[shuffled])
    assert np.array_equal(got, expected[shuffled])
    cont = make_scenario("congestion", 30, seed=2, speech=False)
    got = late_packets(cont.arrival_s, cont.send_s, policy=QuantileBuffer())
    assert np.array_equal(got, play_trace(cont, QuantileBuffer(), mode="stretch").late)
    assert late_packets([], []).size == 0
