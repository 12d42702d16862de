"""The building blocks of every check: rough_factor, close_to's unit band, as_number's messages."""

import numpy as np
import pytest

from rtlib.checks.core import as_number, close_to, is_generic, rough_factor

ROUGH = [
    (1.05, "a little too high (off by less than 10 %)"),
    (0.95, "a little too low"),
    (1.3, "too high by roughly 10–50 %"),
    (2.2, "about 2× too high"),
    (1 / 3.4, "about 3.5× too low"),
    (7.7, "about 8× too high"),
    (25, "more than an order of magnitude (about 10×)"),
    (0.004, "too low by more than an order of magnitude (about 100×)"),
    (-1, "of the wrong sign"),
]


@pytest.mark.parametrize("value, phrase", ROUGH)
def test_rough_factor_is_coarse_and_directional(value, phrase):
    assert phrase in rough_factor(value, 1.0)


def test_close_to_unit_band_and_generic_verdict():
    hints = {1000: "units"}
    assert close_to(1.0, 1.0)
    assert "factor of 1000" in close_to(0.00104, 1.0, unit_hints=hints).message  # 4 % off 1/1000: still seconds
    assert "factor of 1000" not in close_to(0.0012, 1.0, unit_hints=hints).message  # 20 % off: not a unit slip
    fb = close_to(3.0, 1.0, what="The delay")
    assert fb.message == "The delay is about 3× too high." and is_generic(fb)
    assert not is_generic(close_to(0.001, 1.0, unit_hints=hints))


@pytest.mark.parametrize("answer, words", [(None, "Not answered yet"), ("3", "without quotes"),
                                           ([1, 2], "not a list"), (True, "single number"),
                                           (np.array([1.0, 2.0]), "not a list"), (float("inf"), "finite")])
def test_as_number_says_why_it_is_not_a_number(answer, words):
    fb = as_number(answer, "The answer")
    assert not fb and words in repr(fb)
    assert as_number(np.array([2.5]), "x") == 2.5 and as_number(np.int64(3), "x") == 3.0
