"""Checks for notebooks/02_im_store_forward.ipynb (IM: store and forward).

Each check says what is wrong (a units slip, a wrong start, a missing step, which
entries to look at again) and never the expected value.  An unanswered exercise
(``None``) gets "not answered yet".
"""

from __future__ import annotations

import math

from rtlib.checks.core import Feedback, as_number, close_to, fail, is_generic, ok, rough_factor

MECHANISMS = ("acks", "retries", "dedupe", "in_order")

# Which mechanism repairs what the user would see under each situation.
_FIXES = {
    "drop": "retries",
    "duplicate": "dedupe",
    "reorder": "in_order",
    "crash before commit": "retries",
    "retry of a stored message": "dedupe",
    "sender must know": "acks",
}


def _unanswered(answer) -> Feedback | None:
    if answer is None:
        return fail("Not answered yet: replace None with your answer and run the cell again.")
    return None


def retry_schedule(ack_timeout_s: float = 1.0, backoff: float = 2.0, max_backoff_s: float = 8.0,
                   attempts: int = 6) -> list[float]:
    """When each attempt leaves (s after the first), with exponential backoff capped at ``max_backoff_s``."""
    times, t, wait = [0.0], 0.0, ack_timeout_s
    for _ in range(attempts - 1):
        t += min(wait, max_backoff_s)
        times.append(t)
        wait *= backoff
    return times


def retry_times(answer, *, ack_timeout_s: float = 1.0, backoff: float = 2.0, max_backoff_s: float = 8.0,
                attempts: int = 6) -> Feedback:
    """Exercise 2.1: the send times (s after the first send) of the first ``attempts`` attempts."""
    if (fb := _unanswered(answer)) is not None:
        return fb
    try:
        values = [float(v) for v in answer]
    except (TypeError, ValueError):
        return fail("Give a list of numbers: one send time per attempt, in seconds.")
    if any(not math.isfinite(v) for v in values):
        return fail("Every send time should be a finite number of seconds.")
    expected = retry_schedule(ack_timeout_s, backoff, max_backoff_s, attempts)
    waits = [b - a for a, b in zip(expected, expected[1:])]
    same = lambda xs, ys: len(xs) == len(ys) and all(  # noqa: E731
        math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9) for x, y in zip(xs, ys))
    more_waits = waits + [min(waits[-1] * backoff, max_backoff_s)]
    uncapped = [ack_timeout_s * backoff ** i for i in range(attempts)]
    if any(same(values, w) for w in (waits, [0.0] + waits, more_waits, waits[:-1], uncapped, [0.0] + uncapped[:-1])):
        return fail("These look like the waits between attempts, not the send times.",
                    "Each send time is the previous send time plus the wait: add the waits up, starting from 0 s.")
    if len(values) != attempts:
        return fail(f"The list should hold {attempts} send times (one per attempt), it holds {len(values)}.")
    if same(values, expected):
        return ok("Right: the waits double until they reach the cap.")
    if same(values, [e * 1000 for e in expected]):
        return fail("These look like milliseconds.", "The times are asked in seconds.")
    if values[0] != 0:
        if same(values, [e + ack_timeout_s for e in expected]):
            return fail("Every time is shifted by one ack timeout.",
                        "The first attempt leaves at once, at 0 s; the ack timeout only delays the retries.")
        return fail("The first attempt leaves at once: its send time is 0 s.")
    if same(values, [min(e, max_backoff_s) for e in expected]):
        return fail("The cap is applied to the send times, not to the waits.",
                    "No single wait is longer than max_backoff_s; the send times keep growing.")
    if any(b <= a for a, b in zip(values, values[1:])):
        return fail("Send times must increase: each retry comes after the previous attempt.")
    got_waits = [b - a for a, b in zip(values, values[1:])]
    if not math.isclose(got_waits[0], ack_timeout_s, rel_tol=1e-6):
        return fail("The first retry is off.", "The client resends when no ack came within the ack timeout.")
    if all(math.isclose(b, a * backoff, rel_tol=1e-6) for a, b in zip(got_waits, got_waits[1:])):
        return fail("The waits grow without a cap.", "Each wait is min(previous wait × backoff, max_backoff_s).")
    if any(w > max_backoff_s * (1 + 1e-9) for w in got_waits):
        return fail("Some waits are longer than the cap.", "No wait is longer than max_backoff_s.")
    first_bad = next(i for i, (v, e) in enumerate(zip(values, expected))
                     if not math.isclose(v, e, rel_tol=1e-6, abs_tol=1e-9))
    return fail(f"Send times are off from attempt {first_bad + 1} on.",
                "Each wait is the previous one times the backoff factor, but never more than max_backoff_s; "
                "add the waits up.")


