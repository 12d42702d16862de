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
