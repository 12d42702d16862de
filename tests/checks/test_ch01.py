"""Chapter 01 checks, table-driven: right answers pass; each typical wrong answer gets its own hint
and never the expected value."""

import numpy as np
import pytest

from rtlib.checks import ch01
from rtlib.quality import LatencyBudget, emodel, fibre_delay_ms
from tests.checks.table import assert_hint, shown

# --- 1.1 --------------------------------------------------------------------------------
IE_EFF = 11 + (95 - 11) * 2 / (2 + 19.0)

IE_RIGHT = [IE_EFF, np.float64(IE_EFF), round(IE_EFF, 2)]
IE_WRONG = [
    (11 + 84 * 0.02 / (0.02 + 19), "percentage"),
    (11 + 95 * 2 / 21, "(95 − Ie)"),
    (84 * 2 / 21, "own Ie"),
    (11 + 84 * 2 / 19, "denominator is Ppl/BurstR + Bpl"),
    (11 + 84 * 2 / 2 + 19, "parentheses"),
    ((11 + 84) * 2 / 21, "Ie is added on its own"),
    (5.0, "below the codec's own Ie"),
    (40.0, ("about 2× too high", "with Ppl in percent")),
    (20.5, ("a little too high", "with Ppl in percent")),
    ("19", "without quotes"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer", IE_RIGHT)
def test_ie_eff_right(answer):
    assert ch01.ie_eff_g729a(answer)


@pytest.mark.parametrize("answer, hint", IE_WRONG)
def test_ie_eff_wrong(answer, hint):
    assert_hint(ch01.ie_eff_g729a(answer), hint, IE_EFF)


# --- 1.2 --------------------------------------------------------------------------------
RIGHT = LatencyBudget(capture_ms=10, encode_ms=8, packetisation_ms=20, pacing_ms=0,
                      propagation_ms=fibre_delay_ms(7000), queueing_ms=15, jitter_buffer_ms=60,
                      decode_ms=2, render_ms=10)

BUDGET_RIGHT = [RIGHT, RIGHT.with_(propagation_ms=7000 * 0.005)]  # the 5 µs/km shortcut too
BUDGET_WRONG = [
    (dict(propagation_ms=fibre_delay_ms(7000) / 1000), ("propagation is too low", "units")),
    (dict(propagation_ms=7000 / 299_792.458 * 1000), ("propagation is too low", "slower than in vacuum")),
    (dict(propagation_ms=2 * fibre_delay_ms(7000)), ("propagation is too high", "one way")),
    (dict(propagation_ms=7.0), ("propagation is too low", "about 5× too low")),
    (dict(packetisation_ms=0), ("packetisation is too low", "20 ms of audio")),
    (dict(capture_ms=8, encode_ms=10), "capture and encode look swapped"),
    (dict(queueing_ms=0.015), ("queueing is too low", "looks like seconds")),
    (dict(jitter_buffer_ms=80, render_ms=0), ("jitter buffer is too high", "render is too low")),
]


@pytest.mark.parametrize("budget", BUDGET_RIGHT)
def test_budget_right(budget):
    assert ch01.paris_new_york_budget(budget)


@pytest.mark.parametrize("change, hint", BUDGET_WRONG)
def test_budget_wrong(change, hint):
    assert_hint(ch01.paris_new_york_budget(RIGHT.with_(**change)), hint, fibre_delay_ms(7000), RIGHT.total_ms)


@pytest.mark.parametrize("answer, hint", [(None, "Not answered yet"), ({"capture_ms": 10}, "LatencyBudget"),
                                          (159.3, "LatencyBudget")])
def test_budget_not_a_budget(answer, hint):
    assert_hint(ch01.paris_new_york_budget(answer), hint)


# --- 1.3 --------------------------------------------------------------------------------
def mos_for(buffer_ms):
    return emodel(RIGHT.total_ms - 60 + buffer_ms, 0.01, "g711").MOS


def scan(**kw) -> float:
    buffers = np.arange(0, 500, 1.0)
    mos = emodel(RIGHT.total_ms - 60 + buffers, kw.get("loss", 0.01), "g711", echo=kw.get("echo", True)).MOS
    return float(buffers[mos >= 4.0].max())


BEST = scan()
LIMIT = ch01._largest_buffer_ms()
BUFFER_RIGHT = [BEST, LIMIT, np.float64(BEST)]
BUFFER_WRONG = [
    (BEST / 1000, "factor of 1000"),              # seconds
    (0.12, "factor of 1000"),                     # seconds, rounded: a band, not exactly 1/1000
    (BEST * 1000, "factor of 1000"),
    (scan() + RIGHT.total_ms - 60, "whole mouth-to-ear delay"),
    (scan() - 60, "on top of the old 60 ms"),
    (scan(loss=0.0), "without loss"),
    (scan(echo=False), "echo-free"),
    (BEST + 5, ("Too large", "MOS falls to", "a little too high")),
    (2 * BEST, ("Too large", "about 2× too high")),
    (BEST - 5, ("Too small", "MOS is still", "a little too low")),
    (BEST / 3, ("Too small", "about 3× too low")),
    (-3, "cannot be negative"),
    (None, "Not answered yet"),
]


def test_scan_lands_on_the_whole_ms_below_the_limit():
    assert mos_for(BEST) >= 4.0 > mos_for(BEST + 1)


@pytest.mark.parametrize("answer", BUFFER_RIGHT)
def test_largest_buffer_right(answer):
    assert ch01.largest_jitter_buffer(answer)


@pytest.mark.parametrize("answer, hint", BUFFER_WRONG)
def test_largest_buffer_wrong(answer, hint):
    assert_hint(ch01.largest_jitter_buffer(answer), hint, BEST, LIMIT)


# --- 1.4 --------------------------------------------------------------------------------
def crossings(echo=False):
    d = np.arange(0, 1000, 0.5)
    r = emodel(d, echo=echo).R
    return float(d[r < 90][0]), float(d[r < 70][0])


D90, D70 = crossings()
BOUNDS_RIGHT = [crossings(), (round(D90), round(D70)), np.array(crossings())]
BOUNDS_WRONG = [
    (crossings(echo=True), "default echo"),
    ((200, 400), "rule of thumb's own numbers"),
    ((D90 / 1000, D70 / 1000), "units"),
    ((D70, D90), "must come before"),
    ((D90, D70 + 30), ("R = 70 delay is", "a little too high")),
    ((D90 / 2, D70), ("R = 90 delay is", "about 2× too low")),
    (200, "two numbers"),
    ((200, 300, 400), "two numbers"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer", BOUNDS_RIGHT)
def test_boundaries_right(answer):
    assert ch01.delay_boundaries(answer)


@pytest.mark.parametrize("answer, hint", BOUNDS_WRONG)
def test_boundaries_wrong(answer, hint):
    fb = ch01.delay_boundaries(answer)
    assert_hint(fb, hint)
    assert f"{D90:.1f}" not in shown(fb) and f"{D70:.1f}" not in shown(fb)


# -- 1.5 (design): a call and a chat on one path ------------------------------------------------
BEST_DESIGN = {"call_transport": "datagrams", "call_playout_ms": ch01.least_playout_ms(), "chat_transport": "stream"}


def fresh(design, **kw):
    ch01.call_and_chat_design.reset()
    return ch01.call_and_chat_design(design, **kw)


def test_design_the_optimum_passes_and_is_the_least_that_works():
    least = ch01.least_playout_ms()
    assert 60 < least < 200  # above the one-way delay, well inside the budget
    fb = fresh(BEST_DESIGN)
    r = ch01.simulate_design(**BEST_DESIGN)
    assert fb and f"MOS {r['call_mos']:.2f}" in shown(fb)
    assert fresh(dict(BEST_DESIGN, call_playout_ms=least + 9))  # within the 10 ms of slack
    below = ch01.simulate_design("datagrams", least - 1, "stream")
    assert below["call_mos"] < ch01.CALL_MOS  # 1 ms less does not reach the target
    # no playout delay makes the reliable stream reach the target
    assert all(ch01.simulate_design("stream", float(p), "stream")["call_mos"] < ch01.CALL_MOS
               for p in range(0, 1001, 5))


DESIGN_WRONG = [
    (dict(BEST_DESIGN, chat_transport="datagrams"), ("chat misses its target", "never arrived", "what does each transport")),
    (dict(BEST_DESIGN, call_transport="stream", call_playout_ms=300), ("call misses its target", "queued behind a lost")),
    (dict(BEST_DESIGN, call_playout_ms=60), ("call misses its target", "more frames are missed than the path loses")),
    (dict(BEST_DESIGN, call_playout_ms=300), ("call misses its target", "what else does the e-model charge")),
    (dict(BEST_DESIGN, call_playout_ms=ch01.least_playout_ms() + 40), ("both targets met", "longer than it must")),
    (dict(BEST_DESIGN, call_playout_ms=0.09), "looks like seconds"),
    (dict(BEST_DESIGN, call_playout_ms=5000), "between 0 and 1000 ms"),
    (dict(BEST_DESIGN, call_transport="udp"), "'datagrams' (as UDP"),
    (dict(BEST_DESIGN, chat_transport="quic"), "should be 'datagrams' or 'stream'"),
    (dict(BEST_DESIGN, call_playout_ms="85"), "single number"),
    ({"call_transport": "datagrams", "call_playout_ms": 90}, "misses ['chat_transport']"),
    (dict(BEST_DESIGN, fec=True), "Unknown setting"),
    (("datagrams", 90, "stream"), "should be a dict"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", DESIGN_WRONG)
def test_design_typical_wrong_designs_fail_with_a_reason(design, hint):
    assert_hint(fresh(design, hint=True), hint, ch01.least_playout_ms())


def test_design_hints_come_in_stages_and_never_name_the_least_delay():
    wrong = dict(BEST_DESIGN, call_playout_ms=60)
    fb = fresh(wrong)
    assert "when do the others arrive" not in shown(fb) and "hint=True" in shown(fb)
    fb = ch01.call_and_chat_design(wrong, hint=True)
    assert "when do the others arrive" in shown(fb) and "jitter, not less" not in shown(fb)
    fb = ch01.call_and_chat_design(dict(wrong, call_playout_ms=65), hint=True)  # another try
    assert "jitter, not less" in shown(fb)
    least = f"{ch01.least_playout_ms():.0f} ms"
    for p in range(0, 401, 10):
        for t in ("datagrams", "stream"):
            fb = fresh({"call_transport": t, "call_playout_ms": p, "chat_transport": "stream"}, hint=True)
            assert fb or least not in shown(fb)
    ch01.call_and_chat_design.reset()


def test_design_simulation_rejects_bad_parameters():
    with pytest.raises(ValueError, match="call_transport must be one of"):
        ch01.simulate_design("udp", 100, "stream")
    with pytest.raises(ValueError, match=r"call_playout_ms must be a number in \[0, 1000\]"):
        ch01.simulate_design("datagrams", -5, "stream")


def test_design_check_is_fast():
    import time

    ch01.least_playout_ms.cache_clear()
    ch01._call_runs.cache_clear()
    t0 = time.perf_counter()
    fresh(dict(BEST_DESIGN, call_playout_ms=200))
    assert time.perf_counter() - t0 <= 2.0
