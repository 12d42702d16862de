"""Checks of chapter 09: right answers pass, typical wrong answers get a distinctive hint,
and no feedback shows the expected value."""

import numpy as np
import pytest

from rtlib.audio.nlms import nlms_update
from rtlib.audio.noise import WienerFilter
from rtlib.checks import ch09
from tests.checks.table import assert_hint


# -- 9.1 the NLMS update ------------------------------------------------------------------------
def right_nlms(w, x_buf, d, mu, eps):
    e = d - np.dot(w, x_buf)
    return e, w + mu * e * x_buf / (eps + np.dot(x_buf, x_buf))


def test_right_nlms_passes():
    assert ch09.nlms_step(right_nlms)
    assert ch09.nlms_step(nlms_update)


def test_cases_include_a_silent_far_end():
    assert any(not np.any(x) for _, x, _, _, _ in ch09.nlms_cases())


def _lms(w, x, d, mu, eps):
    e = d - w @ x
    return e, w + mu * e * x


def _no_eps(w, x, d, mu, eps):
    e = d - w @ x
    with np.errstate(all="ignore"):
        return e, w + mu * e * x / (x @ x)


def _sign(w, x, d, mu, eps):
    e = w @ x - d
    return e, w + mu * e * x / (eps + x @ x)


def _in_place(w, x, d, mu, eps):
    e = d - w @ x
    w += mu * e * x / (eps + x @ x)
    return e, w.copy()


def _minus(w, x, d, mu, eps):
    e = d - w @ x
    return e, w - mu * e * x / (eps + x @ x)


def _norm(w, x, d, mu, eps):
    e = d - w @ x
    return e, w + mu * e * x / (eps + np.linalg.norm(x))


def _only_w(w, x, d, mu, eps):
    return right_nlms(w, x, d, mu, eps)[1]


def _raises(w, x, d, mu, eps):
    raise KeyError("oops")


def _touch_x(w, x, d, mu, eps):
    x *= 1.0001
    return right_nlms(w, x, d, mu, eps)


@pytest.mark.parametrize("func, hint", [
    (_lms, "plain LMS"),
    (_no_eps, "Add eps to the energy"),
    (_sign, "wrong sign"),
    (_in_place, "in place"),
    (_minus, "+e x_buf"),
    (_norm, "sum of squares"),
    (_only_w, "two things"),
    (_raises, "KeyError"),
    (_touch_x, "changed x_buf"),
    (lambda w, x, d, mu, eps: None, "returns None"),
    (None, "Not answered yet"),
    (3, "should be a function"),
])
def test_nlms_wrong(func, hint):
    assert_hint(ch09.nlms_step(func), hint)


# -- 9.2 the filter length -----------------------------------------------------------------------
def test_expected_taps_follow_from_the_decay():
    # 60 dB per RT60: 40 dB takes 2/3 of 0.45 s = 0.3 s, 4800 samples at 16 kHz
    assert ch09.needed_taps() == 4800
    assert ch09.needed_taps(0.3, 30.0, 8000) == 1200


@pytest.mark.parametrize("answer", [4800, 4800.0, 4801, np.int64(4800)])
def test_right_taps_pass(answer):
    assert ch09.filter_taps(answer)


@pytest.mark.parametrize("answer, hint", [
    (0.45 * 16000, "whole RT60"),
    (2400, "sample rate"),
    (300, "not a time"),
    (0.3, "not a time"),
    (0.45 * 1.5 * 16000, "upside down"),
    (5200, "too high"),
    ("4800", "string"),
    ([4800], "single number"),
    (None, "Not answered yet"),
])
def test_taps_wrong(answer, hint):
    assert_hint(ch09.filter_taps(answer), hint, 4800.0, 300.0)


# -- 9.3 the decision-directed Wiener gain ---------------------------------------------------------
def right_wiener(prev_clean_power, power, noise_psd):
    a, floor_db = ch09.WIENER_A, ch09.WIENER_FLOOR_DB
    xi = a * prev_clean_power / noise_psd + (1 - a) * np.maximum(power / noise_psd - 1, 0)
    return xi, np.maximum(xi / (1 + xi), 10 ** (floor_db / 20))


def test_right_wiener_passes():
    assert ch09.wiener_gain(right_wiener)


def test_reference_is_the_library_filter():
    """The check's rule is rtlib.audio.noise.WienerFilter's, on the check's own spectra."""
    prev, power, noise = ch09.wiener_inputs()
    wf = WienerFilter(8000, smoothing=ch09.WIENER_A, gain_floor_db=ch09.WIENER_FLOOR_DB)
    assert wf.stft.n_bins == len(power)
    wf._prev_clean_power = prev.copy()
    gain = wf._gain(power, noise)
    xi_ref, g_ref = ch09.reference_wiener_gain(prev, power, noise)
    assert np.allclose(gain, g_ref) and np.allclose(wf.xi, xi_ref)
    # the inputs exercise both sides of the floor and of the clip at gamma - 1 = 0
    assert (g_ref == 10 ** (ch09.WIENER_FLOOR_DB / 20)).any() and (g_ref > 0.5).any()
    assert (power < noise).any()


def _slip(slip):
    return lambda p, q, n: ch09.reference_wiener_gain(p, q, n, slip=slip)


def _sqrt_gain(p, q, n):
    xi, g = right_wiener(p, q, n)
    return xi, np.sqrt(g)


