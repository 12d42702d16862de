"""Checks for notebooks/00_start_here.ipynb."""

from __future__ import annotations

from rtlib.checks.core import Feedback, close_to, fail


def samples_per_frame(answer, *, rate_hz: int = 48_000, frame_ms: float = 20.0) -> Feedback:
    """How many audio samples does one ``frame_ms`` frame hold at ``rate_hz``?

    A first exercise about units: samples = rate × duration, with the duration in
    seconds.
    """
    expected = rate_hz * frame_ms / 1000.0
    fb = close_to(
        answer, expected, what="The number of samples per frame",
        unit_hints={1000: "Check your units: the rate is per second, the frame length is in milliseconds."},
    )
    if not fb and fb.message.endswith(("too high.", "too low.")):
        return fail(fb.message, "samples = rate [samples/s] × duration [s].")
    if fb and int(answer) != answer:
        return fail("A frame holds a whole number of samples.")
    return fb
