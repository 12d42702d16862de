import numpy as np
import pytest

from rtlib.checks import ch07
from tests.checks.table import assert_hint


def right(delays_ms, alpha, k):
    d, v, out = delays_ms[0], 0.0, []
    for n in delays_ms:
        d = alpha * d + (1 - alpha) * n
        v = alpha * v + (1 - alpha) * abs(d - n)
        out.append(d + k * v)
    return out


def library(delays_ms, alpha, k):
    """The library's vectorised estimator gives the same answer (no warm-up, v starts at 0)."""
    from rtlib.media.jitter import adaptive_estimates

    d, v = adaptive_estimates(np.asarray(delays_ms) / 1000, alpha, warmup=False, initial_v_ms=0)
    return (d + k * v) * 1000


def variant(**flags):
    def f(delays_ms, alpha, k):
        return ch07._reference(np.asarray(delays_ms, float), alpha, k, **flags)
    return f


def texts(fb):
    return repr(fb) + fb._repr_html_()


# -- 7.1 ----------------------------------------------------------------------------------------
def test_estimator_right_answers_pass():
    assert ch07.adaptive_estimator(right)
    assert ch07.adaptive_estimator(library)
    assert ch07.adaptive_estimator(lambda d, a, k: np.array(right(list(d), a, k)))


ESTIMATOR_WRONG = [
    (variant(swap=True), "swapped"),
    (variant(old_d=True), "before this packet"),
    (variant(no_abs=True), "negative"),
    (variant(ignore_v=True), "margin is missing"),
    (variant(d0_zero=True), "starts from 0"),
    (variant(stale_v=True), "v from before this packet"),
    (lambda d, a, k: np.array(right(d, a, k)) / 1000, "factor of 1000"),
    (lambda d, a, k: right(d, 0.998002, 4.0), "ignores its alpha"),
    (lambda d, a, k: right(d, a, k)[1:], "returned 19 values"),
    (lambda d, a, k: None, "returns None"),
    (lambda d, a, k: 1 / 0, "raised ZeroDivisionError"),
    (lambda d, a, k: ["x"] * len(d), "should return numbers"),
    (lambda d, a, k: [x + 1 for x in right(d, a, k)], ("after packet 0", "a little too high")),
    (lambda d, a, k: [2 * x for x in right(d, a, k)], ("after packet 0", "about 2× too high")),
    (None, "Not answered yet"),
    (42, "function itself"),
]


@pytest.mark.parametrize("func, hint", ESTIMATOR_WRONG)
def test_estimator_typical_mistakes_are_named(func, hint):
    assert_hint(ch07.adaptive_estimator(func), hint)


def test_estimator_feedback_never_shows_expected_values():
    expected = ch07._reference(ch07._TEST_DELAYS_MS, 0.9, 4.0)
    for func in (variant(swap=True), lambda d, a, k: [0.0] * len(d), lambda d, a, k: right(d, a, k)[:-1]):
        t = texts(ch07.adaptive_estimator(func))
        assert not any(f"{x:.1f}" in t or f"{x:.2f}" in t for x in expected[1:])


# -- 7.2 ----------------------------------------------------------------------------------------
def test_buffer_right_answers_pass():
    best = ch07._smallest_buffer_ms()
    assert 50 < best < 400
    assert ch07.buffer_for_one_percent(best)
    assert ch07.buffer_for_one_percent(best + ch07.BUFFER_SLACK_MS)
    assert ch07._late_loss_with_buffer(best) < 0.01 <= ch07._late_loss_with_buffer(best - 1)


BEST = ch07._smallest_buffer_ms()
BUFFER_WRONG = [
    (BEST - 10, ("late: too many", "a little too low")),
    (BEST / 2, ("late: too many", "about 2× too low")),
    (BEST + 60, ("more than it needs to", "too high by roughly 10–50 %")),
    (3 * BEST, ("more than it needs to", "about 3× too high")),
    (BEST / 1000, "looks like seconds"),
    (0.15, "looks like seconds"),                    # seconds, rounded up: a band
    (ch07._smallest_fixed_delay_ms(), "FixedDelay"),  # counted from the send time
    (-5, "between 0 and 10,000 ms"),
    (None, "Not answered yet"),
    ("150", "single number"),
]


@pytest.mark.parametrize("answer, hint", BUFFER_WRONG)
def test_buffer_wrong_answers_fail_with_a_reason(answer, hint):
    fb = ch07.buffer_for_one_percent(answer)
    assert_hint(fb, hint)
    assert f"{BEST:g} ms" not in texts(fb)


