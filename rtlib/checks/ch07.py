"""Checks for notebooks/07_jitter_buffers.ipynb (jitter buffers and loss recovery).

Each check says what is wrong (a swapped weight, a unit, too much late loss, roughly
how far off ...) and never the expected value.  An unanswered exercise (``None``) gets "not
answered yet" and no exception, so the notebook runs top to bottom.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import Feedback, StagedCheck, as_number, close_to, fail, ok, rough_factor

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


# -- exercise 7.4 (design): jitter buffer + parity FEC for MOS >= 4.0 ----------------------------
# The call of the design task: G.711 with concealment on the ``steady`` path, with random
# network loss that hits media and FEC packets alike.
DESIGN_SCENARIO = ("steady", 120.0, 5)  # name, seconds, seed
DESIGN_LOSS = 0.05
DESIGN_CODEC = "g711"
DESIGN_OTHER_MS = 25.0  # capture, packetisation and decoding, added to the playout delay for the E-model
DESIGN_MOS = 4.0
DESIGN_MIN_K = 4  # at most one FEC packet per 4 media packets: 25 % more packets
DESIGN_MAX_K = 12
DESIGN_MAX_BUFFER_MS = 200.0
DESIGN_SLACK_MS = 10.0  # a passing design may add this much more delay than the best one in the ranges


@lru_cache(maxsize=1)
def _design_base():
    from rtlib.media.jitter import make_scenario

    name, seconds, seed = DESIGN_SCENARIO
    return make_scenario(name, seconds, seed)


@lru_cache(maxsize=32)
def _design_arrivals(fec_k: int | None) -> np.ndarray:
    """Media arrival times after the network's loss and, with ``fec_k``, after parity-FEC repair."""
    from rtlib.media.fec import fec_recover, fec_schedule
    from rtlib.net.loss import loss_pattern

    base = _design_base()
    seed = DESIGN_SCENARIO[2]
    if fec_k is None:
        lost = loss_pattern(base.send_s.size, DESIGN_LOSS, 1.0, seed=seed)
        return np.where(lost, np.nan, base.arrival_s)
    all_send, is_fec, group = fec_schedule(base.send_s, fec_k)
    arrival = np.empty(all_send.size)
    arrival[~is_fec] = base.arrival_s
    n_groups = int(is_fec.sum())
    # The FEC packet leaves right behind its group's last media packet, on the same FIFO path.
    arrival[is_fec] = base.arrival_s[fec_k - 1::fec_k][:n_groups][group[is_fec]] + 1e-4
    arrival[loss_pattern(all_send.size, DESIGN_LOSS, 1.0, seed=seed)] = np.nan
    return fec_recover(arrival, is_fec, group, fec_k)


def simulate_design(buffer_ms: float, fec_k: int | None) -> dict:
    """Exercise 7.4's call with a fixed buffer of ``buffer_ms`` and parity FEC every ``fec_k`` packets.

    Returns the measured outcome: ``mos`` (E-model, G.711 with concealment), the mean
    mouth-to-ear ``delay_ms`` (playout delay plus :data:`DESIGN_OTHER_MS`), the
    ``network_loss`` left after FEC, the ``late_loss`` (among packets that arrived) and
    the ``total_loss`` the E-model sees.  Used by the check and free for the learner's sweeps.
    """
    from rtlib.media.jitter import FixedBuffer, play_trace
    from rtlib.quality.emodel import emodel

    trace = _design_base().with_arrivals(_design_arrivals(fec_k))
    res = play_trace(trace, FixedBuffer(float(buffer_ms)))
    delay_ms = res.mean_delay_ms + DESIGN_OTHER_MS
    loss = res.total_loss_rate
    return {"mos": float(emodel(delay_ms, loss, DESIGN_CODEC, plc=True).MOS), "delay_ms": delay_ms,
            "network_loss": trace.loss_rate, "late_loss": res.late_loss_rate, "total_loss": loss,
            "buffer_ms": float(buffer_ms), "fec_k": fec_k}


@lru_cache(maxsize=1)
def _best_design_delay_ms() -> float:
    """The least mouth-to-ear delay of any design in the ranges that reaches the MOS target.

    For each ``fec_k`` (and no FEC) the smallest buffer reaching the target, on a 1 ms
    grid: a coarse pass in 5 ms steps, then 1 ms steps back from the first success.
    """
    best = math.inf
    for k in (None, *range(DESIGN_MIN_K, DESIGN_MAX_K + 1)):
        for b in np.arange(0.0, DESIGN_MAX_BUFFER_MS + 1, 5.0):
            if simulate_design(b, k)["mos"] >= DESIGN_MOS:
                for fine in np.arange(max(b - 4.0, 0.0), b + 1, 1.0):
                    r = simulate_design(fine, k)
                    if r["mos"] >= DESIGN_MOS:
                        best = min(best, r["delay_ms"])
                        break
                break
    return best


