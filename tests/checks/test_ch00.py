"""Chapter 00 check, table-driven: each typical wrong answer gets its own hint, never the answer."""

import numpy as np
import pytest

from rtlib.checks import ch00
from tests.checks.table import assert_hint

RIGHT = [960, 960.0, 48_000 * 20 / 1000, np.int64(960), np.array([960.0])]

WRONG = [
    (48_000 / 20, "divided the rate"),                # the notebook's own example
    (48_000 / 0.02, "do not divide"),
    (0.96, "factor of 1000"),                    # ms taken for s the other way
    (48_000 * 20, "the frame length is in milliseconds"),
    (0.9605, "factor of 1000"),                  # a band, not exactly 1/1000
    (1920, "Twice too many"),
    (160, "8 kHz"),
    (320, "16 kHz"),
    (882, "44.1 kHz"),
    (480, ("about 2× too low", "rate [samples/s] × duration [s].")),
    (3000, ("about 3× too high", "rate [samples/s] × duration [s].")),
    (959.5, ("a little too low", "rate [samples/s] × duration [s].")),
    ("960", "without quotes"),
    ([960], "not a list"),
    (True, "single number"),
    (float("nan"), "finite"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer", RIGHT)
def test_right_answers_pass(answer):
    assert ch00.samples_per_frame(answer)


@pytest.mark.parametrize("answer, hint", WRONG)
def test_typical_wrong_answers_get_their_hint(answer, hint):
    assert_hint(ch00.samples_per_frame(answer), hint, 960)


def test_other_rates():
    assert ch00.samples_per_frame(160, rate_hz=8000)
    assert not ch00.samples_per_frame(960, rate_hz=8000)
    assert_hint(ch00.samples_per_frame(110.25, rate_hz=44_100, frame_ms=2.5), "whole number")
