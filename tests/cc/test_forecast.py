import math

import numpy as np
import pytest

from rtlib.cc.base import PacketResult
from rtlib.cc.call import CONTROLLERS
from rtlib.cc.forecast import StochasticForecaster, diffusion_matrix
from rtlib.cc.selfclocked import SelfClockedController, SproutController


def still(**kw):
    """A forecaster whose rate does not move between ticks: the update is the likelihood alone."""
    return StochasticForecaster(bins=8, max_rate_pps=700.0, sigma=0.0, escape_per_s=0.0, **kw)


def test_diffusion_rows_are_distributions_and_outage_is_sticky():
    rates = np.linspace(0, 1000, 256)
    m = diffusion_matrix(rates, 0.02, 200.0, 1.0)
    assert np.allclose(m.sum(axis=1), 1.0)
    # the zero bin keeps exp(-1 x 0.02) of its mass outright, plus its share of the spread
    assert m[0, 0] >= math.exp(-0.02)
    assert m[0, 0] < math.exp(-0.02) + (1 - math.exp(-0.02))
    # away from the ends a step has the Brownian spread: sd 200 x sqrt(0.02) = 28.3 packets/s
    mid = 128
    mean = m[mid] @ rates
    sd = math.sqrt(m[mid] @ (rates - mean) ** 2)
    assert mean == pytest.approx(rates[mid], abs=1e-6)
    assert sd == pytest.approx(200 * math.sqrt(0.02), rel=0.05)


def test_busy_tick_weighs_the_belief_by_the_poisson_probability():
    f = still()
    f.add(0.001, 4 * 1500, queued_s=0.05)   # four MTU packets in tick 0, the link busy
    f.close_until(0.02)
    # bins 0, 100, ..., 700 packets/s: 0, 2, 4, ... 14 packets expected per 20 ms tick
    mu = np.arange(8) * 2.0
    want = mu ** 4 * np.exp(-mu)
    want /= want.sum()
    assert f.belief == pytest.approx(want)
    assert int(np.argmax(f.belief)) == 2   # 200 packets/s: 4 packets per tick is its mean


def test_censored_tick_only_rules_out_slower_links():
    busy, free = still(), still()
    busy.add(0.001, 4 * 1500, queued_s=0.05)
    free.add(0.001, 4 * 1500, queued_s=0.0)  # the packets met no queue: the link could have carried more
    busy.close_until(0.02)
    free.close_until(0.02)
    assert free.belief[0] == 0.0
    assert np.all(np.diff(free.belief) >= -1e-12)       # P(K >= 4 | rate) rises with the rate
    assert free.mean_rate_bps() > 350 * 1500 * 8         # above the uniform prior's mean
    assert busy.mean_rate_bps() < free.mean_rate_bps()


def test_a_long_queue_wait_marks_the_silent_ticks_before_it_as_busy():
    stalled, idle = still(), still()
    for f, q in ((stalled, 0.07), (idle, 0.0)):
        f.add(0.001, 1500, queued_s=0.0)
        f.close_until(0.02)
        f.add(0.101, 1500, queued_s=q)   # tick 5: in the queue since 0.031 (tick 1) if q = 70 ms
        f.close_until(0.12)
    # the stalled link delivered nothing in ticks 1-4 while a packet waited: four busy ticks of zero
    assert stalled.mean_rate_bps() < 0.25 * idle.mean_rate_bps()


def test_cautious_count_of_a_known_rate_is_the_normal_fifth_percentile():
    f = StochasticForecaster()
    f.belief = np.zeros_like(f.belief)
    i = int(np.argmin(abs(f.rates_pps - 500)))
    f.belief[i] = 1.0
    lam = f.rates_pps[i]
    # over 0.1 s: mean lam x 0.1, variance lam x 0.1 + 200^2 x 0.1^3 / 3
    mean, sd = lam * 0.1, math.sqrt(lam * 0.1 + 200 ** 2 * 0.1 ** 3 / 3)
    assert f.cautious_packets(0.1) == pytest.approx(mean - 1.6449 * sd, abs=0.1)
    assert f.cautious_bytes(0.1) == pytest.approx(f.cautious_packets(0.1) * 1500)


