import numpy as np

from rtlib.checks import ch07


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


def test_estimator_typical_mistakes_are_named():
    cases = {
        "swapped": variant(swap=True),
        "before this packet": variant(old_d=True),
        "negative": variant(no_abs=True),
        "margin is missing": variant(ignore_v=True),
        "factor of 1000": lambda d, a, k: np.array(right(d, a, k)) / 1000,
        "ignores its alpha": lambda d, a, k: right(d, 0.998002, 4.0),
        "returned 19 values": lambda d, a, k: right(d, a, k)[1:],
        "returns None": lambda d, a, k: None,
        "raised ZeroDivisionError": lambda d, a, k: 1 / 0,
    }
    for words, func in cases.items():
        fb = ch07.adaptive_estimator(func)
        assert not fb, words
        assert words in fb.message, (words, fb.message)


def test_estimator_other_errors_and_placeholders():
    fb = ch07.adaptive_estimator(lambda d, a, k: [x + 1 for x in right(d, a, k)])
    assert not fb and "too high" in fb.message
    assert "Not answered yet" in ch07.adaptive_estimator(None).message
    assert "function itself" in ch07.adaptive_estimator(42).message


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


def test_buffer_wrong_answers_fail_with_a_reason():
    best = ch07._smallest_buffer_ms()
    assert "too many" in ch07.buffer_for_one_percent(best - 10).message
    assert "more than it needs" in ch07.buffer_for_one_percent(best + 60).message
    assert "milliseconds" in " ".join(ch07.buffer_for_one_percent(0.15).hints)
    assert "Not answered yet" in ch07.buffer_for_one_percent(None).message
    assert "single number" in ch07.buffer_for_one_percent("150").message
    for answer in (best - 10, best + 60, 0.15):
        assert f"{best:g} ms" not in texts(ch07.buffer_for_one_percent(answer))


# -- 7.3 ----------------------------------------------------------------------------------------
def test_rtt_right_and_wrong():
    assert ch07.max_rtt_for_nack(100)
    assert ch07.max_rtt_for_nack(180, buffer_ms=200)
    assert "next" in " ".join(ch07.max_rtt_for_nack(120).hints)
    assert "one RTT" in ch07.max_rtt_for_nack(50).message
    assert "factor of 1000" in ch07.max_rtt_for_nack(0.1).message
    assert "too high" in ch07.max_rtt_for_nack(110).message
    assert "too low" in ch07.max_rtt_for_nack(70).message
    assert "Not answered yet" in ch07.max_rtt_for_nack(None).message
    for wrong in (120, 50, 0.1, 110, 70):
        assert "100" not in texts(ch07.max_rtt_for_nack(wrong)).replace("1000", "")
