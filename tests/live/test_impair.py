"""The sans-IO impairment core: fates and departure times under a virtual clock."""

import math

import numpy as np
import pytest

from rtlib.live.impair import DROP_LOSS, DROP_OUTAGE, DROP_QUEUE, FORWARD, ImpairedDirection, Impairment
from rtlib.net import simulate_path


def run(direction, send_s, size_bytes=1000):
    return [direction.decide(t, size_bytes) for t in send_s]


def test_defaults_forward_at_once():
    d = ImpairedDirection()
    dec = d.decide(1.5, 100)
    assert dec.fate == FORWARD and dec.depart_s == 1.5


def test_delay_adds_exactly():
    d = ImpairedDirection(Impairment(delay_ms=50))
    assert d.decide(2.0, 100).depart_s == pytest.approx(2.05)


@pytest.mark.parametrize("dist", ["uniform", "normal", "pareto"])
def test_jitter_mean_and_no_reordering(dist):
    d = ImpairedDirection(Impairment(delay_ms=20, jitter_ms=10, jitter_dist=dist), seed=3)
    send = np.arange(4000) * 0.02
    dep = np.array([x.depart_s for x in run(d, send)])
    assert np.all(np.diff(dep) >= 0)  # never departs before the one sent before it
    assert np.all(dep - send >= 0.02 - 1e-12)


@pytest.mark.parametrize("dist", ["uniform", "normal", "pareto"])
def test_jitter_matches_chapter_04(dist):
    """Sparse packets (no FIFO waiting): the extra delay has mean jitter_ms, as simulate_path's."""
    d = ImpairedDirection(Impairment(jitter_ms=10, jitter_dist=dist, reorder=True), seed=1)
    send = np.arange(20000) * 1.0
    extra_ms = (np.array([x.depart_s for x in run(d, send)]) - send) * 1000
    sim = simulate_path(send, 100, jitter_ms=10, jitter_dist=dist, seed=1).delay_s * 1000
    assert extra_ms.mean() == pytest.approx(10, rel=0.1)
    assert extra_ms.mean() == pytest.approx(sim.mean(), rel=0.1)


def test_reorder_true_may_reorder():
    d = ImpairedDirection(Impairment(jitter_ms=30, reorder=True), seed=0)
    dep = np.array([x.depart_s for x in run(d, np.arange(500) * 0.005)])
    assert np.any(np.diff(dep) < 0)


@pytest.mark.parametrize("burst_len", [1.0, 4.0])
def test_loss_rate_and_bursts(burst_len):
    d = ImpairedDirection(Impairment(loss=0.1, burst_len=burst_len), seed=2)
    lost = np.array([x.fate == DROP_LOSS for x in run(d, np.arange(40000) * 0.01)])
    assert lost.mean() == pytest.approx(0.1, abs=0.015)
    starts = np.sum(np.diff(lost.astype(int)) == 1)
    assert lost.sum() / max(starts, 1) == pytest.approx(burst_len / (1 - 0.1) if burst_len == 1 else burst_len,
                                                        rel=0.2)
    assert d.counters.dropped_loss == lost.sum() and d.counters.packets_in == 40000


def test_rate_cap_serialises_and_tail_drops():
    # 800 kbit/s: a 1000-byte datagram takes 10 ms; 100 of them at once, queue 205 ms
    d = ImpairedDirection(Impairment(rate_kbps=800, queue_ms=205))
    res = run(d, np.zeros(100))
    fwd = [r for r in res if r.fate == FORWARD]
    assert [r.fate for r in res].count(DROP_QUEUE) == len(res) - len(fwd)
    assert len(fwd) == 21  # waits of 0, 10, ..., 200 ms fit; 210 ms does not
    assert [round(r.depart_s * 1000, 6) for r in fwd[:3]] == [10.0, 20.0, 30.0]
    assert d.counters.dropped_queue == 79


def test_rate_cap_matches_simulate_path():
    send = np.sort(np.random.default_rng(0).random(3000)) * 10
    size = 1200
    d = ImpairedDirection(Impairment(delay_ms=40, rate_kbps=2000, queue_ms=50))
    res = run(d, send, size)
    sim = simulate_path(send, size, delay_ms=40, capacity_bps=2e6, queue_limit_ms=50)
    mine = np.array([r.depart_s if r.forwarded else np.nan for r in res])
    assert np.array_equal(np.isnan(mine), sim.lost)
    assert np.allclose(mine[~sim.lost], sim.arrival_s[~sim.lost])


def test_outage_drops_everything_then_recovers():
    imp = Impairment(outage=True)
    d = ImpairedDirection(imp)
    assert d.decide(0.0, 10).fate == DROP_OUTAGE
    imp.outage = False
    assert d.decide(0.1, 10).fate == FORWARD
    assert d.counters.dropped_outage == 1


def test_live_change_takes_effect_next_packet():
    imp = Impairment()
    d = ImpairedDirection(imp, seed=0)
    assert all(x.forwarded for x in run(d, np.arange(100) * 0.01))
    imp.loss = 1.0
    assert all(x.fate == DROP_LOSS for x in run(d, 1 + np.arange(10) * 0.01))
    d.set(loss=0.0, delay_ms=100)
    assert d.decide(2.0, 10).depart_s == pytest.approx(2.1)


def test_same_seed_same_fates():
    a = ImpairedDirection(Impairment(loss=0.2, jitter_ms=5), seed=7)
    b = ImpairedDirection(Impairment(loss=0.2, jitter_ms=5), seed=7)
    t = np.arange(200) * 0.01
    assert run(a, t) == run(b, t)


@pytest.mark.parametrize("name, value, words", [
    ("delay_ms", -1, "delay_ms"), ("jitter_ms", math.nan, "jitter_ms"), ("jitter_dist", "gauss", "jitter_dist"),
    ("loss", 1.5, "loss must be in [0, 1]"), ("burst_len", 0.5, "burst_len"), ("rate_kbps", 0, "rate_kbps"),
    ("queue_ms", -5, "queue_ms"), ("outage", "yes", "outage"), ("reorder", 2, "reorder"),
])
def test_bad_values_named_and_not_kept(name, value, words):
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Impairment(**{name: value})
    imp = Impairment()
    before = imp.to_dict()
    with pytest.raises(ValueError, match=name):
        setattr(imp, name, value)
    assert imp.to_dict() == before


def test_update_is_all_or_nothing():
    imp = Impairment(delay_ms=10)
    with pytest.raises(ValueError, match="loss"):
        imp.update(delay_ms=20, loss=2)
    assert imp.delay_ms == 10
    with pytest.raises(ValueError, match="unknown"):
        imp.update(delay=20)
    with pytest.raises(AttributeError, match="no parameter"):
        imp.delay = 3