def _design_values(design):
    """``(buffer_ms, fec_k)`` from the learner's design, or a failing Feedback."""
    if design is None:
        return fail("Not answered yet: replace None with your design and run the cell again.")
    if not isinstance(design, dict):
        return fail(f"The design should be a dict like {{'buffer_ms': ..., 'fec_k': ...}}, "
                    f"got {type(design).__name__}.")
    unknown = sorted(set(design) - {"buffer_ms", "fec_k"})
    if unknown:
        return fail(f"Unknown setting(s) {unknown}: the design has two, 'buffer_ms' and 'fec_k'.")
    if "buffer_ms" not in design or "fec_k" not in design:
        return fail("The design needs both 'buffer_ms' and 'fec_k' (fec_k=None for no FEC).")
    buffer_ms = as_number(design["buffer_ms"], "buffer_ms")
    if isinstance(buffer_ms, Feedback):
        return buffer_ms
    if 0 < buffer_ms < 1.0:
        return fail("buffer_ms looks like seconds: it is asked in milliseconds.")
    if not 0 <= buffer_ms <= DESIGN_MAX_BUFFER_MS:
        return fail(f"buffer_ms should be between 0 and {DESIGN_MAX_BUFFER_MS:g} ms.")
    k = design["fec_k"]
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) and not (
                isinstance(k, float) and k.is_integer()):
            return fail(f"fec_k should be a whole number of media packets per FEC packet (or None), got {k!r}.")
        k = int(k)
        if k < DESIGN_MIN_K:
            return fail(f"fec_k = {k} sends one FEC packet per {k} media packets: {1 / k:.0%} more packets, "
                        f"over the budget of {1 / DESIGN_MIN_K:.0%}.",
                        "The budget allows fec_k from 4 up (fewer FEC packets).")
        if k > DESIGN_MAX_K:
            return fail(f"fec_k should be at most {DESIGN_MAX_K} (or None for no FEC).")
    return buffer_ms, k


def _jitter_fec_design(design) -> Feedback:
    values = _design_values(design)
    if isinstance(values, Feedback):
        return values
    buffer_ms, k = values
    r = simulate_design(buffer_ms, k)
    what = f"FEC every {k} packets" if k else "no FEC"
    outcome = (f"MOS {r['mos']:.2f}, mouth-to-ear delay {r['delay_ms']:.0f} ms on average; "
               f"{r['network_loss']:.1%} of the frames still lost by the network, "
               f"{r['late_loss']:.1%} of those that arrived came late")
    if r["mos"] >= DESIGN_MOS:
        if r["delay_ms"] <= _best_design_delay_ms() + DESIGN_SLACK_MS:
            return ok(f"Target met with a buffer of {buffer_ms:g} ms and {what}: {outcome}.")
        if k is None or r["late_loss"] < 0.002:
            first = "The target is met, but every frame waits longer than it must: what sets the buffer's floor?"
        else:
            first = "The target is met, but every frame waits longer than it must: try FEC groups of another size."
        return fail(f"MOS {r['mos']:.2f} meets the target, but a design in the ranges reaches it with less delay "
                    f"(yours: {r['delay_ms']:.0f} ms).", first,
                    "A repaired frame is only ready when the rest of its group and the FEC packet are in: "
                    "the buffer must cover the spread of delays plus (fec_k − 1) frames, and not much more.")
    if k is None:
        return fail(f"Below the target with {what}: {outcome}.",
                    "Look at the network loss left over: what does it cost in MOS even with no late packet?",
                    "Loss alone (no late packet at all) keeps G.711 below the target here: simulate_design with a "
                    "large buffer shows it. Something must repair losses.")
    if r["late_loss"] > r["network_loss"]:
        return fail(f"Below the target with {what}: {outcome}.",
                    "Most of what the listener misses arrived, but too late: what does a repaired frame wait for?",
                    f"A frame rebuilt by FEC is ready only when its whole group and the FEC packet have arrived, "
                    f"up to {k - 1} frames after the frame itself: the buffer must cover that too.")
    return fail(f"Below the target with {what}: {outcome}.",
                "The network loss left after repair is the problem: how often does a group lose two packets?",
                "One XOR packet repairs one loss per group; the larger the group, the more often two of its "
                "packets are lost together. Smaller groups repair more, within the 25 % budget.")


jitter_fec_design = StagedCheck(_jitter_fec_design)
jitter_fec_design.__doc__ = """Exercise 7.4 (design): ``{'buffer_ms': ..., 'fec_k': ...}`` reaching MOS >= 4.0 at little delay.

The design is simulated (:func:`simulate_design`) on the ``steady`` path, 60 s, seed
5, with 5 % random loss on media and FEC packets.  It passes when its MOS reaches 4.0
and its mean mouth-to-ear delay is at most 10 ms above the least of any design in the
ranges (buffer 0-200 ms, fec_k None or 4-12).  The feedback shows the design's own
measured outcome, never the best design; hints come in stages (``hint=True``).
"""
