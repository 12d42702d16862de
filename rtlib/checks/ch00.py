"""Checks for notebooks/00_start_here.ipynb."""

from __future__ import annotations

import math

from rtlib.checks.core import Feedback, as_number, close_to, fail, is_generic


def samples_per_frame(answer, *, rate_hz: int = 48_000, frame_ms: float = 20.0) -> Feedback:
    """How many audio samples does one ``frame_ms`` frame hold at ``rate_hz``?

    A first exercise about units: samples = rate × duration, with the duration in
    seconds.
    """
    value = as_number(answer, "The number of samples per frame")
    if isinstance(value, Feedback):
        return value
    expected = rate_hz * frame_ms / 1000.0
    slips = (
        (rate_hz / frame_ms, "You divided the rate by the frame length.",
         "samples = rate [samples/s] × duration [s]: multiply, after turning ms into s."),
        (rate_hz / (frame_ms / 1000.0), "You divided the rate by the frame length.",
         "samples = rate [samples/s] × duration [s]: multiply, do not divide."),
        (2 * expected, "Twice too many.",
         "Count the samples of one channel in one frame of the stated length."),
    )
    for wrong, message, hint in slips:
        if math.isclose(value, wrong, rel_tol=1e-6):
            return fail(message, hint)
    for other_hz in (8_000, 16_000, 44_100):
        if other_hz != rate_hz and math.isclose(value, other_hz * frame_ms / 1000.0, rel_tol=1e-6):
            return fail(f"That is a frame at {other_hz / 1000:g} kHz.",
                        f"This stream is sampled at {rate_hz / 1000:g} kHz.")
    fb = close_to(
        value, expected, what="The number of samples per frame", rel=1e-9,
        unit_hints={1000: "Check your units: the rate is per second, the frame length is in milliseconds."},
    )
    if is_generic(fb):
        return fail(fb.message, "samples = rate [samples/s] × duration [s].")
    if fb and int(value) != value:
        return fail("A frame holds a whole number of samples.")
    return fb
