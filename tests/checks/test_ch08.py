import numpy as np
import pytest

from rtlib.cc.gcc import OveruseDetector
from rtlib.checks import ch08
from rtlib.checks.core import Feedback


def right_threshold(th, m, dt):
    am = abs(m)
    if am - th > 15:
        return th
    k = 0.00018 if am < th else 0.01
    return min(max(th + dt * k * (am - th), 6.0), 600.0)


def shows(fb: Feedback, *values) -> bool:
    """Whether the feedback prints any of ``values`` (to the precision a learner would read)."""
    text = repr(fb) + fb._repr_html_()
    for v in values:
        forms = {f"{v:.3g}", f"{v:.2f}"} if abs(v) < 10 else {f"{v:.0f}", f"{v:.1f}"}
        if any(f in text for f in forms):
            return True
    return False


# -- 8.1 adaptive threshold ------------------------------------------------------------
def test_right_threshold_passes_and_matches_the_library():
    assert ch08.adaptive_threshold(right_threshold)
    det = OveruseDetector()
    det.adapt_threshold(0.0, 0.0)
    det.threshold_ms = 12.5
    assert det.adapt_threshold(20.0, 0.010) == pytest.approx(right_threshold(12.5, 20.0, 10.0))


@pytest.mark.parametrize("wrong,phrase", [
    (lambda th, m, dt: th + dt * (0.01 if abs(m) < th else 0.00018) * (abs(m) - th), "swapped"),
    (lambda th, m, dt: min(max(th + dt * (0.00018 if m < th else 0.01) * (m - th), 6), 600), "negative"),
    (lambda th, m, dt: min(max(th + dt * (0.00018 if abs(m) < th else 0.01) * (abs(m) - th), 6), 600), "spike"),
    (lambda th, m, dt: th if abs(m) - th > 15 else th + dt * (0.00018 if abs(m) < th else 0.01) * (abs(m) - th),
     "floor"),
    (lambda th, m, dt: th, "above"),
])
def test_typical_mistakes_get_a_pointed_hint(wrong, phrase):
    fb = ch08.adaptive_threshold(wrong)
    assert not fb
    assert phrase in (fb.message + " ".join(fb.hints)).lower()


def test_threshold_feedback_never_shows_an_expected_value():
    fb = ch08.adaptive_threshold(lambda th, m, dt: th)
    assert not shows(fb, 13.25, 13.1015, 12.647)


def test_threshold_placeholder_and_broken_functions():
    assert "Not answered yet" in ch08.adaptive_threshold(None).message
    assert "returns None" in ch08.adaptive_threshold(lambda th, m, dt: None).message
    assert "raised ZeroDivisionError" in ch08.adaptive_threshold(lambda th, m, dt: 1 / 0).message
    assert "function" in ch08.adaptive_threshold(12.5).message


# -- 8.2 loss-based step -------------------------------------------------------------------
def test_loss_based_step():
    assert ch08.loss_based_rate_kbps(1200 * (1 - 0.5 * 0.15))
    assert "whole loss ratio" in ch08.loss_based_rate_kbps(1200 * 0.85).message or \
        "back-off" in ch08.loss_based_rate_kbps(1200 * 0.85).message
    assert "hold" in ch08.loss_based_rate_kbps(1200).message
    assert "factor of 1000" in ch08.loss_based_rate_kbps(1200e3 * (1 - 0.075)).message
    assert "too high" in ch08.loss_based_rate_kbps(1150).message
    assert "Not answered yet" in ch08.loss_based_rate_kbps(None).message
    for wrong in (1000, 1020, 1200, 1260, "1110"):
        fb = ch08.loss_based_rate_kbps(wrong)
        assert not fb and not shows(fb, 1110)


# -- 8.3 back-off -------------------------------------------------------------------------
def test_backoff_measurements():
    from rtlib.cc.scenarios import run_scenario

    s = run_scenario("constant", "gcc", controller_args={"beta": 0.5}).summary()
    assert ch08.backoff_utilization(s["utilization"])
    assert ch08.backoff_p95_ms(s["delay_p95_ms"])
    assert "percentage" in ch08.backoff_utilization(s["utilization"] * 100).message
    default = run_scenario("constant", "gcc").summary()
    if abs(default["utilization"] - s["utilization"]) > 0.01:
        assert "default back-off" in ch08.backoff_utilization(default["utilization"]).message
    fb = ch08.backoff_utilization(0.2)
    assert not fb and "too low" in fb.message and not shows(fb, s["utilization"])
    fb = ch08.backoff_p95_ms(1000.0)
    assert not fb and not shows(fb, s["delay_p95_ms"])
    assert "Not answered yet" in ch08.backoff_p95_ms(None).message
    assert "Not answered yet" in ch08.backoff_utilization(None).message


# -- 8.4 Jain ------------------------------------------------------------------------------
def test_jain():
    def right(x):
        x = np.asarray(x, dtype=float)
        return x.sum() ** 2 / (len(x) * (x ** 2).sum())

    assert ch08.jain_index(right)
    assert "1/n" in ch08.jain_index(lambda x: 1.0).hints[0] or "n" in ch08.jain_index(lambda x: 1.0).hints[0]
    assert not ch08.jain_index(lambda x: sum(x) ** 2 / sum(v * v for v in x))  # forgot n
    assert not ch08.jain_index(lambda x: min(x) / max(x))
    assert "raised" in ch08.jain_index(lambda x: x.sum()).message  # a list has no .sum()
    assert "Not answered yet" in ch08.jain_index(None).message