def p_unacked(answer, *, drop: float = 0.1, attempts: int = 3) -> Feedback:
    """Exercise 2.2: the probability that a message is still unacked after ``attempts``
    attempts, when each frame (a send or an ack) is dropped with probability ``drop``."""
    value = as_number(answer, "The probability")  # None: "not answered yet"
    if isinstance(value, Feedback):
        return value
    if not 0 <= value <= 1:
        return fail("A probability lies between 0 and 1.")
    one_fails = 1 - (1 - drop) ** 2
    expected = one_fails ** attempts
    if math.isclose(value, expected, rel_tol=1e-3):
        return ok("Right: every attempt must fail, and an attempt fails when its send or its ack is lost.")
    if math.isclose(value, drop ** attempts, rel_tol=1e-3):
        return fail("You counted only lost sends.", "An attempt also fails when the send arrives but its ack is lost.")
    if math.isclose(value, one_fails, rel_tol=1e-3):
        return fail("That is the chance that one attempt fails.", "The message stays unacked only if every attempt fails.")
    if math.isclose(value, 1 - expected, rel_tol=1e-3):
        return fail("That is the chance that the message is acked.", "The question asks for the opposite.")
    if math.isclose(value, (2 * drop) ** attempts, rel_tol=1e-3):
        return fail("Close, but an attempt's failure chance is not the sum of the two drops.",
                    "The attempt succeeds only if both frames get through: fails with 1 − (1 − p)², not 2p.")
    if math.isclose(value, (1 - drop) ** (2 * attempts), rel_tol=1e-3):
        return fail("That is the chance that every frame gets through.",
                    "One attempt fails when its send or its ack is lost; all attempts must fail.")
    if math.isclose(value, expected * 100, rel_tol=1e-3):
        return fail("That looks like a percentage.", "Give the probability as a fraction between 0 and 1.")
    for n in (attempts - 1, attempts + 1):
        if n > 0 and math.isclose(value, one_fails ** n, rel_tol=1e-3):
            return fail(f"That counts {n} attempts.", f"The message is sent {attempts} times in all: "
                        "the first send and the retries.")
    fb = close_to(value, expected, what="The probability", rel=1e-3)
    return fb if not is_generic(fb) else fail(
        fb.message, "Chance that one attempt fails: its send or its ack is lost. Then all attempts must fail.")


def which_mechanism(answer) -> Feedback:
    """Exercise 2.3: for each situation, the mechanism that saves the user from it.

    ``answer`` maps each situation (``"drop"``, ``"duplicate"``, ``"reorder"``,
    ``"crash before commit"``, ``"retry of a stored message"``, ``"sender must know"``)
    to the mechanism that repairs it: ``"acks"``, ``"retries"``, ``"dedupe"`` or ``"in_order"``.
    """
    if (fb := _unanswered(answer)) is not None:
        return fb
    if not isinstance(answer, dict):
        return fail(f"Give a dict {{situation: mechanism}}, got {type(answer).__name__}.")
    missing = [k for k in _FIXES if k not in answer]
    if missing:
        return fail(f"Missing situation(s): {', '.join(repr(m) for m in missing)}.")
    extra = [k for k in answer if k not in _FIXES]
    if extra:
        return fail(f"Unknown situation(s): {', '.join(repr(e) for e in extra)}; the situations are "
                    f"{', '.join(repr(k) for k in _FIXES)}.")
    bad_values = [k for k, v in answer.items() if v not in MECHANISMS]
    near = [k for k in bad_values if isinstance(answer[k], str)
            and answer[k].strip().lower().replace("-", "_").replace(" ", "_") in MECHANISMS]
    if near:
        return fail(f"Write each mechanism exactly as listed ({', '.join(repr(m) for m in MECHANISMS)}): "
                    f"lower case, with an underscore; look at {', '.join(repr(b) for b in near)}.")
    if bad_values:
        return fail(f"Each mechanism must be one of {', '.join(repr(m) for m in MECHANISMS)}; "
                    f"look at {', '.join(repr(b) for b in bad_values)}.")
    wrong = [k for k, v in answer.items() if v != _FIXES[k]]
    if len(set(answer.values())) == 1:
        return fail(f"One mechanism for every situation: {len(_FIXES) - len(wrong)} of {len(_FIXES)} right.",
                    "Each mechanism repairs something different; ask what the user would see without it.")
    if not wrong:
        return ok("All right: acks tell, retries deliver, dedupe removes copies, in-order release sorts.")
    return fail(f"{len(_FIXES) - len(wrong)} of {len(_FIXES)} right. Look again at: "
                f"{', '.join(repr(w) for w in wrong)}.",
                "Ask what the user would see without each mechanism: a missing message, "
                "the same message twice, messages in the wrong order, or a sender who cannot tell.")

