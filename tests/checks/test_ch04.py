"""Chapter 04 checks, table-driven: right answers pass; each typical wrong answer gets its own hint
and never the expected value."""

import numpy as np
import pytest

from rtlib.checks import ch04
from rtlib.net.loss import gilbert_params
from tests.checks.table import assert_hint

SECRETS = ("14.8", "4.8", "666", "667", "0.2", "0.0083", "0.008")


def _no_leak(fb):
    text = repr(fb) + fb._repr_html_()
    for s in SECRETS:
        assert s not in text, f"{s!r} leaked in {text!r}"


# -- 4.1 --------------------------------------------------------------------------------------------
SERIAL, PROP = 1200 * 8 / 2e6 * 1000, 2000e3 / 2e8 * 1000
DELAY_WRONG = [
    (PROP, "propagation part only"),
    (SERIAL, "serialisation part only"),
    (1200 / 2e6 * 1000 + PROP, "factor of 8"),
    (2000e3 / 3e8 * 1000 + SERIAL, "speed of light in vacuum"),
    (2 * (SERIAL + PROP), "round trip"),
    (SERIAL + 2 * PROP, "round trip"),
    (SERIAL + PROP / 1000, "propagation part is 1000 times too small"),
    (SERIAL * 1000 + PROP, "serialisation part is 1000 times too large"),
    ((SERIAL + PROP) / 1000, "asked in milliseconds"),
    (0.015, "asked in milliseconds"),                 # seconds, rounded: a band
    (20, ("too high by roughly 10–50 %", "Add two parts")),
    ("14.8 ms", "single number"),
    (None, "Not answered yet"),
]


def test_one_way_delay_right():
    assert ch04.one_way_delay_ms(SERIAL + PROP)
    assert ch04.one_way_delay_ms(14.8)


@pytest.mark.parametrize("answer, hint", DELAY_WRONG)
def test_one_way_delay_wrong(answer, hint):
    fb = ch04.one_way_delay_ms(answer)
    assert_hint(fb, hint)
    _no_leak(fb)


# -- 4.2 --------------------------------------------------------------------------------------------
GROWTH = 1e6 / 1.5e6 * 1000
GROWTH_WRONG = [
    (1e6 / 2.5e6 * 1000, "divided by the sending rate"),
    (1000, "bits per second, not a delay"),
    (1e6, "bits per second, not a delay"),
    (2.5 / 1.5 * 1000, "whole sending rate"),
    (1.5 / 2.5 * 1000, "capacity as a share"),
    (GROWTH / 8, "factor of 8"),
    (GROWTH / 1000, "milliseconds of delay per second"),
    (0.67, "milliseconds of delay per second"),          # seconds, rounded
    (500, ("too low by roughly 10–50 %", "(sending rate − capacity) bits")),
    (None, "Not answered yet"),
]


def test_queue_growth_right():
    assert ch04.queue_growth_ms_per_s(GROWTH)
    assert ch04.queue_growth_ms_per_s(666.7)


@pytest.mark.parametrize("answer, hint", GROWTH_WRONG)
def test_queue_growth_wrong(answer, hint):
    fb = ch04.queue_growth_ms_per_s(answer)
    assert_hint(fb, hint)
    _no_leak(fb)


# -- 4.3 --------------------------------------------------------------------------------------------
P_GB, P_BG = gilbert_params(0.04, 5.0)
GILBERT_WRONG = [
    ((P_BG, P_GB), "swapped"),
    ((0.04, P_BG), "only holds for independent loss"),
    ((0.04 * P_BG, P_BG), "only approximate"),
    ((0.05, P_BG), "p_gb is too high"),
    ((P_GB, 0.5), "p_bg is too high"),
    ((P_GB, 1 - P_BG), "staying"),
    ((P_GB, 5), "burst length is not a probability"),
    ((0.5, 0.5), "Neither"),
    ((4, 20), "must lie in [0, 1]"),
    ((None, P_BG), "Not answered yet: set both"),
    (("0.1", P_BG), "single number"),
    ((P_GB, "0.2"), "single number"),
]


def test_gilbert_right():
    assert ch04.gilbert_transitions(P_GB, P_BG)
    assert ch04.gilbert_transitions(0.04 * 0.2 / 0.96, 1 / 5)


@pytest.mark.parametrize("answer, hint", GILBERT_WRONG)
def test_gilbert_wrong(answer, hint):
    fb = ch04.gilbert_transitions(*answer)
    assert_hint(fb, hint)
    _no_leak(fb)


# -- 4.4 --------------------------------------------------------------------------------------------
def right_in_order(a):
    return np.maximum.accumulate(np.where(np.isnan(a), np.inf, a))


ORDER_WRONG = [
    (lambda a: a, "out of order"),
    (lambda a: np.sort(a), "before it arrived"),
    (lambda a: np.full_like(a, np.nanmax(a)), "later than necessary"),
    (lambda a: np.maximum.accumulate(a), "never arrives"),
    (lambda a: a[:1], "one time per packet"),
    (lambda a: 1 / 0, "raised ZeroDivisionError"),
    (lambda a: None, "returns None"),
    (None, "Not answered yet"),
    (right_in_order(np.array([0.1])), "Not answered yet"),  # called instead of passed
]