@pytest.mark.parametrize("func, hint", [
    (_slip("no_minus_one"), "γ − 1"),
    (_slip("no_clip"), "max(γ − 1, 0)"),
    (_slip("swap"), "swapped"),
    (_slip("no_floor"), "never drop below the floor"),
    (_slip("power_floor"), "not 10^(floor_db / 10)"),
    (_sqrt_gain, "square root"),
    (lambda p, q, n: (q / n, q / n), "xi is not right"),
    (lambda p, q, n: right_wiener(p, q, n)[1], "two arrays"),
    (lambda p, q, n: (np.zeros(3), np.zeros(3)), "one value per bin"),
    (lambda p, q, n: 1 / 0, "ZeroDivisionError"),
    (None, "Not answered yet"),
    ("xi", "should be a function"),
])
def test_wiener_wrong(func, hint):
    assert_hint(ch09.wiener_gain(func), hint)


# -- 9.4 (design): a canceller that converges and survives double talk -----------------------------
from tests.checks.table import assert_hint as _assert_hint, shown as _shown  # noqa: E402

SHORTEST = ch09.shortest_filter_ms()
GOOD = {"filter_ms": SHORTEST, "step": 0.6, "ncc_threshold": 0.95}


def fresh(design, **kw):
    ch09.canceller_design.reset()
    return ch09.canceller_design(design, **kw)


def test_canceller_design_the_shortest_passes_and_shorter_reference_designs_fail():
    assert ch09.erle_bound_db(SHORTEST) >= ch09.DESIGN_ERLE_DB and SHORTEST < 256
    r = ch09.simulate_canceller(**GOOD)
    fb = fresh(GOOD)
    assert fb and f"{r['erle_after_db']:.1f} dB" in _shown(fb)
    assert fresh(dict(GOOD, filter_ms=SHORTEST + 16))  # one block of slack
    for step in ch09.REFERENCE_STEPS:
        for thr in ch09.REFERENCE_THRESHOLDS:
            r = ch09.simulate_canceller(SHORTEST - 16, step, thr)
            assert not (r["converged_s"] <= ch09.DESIGN_CONVERGE_S and r["erle_after_db"] >= ch09.DESIGN_ERLE_DB)


def test_canceller_design_needs_the_detector_and_the_bound_limits_short_filters():
    no_dtd = ch09.simulate_canceller(SHORTEST, 0.6, None)
    assert no_dtd["erle_after_db"] < ch09.DESIGN_ERLE_DB - 10  # the near talker drives the filter away
    assert ch09.erle_bound_db(32) < ch09.DESIGN_ERLE_DB < ch09.erle_bound_db(256)


CANCELLER_WRONG = [
    (dict(GOOD, ncc_threshold=None), ("echo comes back", "what does the filter learn")),
    (dict(GOOD, ncc_threshold=0.7), ("echo comes back", "what does its threshold")),
    (dict(GOOD, filter_ms=32), ("too slow to converge", "model at all")),
    (dict(GOOD, step=0.2), ("too slow to converge", "how far does each update")),
    (dict(GOOD, step=1.5), ("too slow to converge", "large step")),
    (dict(GOOD, ncc_threshold=0.995), ("too slow to converge", "only the far end talks")),
    (dict(GOOD, filter_ms=256), ("both targets met", "shorter filter")),
    (dict(GOOD, filter_ms=100), "whole number of the FDAF's 16 ms blocks"),
    (dict(GOOD, filter_ms=0.128), "looks like seconds"),
    (dict(GOOD, filter_ms=2048), "number of taps"),
    (dict(GOOD, filter_ms=1024), "between 16 and 512 ms"),
    (dict(GOOD, step=2.5), "step should be between 0.01 and 1.9"),
    (dict(GOOD, ncc_threshold=1.2), "between 0 and 1"),
    (dict(GOOD, ncc_threshold="0.9"), "single number"),
    ({"filter_ms": 128, "step": 0.5}, "ncc_threshold=None for no detector"),
    (dict(GOOD, geigel=0.5), "Unknown setting"),
    ((128, 0.5, 0.9), "should be a dict"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", CANCELLER_WRONG)
def test_canceller_design_typical_wrong_designs_fail_with_a_reason(design, hint):
    own = isinstance(design, dict) and design.get("filter_ms") == SHORTEST
    _assert_hint(fresh(design, hint=True), hint, *(() if own else (SHORTEST,)))


def test_canceller_design_hints_come_in_stages():
    fb = fresh(dict(GOOD, ncc_threshold=None))
    assert "filter learn while" not in _shown(fb) and "hint=True" in _shown(fb)
    fb = ch09.canceller_design(dict(GOOD, ncc_threshold=None), hint=True)
    assert "filter learn while" in _shown(fb) and "must freeze it" not in _shown(fb)
    fb = ch09.canceller_design(dict(GOOD, ncc_threshold=None, step=0.5), hint=True)  # another try
    assert "must freeze it" in _shown(fb)
    ch09.canceller_design.reset()


def test_canceller_simulation_rejects_bad_parameters():
    with pytest.raises(ValueError, match="filter_ms must be a multiple of 16 ms"):
        ch09.simulate_canceller(100, 0.5, None)
    with pytest.raises(ValueError, match=r"step must be a number in \[0.01, 1.9\]"):
        ch09.simulate_canceller(128, 2.0, None)
    with pytest.raises(ValueError, match="ncc_threshold must be None"):
        ch09.simulate_canceller(128, 0.5, 1.5)


def test_canceller_design_check_is_fast():
    import time

    ch09.shortest_filter_ms.cache_clear()
    ch09._canceller_run.cache_clear()
    t0 = time.perf_counter()
    fresh(dict(GOOD, filter_ms=256))  # the scene is cached; the search for the shortest filter runs
    assert time.perf_counter() - t0 <= 3.0