# -- 7.3 ----------------------------------------------------------------------------------------
RTT_RIGHT = [100, 100.0, 99.95, np.float64(100)]
RTT_WRONG = [
    (120, "next* packet"),                       # forgot the frame
    (140, "added where it must be taken away"),
    (80, "One frame too many"),
    (50, "Count the round trip once"),           # (buffer - frame) / 2
    (60, "notices the gap only one frame late"),  # buffer / 2
    (200, "two round trips"),
    (0.1, "factor of 1000"),                     # seconds
    (0.098, "factor of 1000"),                   # seconds, a little off: a band
    (100_000, "factor of 1000"),
    (100.001, ("Too large", "playout deadline")),  # just past the boundary
    (110, ("Too large", "10–50 %")),
    (300, ("Too large", "about 3× too high")),
    (90, ("Too small", "10–50 %")),
    (30, ("Too small", "about 3.5× too low")),
    (-5, "cannot be negative"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer", RTT_RIGHT)
def test_rtt_right(answer):
    assert ch07.max_rtt_for_nack(answer)


@pytest.mark.parametrize("answer, hint", RTT_WRONG)
def test_rtt_wrong(answer, hint):
    fb = ch07.max_rtt_for_nack(answer)
    assert_hint(fb, hint)
    assert "100" not in texts(fb).replace("1000", "").replace("100,0", "")


def test_rtt_other_buffers():
    assert ch07.max_rtt_for_nack(180, buffer_ms=200)
    assert not ch07.max_rtt_for_nack(100, buffer_ms=200)


# -- 7.4 (design): buffer + FEC for MOS >= 4.0 ---------------------------------------------------
def best_design():
    """The least-delay design, found by the same simulation the check runs (no stored answer)."""
    for b in range(0, 201):
        for k in (4, 5, 6):
            r = ch07.simulate_design(b, k)
            if r["mos"] >= ch07.DESIGN_MOS and r["delay_ms"] <= ch07._best_design_delay_ms() + 1e-9:
                return {"buffer_ms": b, "fec_k": k}, r
    raise AssertionError("no design reaches the best delay")


def fresh(design, **kw):
    ch07.jitter_fec_design.reset()
    return ch07.jitter_fec_design(design, **kw)


def test_design_right_designs_pass_and_show_their_own_outcome():
    design, r = best_design()
    fb = fresh(design)
    assert fb and f"MOS {r['mos']:.2f}" in repr(fb)
    slack = dict(design, buffer_ms=design["buffer_ms"] + 5)  # within the 10 ms of slack
    assert fresh(slack) and ch07.simulate_design(**slack)["delay_ms"] > r["delay_ms"]


def test_design_the_target_is_reachable_only_with_repair():
    no_fec = [ch07.simulate_design(b, None)["mos"] for b in range(0, 201, 10)]
    assert max(no_fec) < ch07.DESIGN_MOS  # loss alone keeps G.711 under 4.0: FEC is needed
    assert ch07.simulate_design(200, 12)["mos"] < ch07.DESIGN_MOS  # one FEC per 12 is not enough


BEST_DESIGN = best_design()[0]
DESIGN_WRONG = [
    ({"buffer_ms": 60, "fec_k": None}, ("Below the target with no FEC", "network loss left over")),
    (dict(BEST_DESIGN, buffer_ms=BEST_DESIGN["buffer_ms"] - 10), ("Below the target", "arrived, but too late")),
    ({"buffer_ms": 0, "fec_k": 4}, ("Below the target", "arrived, but too late")),
    ({"buffer_ms": 100, "fec_k": 12}, ("Below the target with FEC every 12", "two packets")),
    ({"buffer_ms": 150, "fec_k": 4}, ("meets the target", "less delay", "buffer's floor")),
    ({"buffer_ms": 40, "fec_k": 6}, ("meets the target", "less delay", "another size")),
    ({"buffer_ms": 40, "fec_k": 2}, ("over the budget", "50%")),
    ({"buffer_ms": 0.04, "fec_k": 4}, "looks like seconds"),
    ({"buffer_ms": 500, "fec_k": 4}, "between 0 and 200 ms"),
    ({"buffer_ms": 40, "fec_k": 4.5}, "whole number"),
    ({"buffer_ms": 40, "fec_k": 20}, "at most 12"),
    ({"buffer_ms": 40}, "needs both"),
    ({"buffer_ms": 40, "fec_k": 4, "nack": True}, "Unknown setting"),
    ((40, 4), "should be a dict"),
    ({"buffer_ms": "40", "fec_k": 4}, "single number"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", DESIGN_WRONG)
def test_design_typical_wrong_designs_fail_with_a_reason(design, hint):
    fb = fresh(design, hint=True)  # the first hint, on request
    assert_hint(fb, hint, ch07._best_design_delay_ms())


def test_design_hints_come_in_stages():
    fb = fresh({"buffer_ms": 60, "fec_k": None})
    assert "network loss left over" not in texts(fb) and "hint=True" in texts(fb)
    fb = ch07.jitter_fec_design({"buffer_ms": 60, "fec_k": None}, hint=True)
    assert "network loss left over" in texts(fb) and "Something must repair" not in texts(fb)
    fb = ch07.jitter_fec_design({"buffer_ms": 80, "fec_k": None}, hint=True)  # another try
    assert "Something must repair" in texts(fb)
    ch07.jitter_fec_design.reset()


def test_design_feedback_never_names_the_best_design():
    best = ch07._best_design_delay_ms()
    for b in range(0, 201, 20):
        for k in (None, 4, 6, 8, 12):
            t = texts(fresh({"buffer_ms": b, "fec_k": k}, hint=True))
            assert f"{best:.0f} ms" not in t or round(ch07.simulate_design(b, k)["delay_ms"]) == round(best)


def test_design_check_is_fast():
    import time

    ch07._best_design_delay_ms.cache_clear()
    ch07._design_arrivals.cache_clear()
    t0 = time.perf_counter()
    fresh({"buffer_ms": 150, "fec_k": 4})  # the first call also searches the best delay
    assert time.perf_counter() - t0 <= 2.0