def test_in_order_right():
    assert ch04.in_order_delivery(right_in_order)


@pytest.mark.parametrize("func, hint", ORDER_WRONG)
def test_in_order_wrong(func, hint):
    assert_hint(ch04.in_order_delivery(func), hint)


# -- 4.5 (design): router buffer + sending rate on the walk trace --------------------------------------
def fresh(design, **kw):
    ch04.link_design.reset()
    return ch04.link_design(design, **kw)


def test_link_best_rate_is_the_edge_of_what_any_buffer_allows():
    best = ch04._best_rate_mbps()
    assert 0.5 < best < 4.0
    # a coarse scan agrees with the bisection: feasible just below, infeasible just above
    assert ch04._feasible(best - 0.02) and not ch04._feasible(best + 0.02)
    assert not any(ch04._meets(ch04.simulate_link(best + 0.02, b)) for b in range(10, 2001, 10))
    # loss never rises with a longer buffer (what the buffer search relies on)
    for rate in (1.0, 1.6, 2.5):
        loss = [ch04.simulate_link(rate, b)["loss"] for b in range(10, 2001, 10)]
        assert all(np.diff(loss) <= 1e-12)


@pytest.mark.parametrize("send_mbps, buffer_ms", [(1.6, 150), (1.57, 120), (1.62, 180)])
def test_link_right_designs_pass_with_their_own_outcome(send_mbps, buffer_ms):
    r = ch04.simulate_link(send_mbps, buffer_ms)
    assert ch04._meets(r)
    fb = fresh({"send_mbps": send_mbps, "buffer_ms": buffer_ms})
    assert fb and f"{r['loss']:.2%}" in repr(fb)


LINK_WRONG = [
    ({"send_mbps": 1.3, "buffer_ms": 100}, ("targets met", "faster stream", "dips")),  # too cautious
    ({"send_mbps": 4.5, "buffer_ms": 300}, ("Both targets are missed", "cannot fix")),  # the trace's mean rate
    ({"send_mbps": 5.5, "buffer_ms": 100}, ("Too much loss", "largest buffer")),
    ({"send_mbps": 2.5, "buffer_ms": 2000}, ("Too much delay", "longest wait")),  # a huge buffer hides the loss
    ({"send_mbps": 1.6, "buffer_ms": 30}, ("Too much loss", "wait instead")),
    ({"send_mbps": 1.6, "buffer_ms": 400}, ("Too much delay", "longest wait")),
    ({"send_mbps": 1600, "buffer_ms": 150}, "looks like kbit/s"),
    ({"send_mbps": 1.6, "buffer_ms": 0.15}, "looks like seconds"),
    ({"send_mbps": 10, "buffer_ms": 150}, "between 0.2 and 6"),
    ({"send_mbps": 1.6, "buffer_ms": 5000}, "between 10 and 2000"),
    ({"send_mbps": 1.6}, "needs both"),
    ({"send_mbps": 1.6, "buffer_ms": 150, "aqm": "codel"}, "Unknown setting"),
    ((1.6, 150), "should be a dict"),
    ({"send_mbps": None, "buffer_ms": 150}, "Not answered yet"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", LINK_WRONG)
def test_link_typical_wrong_designs_fail_with_a_reason(design, hint):
    fb = fresh(design, hint=True)  # the first hint, on request
    best = ch04._best_rate_mbps()
    assert_hint(fb, hint, best, ch04._least_buffer_for_loss(best))
    assert f"{best:.2f}" not in repr(fb) and f"{best:.1f} Mbit/s" not in repr(fb)


def test_link_hints_come_in_stages():
    fb = fresh({"send_mbps": 1.6, "buffer_ms": 400})
    assert "longest wait" not in repr(fb) and "hint=True" in repr(fb)
    fb = ch04.link_design({"send_mbps": 1.6, "buffer_ms": 400}, hint=True)
    assert "longest wait" in repr(fb) and "Shrink it" not in repr(fb)
    fb = ch04.link_design({"send_mbps": 1.6, "buffer_ms": 350}, hint=True)
    assert "Shrink it" in repr(fb)
    ch04.link_design.reset()


def test_link_simulation_rejects_out_of_range_settings():
    with pytest.raises(ValueError, match="send_mbps must be a number in"):
        ch04.simulate_link(0, 100)
    with pytest.raises(ValueError, match="buffer_ms must be a number in"):
        ch04.simulate_link(1.0, "100")


def test_link_check_is_fast():
    import time

    ch04._best_rate_mbps.cache_clear()
    t0 = time.perf_counter()
    fresh({"send_mbps": 1.3, "buffer_ms": 100})  # the first call also finds the best rate
    assert time.perf_counter() - t0 <= 2.0
