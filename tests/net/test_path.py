"""rtlib.net.simulate_path: the FIFO bottleneck, delay, jitter, reordering and checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.net import OpportunityTrace, StepCapacity, simulate_path
from rtlib.net.capacity import as_capacity

BPS = 8192.0  # 1024 bytes/s: with send times in 1/1024 s and whole-byte sizes, all sums are exact


def reference_fifo(send, size, rate_bps, limit_bytes=None, limit_ms=None):
    """A FIFO tail-drop queue straight from its definition, packet by packet, in bytes."""
    Bps = rate_bps / 8
    work_end = -math.inf  # bytes offered when the queue empties (U coordinates)
    out = []
    for a, s in zip(send, size):
        u = a * Bps
        backlog = max(0.0, work_end - u)
        if limit_bytes is not None and backlog + s > limit_bytes:
            out.append(math.nan)
            continue
        if limit_ms is not None and backlog / Bps > limit_ms / 1000:
            out.append(math.nan)
            continue
        work_end = max(u, work_end) + s
        out.append(work_end / Bps)
    return np.array(out)


packets = st.lists(st.tuples(st.integers(0, 400), st.integers(1, 3000)), min_size=1, max_size=80)


def _arrays(pk):
    gaps = np.array([g for g, _ in pk], dtype=float) / 1024
    return np.cumsum(gaps), np.array([s for _, s in pk], dtype=float)


@settings(max_examples=150, deadline=None)
@given(packets, st.one_of(st.none(), st.integers(1500, 20000)),
       st.one_of(st.none(), st.integers(1, 30).map(lambda k: (128 * k + 64.5) / 1.024)))
def test_fifo_matches_the_packet_by_packet_definition(pk, limit_bytes, limit_ms):
    send, size = _arrays(pk)
    res = simulate_path(send, size, capacity_bps=BPS, queue_limit_bytes=limit_bytes, queue_limit_ms=limit_ms)
    ref = reference_fifo(send, size, BPS, limit_bytes, limit_ms)
    np.testing.assert_array_equal(np.isnan(res.departure_s), np.isnan(ref))
    np.testing.assert_allclose(res.departure_s, ref, rtol=1e-12, atol=1e-9)
    assert list(res.drop_reason[np.isnan(ref)]) == ["queue"] * int(np.isnan(ref).sum())


def test_long_congested_run_matches_the_definition():
    # a step-down overload: the vectorised and the Python-loop stretches both run
    rng = np.random.default_rng(7)
    send = np.cumsum(rng.integers(0, 3, 20000)) / 1024
    size = rng.integers(40, 1500, 20000).astype(float)
    for lb, lm in ((30000, None), (None, (128 * 40 + 64.5) / 1.024), (50000, (128 * 10 + 64.5) / 1.024)):
        res = simulate_path(send, size, capacity_bps=BPS * 600, queue_limit_bytes=lb, queue_limit_ms=lm)
        ref = reference_fifo(send, size, BPS * 600, lb, lm)
        assert np.isnan(ref).sum() > 100  # the case really congests
        np.testing.assert_allclose(res.departure_s, ref, rtol=1e-12, atol=1e-9)


capacities = st.sampled_from([
    1e6,
    StepCapacity([0, 0.05, 0.1, 0.2], [2e6, 0.3e6, 0.0, 1.5e6]),
    OpportunityTrace([1, 1, 3, 7, 7, 7, 12, 20]),
])
sends = st.lists(st.tuples(st.floats(0, 0.02), st.integers(40, 1500)), min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(sends, capacities, st.sampled_from([None, 4000, 12000]), st.sampled_from([None, 15.0, 60.0]),
       st.floats(0, 50), st.floats(0, 20), st.sampled_from(["uniform", "normal", "pareto"]), st.booleans(),
       st.integers(0, 2**31))
def test_path_invariants(pk, cap, lim_b, lim_ms, delay_ms, jitter_ms, dist, reorder, seed):
    send = np.cumsum([g for g, _ in pk])
    size = np.array([s for _, s in pk], dtype=float)
    res = simulate_path(send, size, delay_ms=delay_ms, jitter_ms=jitter_ms, jitter_dist=dist, reorder=reorder,
                        loss=0.1, burst_len=2.0, capacity_bps=cap, queue_limit_bytes=lim_b, queue_limit_ms=lim_ms,
                        seed=seed)
    ok = ~res.lost
    # delay is never below the propagation delay, and no packet leaves the queue before it came
    assert np.all(res.delay_s[ok] >= delay_ms / 1000 - 1e-12)
    assert np.all(res.queue_delay_s[ok] >= 0)
    # a FIFO queue never reorders
    dep = res.departure_s[ok]
    assert np.all(np.diff(dep) >= 0)
    if not reorder:
        assert np.all(np.diff(res.arrival_s[ok]) >= 0)
    # capacity is never exceeded: packets i..j all arrived after send[i] and left by dep[j]
    U = as_capacity(cap)
    a, s = send[ok], size[ok]
    for i in range(a.size):
        served = np.cumsum(s[i:])
        offered = U.bytes_by(dep[i:]) - U.bytes_before(a[i])
        assert np.all(served <= offered + 1e-6)
    # bookkeeping
    assert set(res.drop_reason) <= {"", "loss", "queue"}
    assert np.array_equal(res.lost, res.drop_reason != "")
    assert np.all(np.isnan(res.arrival_s[res.lost]))


def test_constant_link_adds_serialisation_and_propagation():
    res = simulate_path([0.0, 0.0, 1.0], [1250, 1250, 125], delay_ms=20, capacity_bps=1e6)
    # 1250 bytes at 1 Mbit/s take 10 ms; the second waits for the first
    np.testing.assert_allclose(res.delay_s * 1000, [30, 40, 21])
    np.testing.assert_allclose(res.queue_delay_s * 1000, [10, 20, 1])


def test_step_down_link_builds_a_queue_that_grows_at_the_rate_mismatch():
    # 2 Mbit/s of 1000-byte packets into a link that drops from 3 to 1 Mbit/s at 5 s
    send = np.arange(0, 10, 0.004)
    res = simulate_path(send, 1000, capacity_bps=StepCapacity([0, 5], [3e6, 1e6]))
    late = send > 6
    slope = np.polyfit(send[late], res.queue_delay_s[late], 1)[0]
    assert slope == pytest.approx(1.0, rel=0.02)  # (2 - 1) / 1 seconds of delay per second
    assert res.queue_delay_s[send < 4.9].max() < 0.01


def test_queue_limit_in_ms_caps_the_waiting_time():
    send = np.arange(0, 10, 0.004)
    res = simulate_path(send, 1000, capacity_bps=StepCapacity([0, 5], [3e6, 1e6]), queue_limit_ms=200)
    ok = ~res.lost
    wait = res.queue_delay_s[ok] - 1000 * 8 / 1e6
    assert wait.max() <= 0.2 + 1e-9
    assert (res.drop_reason == "queue").sum() > 500
    assert (res.drop_reason == "loss").sum() == 0


def test_mahimahi_opportunities_deliver_whole_packets_at_trace_times():
    trace = OpportunityTrace([5, 5, 10, 20])  # ms; loops every 20 ms
    res = simulate_path([0.0, 0.0, 0.0, 0.0, 0.0], 1500, capacity_bps=trace)
    np.testing.assert_allclose(res.departure_s * 1000, [5, 5, 10, 20, 25])
    # a small packet uses part of an opportunity; the next packet, already queued, uses the rest
    res = simulate_path([0.0, 0.0], [1000, 1000], capacity_bps=trace)
    np.testing.assert_allclose(res.departure_s * 1000, [5, 5])
    # an opportunity that finds the queue empty is wasted
    res = simulate_path([0.006], 1500, capacity_bps=trace)
    np.testing.assert_allclose(res.departure_s * 1000, [10])


def test_infinite_capacity_has_no_queue():
    res = simulate_path(np.zeros(100), 1500, delay_ms=10, queue_limit_bytes=100)
    assert not res.lost.any()
    np.testing.assert_allclose(res.delay_s, 0.010)
    np.testing.assert_array_equal(res.queue_delay_s, 0)


@pytest.mark.parametrize("dist", ["uniform", "normal", "pareto"])
def test_jitter_is_nonnegative_with_the_requested_mean(dist):
    res = simulate_path(np.arange(200_000) * 0.01, 100, delay_ms=30, jitter_ms=8, jitter_dist=dist, seed=3)
    extra_ms = (res.delay_s - 0.030) * 1000
    assert extra_ms.min() >= 0
    assert extra_ms.mean() == pytest.approx(8, rel=0.05 if dist == "pareto" else 0.01)


def test_pareto_has_the_heaviest_tail():
    p999 = {d: np.percentile(simulate_path(np.arange(100_000) * 0.01, 100, jitter_ms=10, jitter_dist=d).delay_s,
                             99.9) for d in ("uniform", "normal", "pareto")}
    assert p999["uniform"] < p999["normal"] < p999["pareto"]


def test_reordering_happens_only_when_allowed():
    send = np.arange(2000) * 0.002  # packets 2 ms apart, jitter ~ 20 ms: overtaking is common
    free = simulate_path(send, 200, jitter_ms=20, seed=1)
    assert (np.diff(free.arrival_s) < 0).sum() > 100
    fifo = simulate_path(send, 200, jitter_ms=20, reorder=False, seed=1)
    assert np.all(np.diff(fifo.arrival_s) >= 0)
    assert np.all(fifo.arrival_s >= free.arrival_s)  # in-order delivery only ever waits


def test_same_seed_same_result_other_seed_other_result():
    kw = dict(delay_ms=20, jitter_ms=5, loss=0.1, burst_len=3, capacity_bps=1e6)
    send = np.arange(5000) * 0.01
    a, b, c = (simulate_path(send, 1000, seed=s, **kw) for s in (5, 5, 6))
    np.testing.assert_array_equal(a.arrival_s, b.arrival_s)
    assert not np.array_equal(a.lost, c.lost)


def test_random_loss_happens_before_the_queue():
    res = simulate_path(np.arange(100_000) * 0.001, 100, loss=0.2, seed=2)
    assert set(res.drop_reason) == {"", "loss"}
    assert res.loss_rate == pytest.approx(0.2, abs=0.01)
    assert np.all(np.isnan(res.queue_delay_s[res.lost]))


def test_summary_counts():
    res = simulate_path(np.arange(1000) * 0.001, 1000, loss=0.05, capacity_bps=4e6, queue_limit_bytes=3000, seed=1)
    s = res.summary()
    assert s["packets"] == 1000
    assert s["delivered"] + s["random_loss"] + s["queue_drops"] == 1000
    assert s["queue_drops"] > 0 and s["random_loss"] > 0


def test_empty_input():
    res = simulate_path([], 100, capacity_bps=1e6, jitter_ms=1, loss=0.1)
    assert res.n == 0 and res.arrival_s.size == 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(delay_ms=-1), r"delay_ms must be a finite number >= 0 ms, got -1"),
    (dict(delay_ms=float("nan")), r"delay_ms must be"),
    (dict(jitter_ms=-0.5), r"jitter_ms must be a finite number >= 0 ms"),
    (dict(jitter_dist="cauchy"), r"jitter_dist must be one of \['uniform', 'normal', 'pareto'\]"),
    (dict(loss=1.5), r"loss must be in \[0, 1\], got 1.5"),
    (dict(loss=-0.1), r"loss must be in \[0, 1\]"),
    (dict(burst_len=0.5), r"burst_len must be a finite number >= 1"),
    (dict(loss=0.8, burst_len=2), r"burst_len must be >= loss / \(1 - loss\) = 4"),
    (dict(capacity_bps=0), r"capacity_bps must be a finite number > 0 bit/s"),
    (dict(capacity_bps=-5e6), r"capacity_bps must be"),
    (dict(capacity_bps="fast"), r"capacity_bps must be"),
    (dict(queue_limit_bytes=0), r"queue_limit_bytes must be None \(no limit\) or a number > 0 bytes"),
    (dict(queue_limit_ms=-10), r"queue_limit_ms must be None \(no limit\) or a number > 0 ms"),
    (dict(reorder="yes"), r"reorder must be True or False"),
    (dict(pareto_shape=1.0), r"pareto_shape must be in \(1, 100\]"),
    (dict(seed=-1), r"seed must be a non-negative integer"),
    (dict(stream=3), r"stream must be a string"),
])
def test_bad_parameters_name_the_parameter_and_range(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_path([0.0, 0.1], 100, **kwargs)


@pytest.mark.parametrize("send, size, match", [
    ([0.2, 0.1], 100, r"send_s must be non-decreasing; index 1 goes back in time"),
    ([0.0, float("nan")], 100, r"send_s must hold finite times"),
    ([[0.0]], 100, r"send_s must be a 1-D array"),
    ([0.0, 0.1], 0, r"size_bytes must be finite and > 0 bytes"),
    ([0.0, 0.1], [100, 100, 100], r"size_bytes must be a number or an array shaped like send_s"),
])
def test_bad_inputs(send, size, match):
    with pytest.raises(ValueError, match=match):
        simulate_path(send, size)


def test_cross_traffic_shares_the_fifo():
    # our packet waits behind cross traffic that arrived just before it
    res = simulate_path([0.001], 1250, capacity_bps=1e6, cross_traffic=([0.0, 0.0], [1250, 1250]))
    np.testing.assert_allclose(res.departure_s, [0.030])
    assert res.params["cross_packets"] == 2


@settings(max_examples=60, deadline=None)
@given(packets, packets, st.one_of(st.none(), st.integers(1500, 20000)))
def test_cross_traffic_equals_one_merged_stream(pk, other, limit_bytes):
    send, size = _arrays(pk)
    c_send, c_size = _arrays(other)
    res = simulate_path(send, size, capacity_bps=BPS, queue_limit_bytes=limit_bytes, cross_traffic=(c_send, c_size))
    t = np.concatenate((send, c_send))
    order = np.argsort(t, kind="stable")
    ref = reference_fifo(t[order], np.concatenate((size, c_size))[order], BPS, limit_bytes)
    mine = np.empty_like(ref)
    mine[order] = ref
    np.testing.assert_allclose(res.departure_s, mine[:send.size], rtol=1e-12, atol=1e-9)
    assert res.params["cross_dropped"] == int(np.isnan(mine[send.size:]).sum())


def test_poisson_cross_traffic_rate():
    from rtlib.net import poisson_cross_traffic

    t, s = poisson_cross_traffic(2e6, 100.0, 1000, start_s=5.0, seed=1)
    assert s.sum() * 8 / 100 == pytest.approx(2e6, rel=0.02)
    assert t.min() >= 5.0 and t.max() < 105.0 and np.all(np.diff(t) >= 0)
    with pytest.raises(ValueError, match="rate_bps must be a finite number > 0"):
        poisson_cross_traffic(0, 1.0)
    with pytest.raises(ValueError, match="cross_traffic needs a finite capacity_bps"):
        simulate_path([0.0], 100, cross_traffic=(t, s))
