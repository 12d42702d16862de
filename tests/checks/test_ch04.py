"""Checks of chapter 04: right answers pass, typical mistakes get a pointed hint, no answer leaks."""

import numpy as np
import pytest

from rtlib.checks import ch04

SECRETS = ("14.8", "4.8", "666", "667", "0.2", "0.0083", "0.008")


def _no_leak(fb):
    text = repr(fb) + fb._repr_html_()
    for s in SECRETS:
        assert s not in text, f"{s!r} leaked in {text!r}"


def test_one_way_delay():
    assert ch04.one_way_delay_ms(1200 * 8 / 2e6 * 1000 + 2000e3 / 2e8 * 1000)
    cases = {
        10.0: "propagation part only",
        4.8: "serialisation part only",
        0.6 + 10.0: "factor of 8",
        4.8 + 2000e3 / 3e8 * 1000: "vacuum",
        0.0148: "factor of 1000",
        30.0: "too high",
        12.0: "too low",
    }
    for wrong, msg in cases.items():
        fb = ch04.one_way_delay_ms(wrong)
        assert not fb and msg in fb.message, (wrong, fb)
        _no_leak(fb)


def test_queue_growth():
    assert ch04.queue_growth_ms_per_s(1 / 1.5 * 1000)
    cases = {400.0: "divided by the sending rate", 1000.0: "not a delay", 1 / 1.5: "factor of 1000",
             900.0: "too high", 100.0: "too low"}
    for wrong, msg in cases.items():
        fb = ch04.queue_growth_ms_per_s(wrong)
        assert not fb and msg in fb.message, (wrong, fb)
        _no_leak(fb)


def test_gilbert_transitions():
    p_bg = 1 / 5
    p_gb = 0.04 * p_bg / 0.96
    assert ch04.gilbert_transitions(p_gb, p_bg)
    cases = [((p_bg, p_gb), "swapped"), ((0.04, p_bg), "only holds for independent loss"),
             ((0.05, p_bg), "p_gb is too high"), ((p_gb, 0.5), "p_bg is too high"),
             ((0.5, 0.5), "Neither"), ((4, 20), "must lie in [0, 1]")]
    for (a, b), msg in cases:
        fb = ch04.gilbert_transitions(a, b)
        assert not fb and msg in fb.message, ((a, b), fb)
        _no_leak(fb)


def test_in_order_delivery():
    assert ch04.in_order_delivery(lambda a: np.maximum.accumulate(np.where(np.isnan(a), np.inf, a)))
    cases = [
        (lambda a: a, "out of order"),
        (lambda a: np.sort(a), "before it arrived"),
        (lambda a: np.full_like(a, np.nanmax(a)), "later than necessary"),
        (lambda a: np.maximum.accumulate(a), "never arrives"),
        (lambda a: a[:1], "one time per packet"),
        (lambda a: 1 / 0, "raised ZeroDivisionError"),
        (lambda a: None, "returns None"),
    ]
    for func, msg in cases:
        fb = ch04.in_order_delivery(func)
        assert not fb and msg in fb.message, (msg, fb)


@pytest.mark.parametrize("check", [ch04.one_way_delay_ms, ch04.queue_growth_ms_per_s, ch04.in_order_delivery])
def test_unanswered_is_not_an_error(check):
    fb = check(None)
    assert not fb and "Not answered yet" in fb.message


def test_unanswered_gilbert():
    assert "Not answered yet" in ch04.gilbert_transitions(None, None).message


def test_non_numbers_are_explained():
    assert "single number" in ch04.one_way_delay_ms("14.8 ms").message