def test_cautious_count_of_an_outage_is_zero():
    f = StochasticForecaster()
    for k in range(20):                     # 20 busy ticks without a delivery
        f.add(0.001 + 0.02 * k, 0, queued_s=0.5)
    f.close_until(0.4)
    assert f.cautious_packets(0.1) == 0.0


def test_sprout_window_by_hand():
    c = SproutController(target_delay_s=0.05, share_bytes=1000)
    f = c.forecaster
    f.belief = np.zeros_like(f.belief)
    i = int(np.argmin(abs(f.rates_pps - 200)))
    f.belief[i] = 1.0
    lam = f.rates_pps[i]
    # the mean rate over 100 ms RTT + 50 ms between reports, then the 5th percentile over the 50 ms target
    pipe = lam * 1500 * 0.15
    mean, sd = lam * 0.05, math.sqrt(lam * 0.05 + 200 ** 2 * 0.05 ** 3 / 3)
    want = pipe + (mean - 1.6449 * sd) * 1500 + 1000
    assert c.window_for_forecast(0.1, 0.05) == pytest.approx(want, rel=2e-3)


def test_sprout_window_closes_in_an_outage_and_the_ewma_one_lags():
    """1 s of a busy 2 Mbit/s link (packets queued 20 ms), then 200 ms without a delivery
    while a packet waits: ten busy ticks of nothing.  Sprout's belief drops to an outage
    within them; the EWMA (weight 1/8 per tick) keeps 0.875^10 = 26 % of its rate."""
    ctl = {"sprout": SproutController(), "ewma": SelfClockedController(max_filter_rtts=0)}
    windows = {}
    for name, c in ctl.items():
        seq = 0
        c.on_packet_results(0.06, [PacketResult(seq, 0.0, 1250, 0.05)], rtt_s=0.1)  # an empty queue once
        for rep in range(20):               # 1250-byte packets every 5 ms, each 20 ms in the queue
            res = []
            for j in range(10):
                seq += 1
                t = 0.05 + rep * 0.05 + j * 0.005
                res.append(PacketResult(seq, t - 0.07, 1250, t))
            c.on_packet_results(t + 0.05, res, rtt_s=0.14)
        before = c.window_bytes
        if name == "sprout":                # the busy ticks measured the link: 2 Mbit/s
            assert c.forecaster.mean_rate_bps() == pytest.approx(2e6, rel=0.15)
        seq += 1
        c.on_packet_results(t + 0.3, [PacketResult(seq, t - 0.02, 1250, t + 0.2)], rtt_s=0.32)
        windows[name] = (before, c.window_bytes)
    b, a = windows["sprout"]
    assert a < 0.1 * b
    b, a = windows["ewma"]
    assert a > 0.3 * b


@pytest.mark.parametrize("kw", [{"tick_s": 0.0}, {"bins": 4}, {"percentile": 1.0}, {"max_rate_pps": 0},
                                {"sigma": -1}, {"escape_per_s": -1}, {"queued_s": 2}])
def test_forecaster_rejects_bad_parameters(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        StochasticForecaster(**kw)


def test_selfclocked_rejects_an_unknown_forecast():
    with pytest.raises(ValueError, match="forecast"):
        SelfClockedController(forecast="oracle")


def test_sprout_is_a_controller_by_name_and_shares_fairly():
    from rtlib.cc.scenarios import run_scenario

    assert CONTROLLERS["sprout"] is SproutController and SproutController.name == "sprout"
    jain = run_scenario("rfc8867-5.4", "sprout", duration_s=80).summary(warmup_s=50)["jain"]
    assert jain > 0.9


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.0, 0.2), st.integers(0, 3000), st.floats(0.0, 0.3)), min_size=1, max_size=60))
def test_belief_stays_a_distribution_and_the_forecast_stays_in_range(steps):
    f = StochasticForecaster()
    t = 0.0
    for gap_s, size, queued_s in steps:
        t += gap_s
        f.add(t, size, queued_s)
    f.close_until(t + 0.05)
    assert np.all(f.belief >= 0) and f.belief.sum() == pytest.approx(1.0)
    for h in (0.02, 0.05, 0.1, 0.2):   # between nothing and the fastest rate's count
        assert 0 <= f.cautious_packets(h) <= f.rates_pps[-1] * h + 1
