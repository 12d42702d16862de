"""Checks for notebooks/07_jitter_buffers.ipynb (jitter buffers and loss recovery).

Each check says what is wrong (a swapped weight, a unit, too much late loss, roughly
how far off ...) and never the expected value.  An unanswered exercise (``None``) gets "not
answered yet" and no exception, so the notebook runs top to bottom.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import Feedback, as_number, close_to, fail, ok, rough_factor

# Exercise 7.2's trace and bar.
BUFFER_SCENARIO = ("wifi", 60.0, 11)  # name, seconds, seed
BUFFER_LATE_LOSS = 0.01
BUFFER_SLACK_MS = 20.0  # a passing buffer may exceed the smallest one that works by this much


# -- exercise 7.1: the adaptive playout estimator ---------------------------------------------
def _reference(delays, alpha, k, *, swap=False, old_d=False, no_abs=False, ignore_v=False, d0_zero=False,
               stale_v=False):
    d, v = (0.0 if d0_zero else float(delays[0])), 0.0
    out = []
    for n in delays:
        a = 1 - alpha if swap else alpha
        d_old, v_old = d, v
        d = a * d + (1 - a) * n
        dev = (d_old if old_d else d) - n
        v = a * v + (1 - a) * (dev if no_abs else abs(dev))
        out.append(d if ignore_v else d + k * (v_old if stale_v else v))
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
            ("d0_zero", "The estimate starts from 0.", "Start with d = the first delay (and v = 0)."),
            ("stale_v", "The margin uses v from before this packet.", "Record d + k·v after updating both d and v."),
        ):
            if np.allclose(got, _reference(delays, alpha, k, **{flag: True}), rtol=1e-6, atol=1e-6):
                return fail(message, hint)
        if np.allclose(got, _reference(delays, 0.998002, 4.0), rtol=1e-6, atol=1e-6) or \
                np.allclose(got, _reference(delays, 0.998002, k), rtol=1e-6, atol=1e-6):
            return fail("Your function ignores its alpha argument.", "Use the alpha and k it is given.")
        bad = int(np.argmax(~np.isclose(got, expected, rtol=1e-6, atol=1e-6)))
        return fail(f"The playout delay after packet {bad} is {rough_factor(got[bad], expected[bad])}.",
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


@lru_cache(maxsize=1)
def _smallest_fixed_delay_ms() -> float:
    """The same bar met by a delay counted from the send time (``FixedDelay``): a typical slip."""
    from rtlib.media.jitter import FixedDelay, play_trace

    lo, hi = 0.0, 2000.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if play_trace(_buffer_trace(), FixedDelay(mid)).late_loss_rate < BUFFER_LATE_LOSS \
            else (mid, hi)
    return hi


def buffer_for_one_percent(buffer_ms) -> Feedback:
    """Exercise 7.2: a fixed buffer (ms after each talkspurt's first packet) with late loss under 1 %.

    On the ``wifi`` scenario, 60 s, seed 11 (``make_scenario("wifi", 60, 11)``).  A
    buffer passes when its late loss is below 1 % and it is no more than 20 ms above
    the smallest buffer that achieves that.  A wrong buffer is told its late loss and
    roughly how far it is from the smallest buffer that works.
    """
    value = as_number(buffer_ms, "The buffer")
    if isinstance(value, Feedback):
        return value
    if not 0 <= value <= 10_000:
        return fail("The buffer should be between 0 and 10,000 ms.", "Give it in milliseconds.")
    best = _smallest_buffer_ms()
    if 0.8 <= value * 1000 / best <= 1.2 + BUFFER_SLACK_MS / best or 0 < value < 1.0:
        return fail("That looks like seconds: the buffer is asked in milliseconds.", "Give it in milliseconds.")
    if abs(value - _smallest_fixed_delay_ms()) <= 3.0:
        return fail("That is a delay counted from each packet's send time (FixedDelay), not a buffer.",
                    "FixedBuffer counts from each talkspurt's first arrival: the network delay of that first "
                    "packet is already paid.")
    late = _late_loss_with_buffer(value)
    if late >= BUFFER_LATE_LOSS:
        return fail(f"With {value:g} ms, {late:.2%} of the packets that arrive are late: too many; "
                    f"the buffer is {rough_factor(value, best)}.",
                    "Sweep the buffer with play_trace and FixedBuffer and watch late_loss_rate.")
    if value > best + BUFFER_SLACK_MS:
        return fail(f"{value:g} ms keeps late loss under 1 % ({late:.2%}), but it delays every word more than "
                    f"it needs to: the buffer is {rough_factor(value, best)}.",
                    "Look for the smallest buffer that still stays under 1 %.")
    return ok(f"{value:g} ms keeps late loss at {late:.2%}, without wasting delay.")


# -- exercise 7.3: when does a retransmission still make it? -------------------------------------
def max_rtt_for_nack(answer, *, buffer_ms: float = 120.0, frame_ms: float = 20.0) -> Feedback:
    """Exercise 7.3: the largest RTT (ms) at which one retransmission still arrives in time.

    The rule of :mod:`rtlib.media.nack`: the loss is noticed when the next packet
    arrives (one frame after the lost one's normal arrival); NACK and retransmission
    take one RTT; the frame is due ``buffer_ms`` after its normal arrival, and a
    retransmission arriving exactly then is in time.  So an answer passes iff
    ``rtx_in_time(answer, buffer_ms)`` holds and it is within 0.1 % below the limit.
    """
    from rtlib.media.nack import max_rtt_for_rtx_ms, rtx_in_time

    value = as_number(answer, "The largest RTT")
    if isinstance(value, Feedback):
        return value
    expected = float(max_rtt_for_rtx_ms(buffer_ms, frame_ms=frame_ms))
    if value < 0:
        return fail("A round-trip time cannot be negative.")
    fits = bool(rtx_in_time(min(value, 60_000.0), buffer_ms, frame_ms=frame_ms))
    if fits and value >= expected - 1e-3 * max(abs(expected), 1.0):
        return ok("Right: one frame to notice the gap plus one round trip must fit in the buffer.")
    close = lambda x: math.isclose(value, x, rel_tol=1e-3)  # noqa: E731
    slips = (
        (buffer_ms, "Not quite: the receiver cannot ask straight away.",
         "It only notices the gap when the *next* packet arrives, one frame later."),
        (buffer_ms + frame_ms, "The frame is added where it must be taken away.",
         "Noticing the gap costs one frame of the buffer's time; what is left is for the round trip."),
        (buffer_ms - 2 * frame_ms, "One frame too many is taken away.",
         "The gap is noticed one frame after the lost packet's normal arrival, not two."),
        (expected / 2, "Count the round trip once: the NACK goes back and the retransmission comes forward, "
                       "that is one RTT together.", "Half an RTT each way makes one RTT."),
        (buffer_ms / 2, "Count the round trip once: the NACK goes back and the retransmission comes forward, "
                        "that is one RTT together.", "And the receiver notices the gap only one frame late."),
        (2 * expected, "That is two round trips' worth: one RTT covers the NACK and the retransmission.",
         "Do not double the time left in the buffer."),
    )
    for wrong, message, hint in slips:
        if close(wrong):
            return fail(message, hint)
    if 0.95 <= value * 1000 / expected <= 1.05 or 0.95 <= value / 1000 / expected <= 1.05:
        return fail("The largest RTT is off by a factor of 1000.", "The answer is asked in milliseconds.")
    if not fits:
        return fail(f"Too large: at that RTT the retransmission arrives after the frame's playout deadline; "
                    f"the RTT is {rough_factor(value, expected)}.",
                    "Write the time from the lost packet's expected arrival to the retransmission's arrival, "
                    "and set it equal to the buffer.")
    return fail(f"Too small: a retransmission would still arrive in time with a longer round trip; "
                f"the RTT is {rough_factor(value, expected)}.",
                "Write the time from the lost packet's expected arrival to the retransmission's arrival, "
                "and set it equal to the buffer.")
