"""Checks for notebooks/07_jitter_buffers.ipynb (jitter buffers and loss recovery).

Each check says what is wrong (a swapped weight, a unit, too much late loss ...)
and never the expected value.  An unanswered exercise (``None``) gets "not
answered yet" and no exception, so the notebook runs top to bottom.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import Feedback, as_number, close_to, fail, ok

# Exercise 7.2's trace and bar.
BUFFER_SCENARIO = ("wifi", 60.0, 11)  # name, seconds, seed
BUFFER_LATE_LOSS = 0.01
BUFFER_SLACK_MS = 20.0  # a passing buffer may exceed the smallest one that works by this much


# -- exercise 7.1: the adaptive playout estimator ---------------------------------------------
def _reference(delays, alpha, k, *, swap=False, old_d=False, no_abs=False, ignore_v=False):
    d, v = float(delays[0]), 0.0
    out = []
    for n in delays:
        a = 1 - alpha if swap else alpha
        d_old = d
        d = a * d + (1 - a) * n
        dev = (d_old if old_d else d) - n
        v = a * v + (1 - a) * (dev if no_abs else abs(dev))
        out.append(d if ignore_v else d + k * v)
    return np.array(out)


_TEST_DELAYS_MS = np.array([52.0, 61.0, 48.0, 95.0, 57.0, 50.0, 73.0, 66.0, 49.0, 120.0, 58.0, 55.0, 62.0, 51.0,
                            84.0, 59.0, 53.0, 70.0, 56.0, 54.0])


def adaptive_estimator(func) -> Feedback:
    """Exercise 7.1: ``func(delays_ms, alpha, k)`` returns ``d + k·v`` after each packet (Ramjee et al. 1994).

    It starts from ``d`` = the first delay and ``v`` = 0, and for every packet
    (the first included) updates ``d`` then ``v`` with the new ``d``.
    """
    if func is None:
        return fail("Not answered yet: replace None with your answer and run the cell again.")
    if not callable(func):
        return fail(f"Pass your function itself (without calling it), got a {type(func).__name__}.")
    cases = [(_TEST_DELAYS_MS, 0.9, 4.0), (_TEST_DELAYS_MS[::-1].copy(), 0.75, 2.0)]
    for delays, alpha, k in cases:
        try:
            got = func(delays.copy(), alpha, k)
        except Exception as err:  # the learner's code: report, never raise
            return fail(f"Your function raised {type(err).__name__}: {err}",
                        "Call it yourself on a short list of delays to see what goes wrong.")
        if got is None:
            return fail("Your function returns None.", "Return one playout delay per packet (a list or an array).")
        try:
            got = np.asarray(got, dtype=float).ravel()
        except (TypeError, ValueError):
            return fail("Your function should return numbers: one playout delay per packet.")
        if got.size != delays.size:
            return fail(f"Your function returned {got.size} values for {delays.size} packets.",
                        "Return the playout delay after *each* packet, the first one included.")
        expected = _reference(delays, alpha, k)
        if np.allclose(got, expected, rtol=1e-6, atol=1e-6):
            continue
        if np.allclose(got, expected / 1000, rtol=1e-6) or np.allclose(got, expected * 1000, rtol=1e-6):
            return fail("Your values are off by a factor of 1000.", "Delays go in and come out in milliseconds.")
        for flag, message, hint in (
            ("swap", "The two weights are swapped.", "α (close to 1) multiplies the *old* estimate; "
                                                     "the new packet gets 1 − α."),
            ("old_d", "The deviation uses the estimate from before this packet.",
             "Update d first, then measure the deviation |d − n| with the new d."),
            ("no_abs", "The deviation can come out negative.", "v averages the *absolute* deviation |d − n|."),
            ("ignore_v", "The safety margin is missing.", "The playout delay is d + k·v, not d alone."),
        ):
            if np.allclose(got, _reference(delays, alpha, k, **{flag: True}), rtol=1e-6, atol=1e-6):
                return fail(message, hint)
        if np.allclose(got, _reference(delays, 0.998002, 4.0), rtol=1e-6, atol=1e-6) or \
                np.allclose(got, _reference(delays, 0.998002, k), rtol=1e-6, atol=1e-6):
            return fail("Your function ignores its alpha argument.", "Use the alpha and k it is given.")
        bad = int(np.argmax(~np.isclose(got, expected, rtol=1e-6, atol=1e-6)))
        direction = "too high" if got[bad] > expected[bad] else "too low"
        return fail(f"The playout delay after packet {bad} is {direction}.",
                    "Start from d = first delay and v = 0; for every packet update d, then v, then output d + k·v.")
    return ok("Your estimator matches Ramjee et al.'s Algorithm 1.")


# -- exercise 7.2: a buffer that keeps late loss under 1 % --------------------------------------
def _buffer_trace():
    from rtlib.media.jitter import make_scenario

    name, seconds, seed = BUFFER_SCENARIO
    return make_scenario(name, seconds, seed)


def _late_loss_with_buffer(buffer_ms: float) -> float:
    from rtlib.media.jitter import FixedBuffer, play_trace

    return play_trace(_buffer_trace(), FixedBuffer(buffer_ms)).late_loss_rate


@lru_cache(maxsize=1)
def _smallest_buffer_ms(step_ms: float = 1.0) -> float:
    for b in np.arange(0.0, 1000.0, step_ms):
        if _late_loss_with_buffer(float(b)) < BUFFER_LATE_LOSS:
            return float(b)
    return math.inf


def buffer_for_one_percent(buffer_ms) -> Feedback:
    """Exercise 7.2: a fixed buffer (ms after each talkspurt's first packet) with late loss under 1 %.

    On the ``wifi`` scenario, 60 s, seed 11 (``make_scenario("wifi", 60, 11)``).  A
    buffer passes when its late loss is below 1 % and it is no more than 20 ms above
    the smallest buffer that achieves that.
    """
    value = as_number(buffer_ms, "The buffer")
    if isinstance(value, Feedback):
        return value
    if not 0 <= value <= 10_000:
        return fail("The buffer should be between 0 and 10,000 ms.", "Give it in milliseconds.")
    if value < 1.0 and value > 0:
        return fail("That buffer is shorter than a millisecond.", "Give it in milliseconds, not seconds.")
    late = _late_loss_with_buffer(value)
    if late >= BUFFER_LATE_LOSS:
        return fail(f"With {value:g} ms, {late:.2%} of the packets that arrive are late: too many.",
                    "Sweep the buffer with play_trace and FixedBuffer and watch late_loss_rate.")
    if value > _smallest_buffer_ms() + BUFFER_SLACK_MS:
        return fail(f"{value:g} ms keeps late loss under 1 % ({late:.2%}), but it delays every word more than "
                    "it needs to.", "Look for the smallest buffer that still stays under 1 %.")
    return ok(f"{value:g} ms keeps late loss at {late:.2%}, without wasting delay.")


# -- exercise 7.3: when does a retransmission still make it? -------------------------------------
def max_rtt_for_nack(answer, *, buffer_ms: float = 120.0, frame_ms: float = 20.0) -> Feedback:
    """Exercise 7.3: the largest RTT (ms) at which one retransmission beats the playout deadline.

    The loss is noticed when the next packet arrives (one frame later); NACK and
    retransmission take one RTT; the frame is due ``buffer_ms`` after its normal
    arrival.
    """
    from rtlib.media.nack import max_rtt_for_rtx_ms

    value = as_number(answer, "The largest RTT")
    if isinstance(value, Feedback):
        return value
    expected = float(max_rtt_for_rtx_ms(buffer_ms, frame_ms=frame_ms))
    if math.isclose(value, buffer_ms, rel_tol=1e-3):
        return fail("Not quite: the receiver cannot ask straight away.",
                    "It only notices the gap when the *next* packet arrives, one frame later.")
    if math.isclose(value, expected / 2, rel_tol=1e-3) or math.isclose(value, buffer_ms / 2, rel_tol=1e-3):
        return fail("Count the round trip once: the NACK goes back and the retransmission comes forward, "
                    "that is one RTT together.")
    fb = close_to(value, expected, what="The largest RTT", rel=1e-3,
                  unit_hints={1000: "The answer is asked in milliseconds."})
    if not fb and fb.message.endswith(("too high.", "too low.")):
        return fail(fb.message, "Write the time from the lost packet's expected arrival to the retransmission's "
                                "arrival, and set it equal to the buffer.")
    return fb
