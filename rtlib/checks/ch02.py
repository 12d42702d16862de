"""Checks for notebooks/02_im_store_forward.ipynb (IM: store and forward).

Each check says what is wrong (a units slip, a wrong start, a missing step, which
entries to look at again) and never the expected value.  An unanswered exercise
(``None``) gets "not answered yet".
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import (Feedback, StagedCheck, as_number, close_to, design_settings, fail, is_generic, ok,
                               out_of_range, rough_factor)

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



# -- exercise 2.4 (design): a retry policy for a lossy radio link -------------------------------
RETRY_DROP = 0.2  # per frame, each direction
RETRY_JITTER_MS = 30.0
RETRY_MESSAGES = 600
RETRY_SEED = 3
RETRY_MAX_P99_S = 1.2  # 99 % of the messages get their tick within this time
RETRY_MAX_RESENDS = 0.75  # resends per message, on average
RETRY_RANGES = {"ack_timeout_s": (0.05, 5.0), "backoff": (1.0, 4.0), "max_backoff_s": (0.1, 60.0)}


def _ack_tracker(world):
    from rtlib.im.sim import Tracker

    class AckTracker(Tracker):
        """The world's tracker, plus when each message was sent and first acked (the sender's tick)."""

        def __init__(self, w):
            super().__init__(w, detailed=True)
            self.sent_at, self.acked_at = {}, {}

        def on_send(self, dev, conv, cid, now):
            super().on_send(dev, conv, cid, now)
            self.sent_at[(dev.user, cid)] = now

        def on_events(self, dev, events, now):
            super().on_events(dev, events, now)
            for ev in events:
                if ev[0] == "acked":
                    self.acked_at.setdefault((dev.user, ev[1]), now)

    return AckTracker(world)


@lru_cache(maxsize=64)
def _retry_run(ack_timeout_s: float, backoff: float, max_backoff_s: float) -> dict:
    from rtlib.im.sim import Faults, Timing, World
    from rtlib.sim import make_rng

    w = World(seed=RETRY_SEED, faults=Faults(drop=RETRY_DROP),
              timing=Timing(ack_timeout_s=ack_timeout_s, jitter_ms=RETRY_JITTER_MS))
    w.tracker = _ack_tracker(w)
    for user in ("alice", "bob"):
        w.add_user(user, backoff=backoff, max_backoff_s=max_backoff_s)
    w.add_conversation("ab", ["alice", "bob"], kind="direct")
    w.start(0.0)
    rng = make_rng(RETRY_SEED, "ch02-retry-design")
    t = 1.0
    for k in range(RETRY_MESSAGES):
        w.send_at(t, ("alice", "bob")[k % 2], "ab", f"message {k}")
        t += rng.uniform(0.5, 1.5)
    w.run(t + 120.0)
    tr = w.tracker
    tick_s = np.array([tr.acked_at.get(key, math.inf) - t0 for key, t0 in tr.sent_at.items()])
    resent = sum(d.client.stats["resent"] for d in w.devices.values())
    return {"tick_p50_s": float(np.median(tick_s)), "tick_p99_s": float(np.percentile(tick_s, 99)),
            "never_acked": int(np.sum(~np.isfinite(tick_s))), "resends_per_message": resent / RETRY_MESSAGES}


def simulate_retries(ack_timeout_s: float = 1.0, backoff: float = 2.0, max_backoff_s: float = 16.0) -> dict:
    """Exercise 2.4: alice and bob chat (600 messages) over a link that drops 20 % of the frames.

    The IM system of :mod:`rtlib.im.sim` with the given client retry policy (the
    ``k``-th resend waits ``ack_timeout_s × backoff^(k−1)``, at most ``max_backoff_s``).
    Returns the median and 99th percentile of the time from sending to the sender's
    tick (the server's ack), ``tick_p50_s`` and ``tick_p99_s``, the ``never_acked``
    count and the ``resends_per_message``.  Used by the check and free for sweeps.
    """
    for name, value in (("ack_timeout_s", ack_timeout_s), ("backoff", backoff), ("max_backoff_s", max_backoff_s)):
        lo, hi = RETRY_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= float(value) <= hi:
            raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    return dict(_retry_run(float(ack_timeout_s), float(backoff), float(max_backoff_s)))


def _retry_values(design):
    values = design_settings(design, tuple(RETRY_RANGES))
    if isinstance(values, Feedback):
        return values
    for name, (lo, hi) in RETRY_RANGES.items():
        v = values[name]
        if name.endswith("_s") and 50 <= v <= 60_000:
            return fail(f"{name} looks like milliseconds: it is asked in seconds.")
        bad = out_of_range(name, v, lo, hi)
        if bad is not None:
            return bad
    return values


def _retry_design(design) -> Feedback:
    values = _retry_values(design)
    if isinstance(values, Feedback):
        return values
    r = simulate_retries(**values)
    outcome = (f"99 % of the messages got their tick within {r['tick_p99_s']:.2f} s (half within "
               f"{r['tick_p50_s'] * 1000:.0f} ms), {r['resends_per_message']:.2f} resends per message")
    fast, frugal = r["tick_p99_s"] <= RETRY_MAX_P99_S, r["resends_per_message"] <= RETRY_MAX_RESENDS
    if fast and frugal:
        return ok(f"Both targets met: {outcome}.")
    if fast:
        return fail(f"Quick, but too many resends: {outcome}.",
                    "Some resends were not needed: the ack was still on its way. How long does an ack "
                    "normally take?",
                    "A resend is needless when the timeout fires before the ack of a stored message comes "
                    "back: the median time to the tick is a round trip; the timeout must sit above most "
                    "round trips, jitter included.")
    if frugal and values["backoff"] > 1.0 and values["max_backoff_s"] > values["ack_timeout_s"]:
        return fail(f"Frugal, but the slowest messages wait too long: {outcome}.",
                    "The slow ones are messages lost several times in a row: how long does the fourth or fifth "
                    "resend wait with your policy?",
                    "Here the losses are random (a radio link), not a sign of an overloaded server, so growing "
                    "waits only delay the unlucky messages: a backoff near 1, or a low cap on the wait, keeps "
                    "every retry quick.")
    if frugal:
        return fail(f"Frugal, but the slowest messages wait too long: {outcome}.",
                    "Every loss costs one full timeout before the resend: is yours much longer than a round "
                    "trip?",
                    "Shorten the timeout towards the round trip (plus its jitter), but not below it, or resends "
                    "become needless.")
    return fail(f"Both targets are missed: {outcome}.",
                "Change one parameter at a time, starting with the timeout, and watch both numbers.",
                "The timeout sets the needless resends (too short) and the cost of each loss (too long); "
                "backoff and cap decide how the waits grow after repeated losses.")


retry_design = StagedCheck(_retry_design)
retry_design.__doc__ = """Exercise 2.4 (design): ``{'ack_timeout_s': ..., 'backoff': ..., 'max_backoff_s': ...}``.

Simulated by :func:`simulate_retries`; passes when 99 % of the messages get their
tick within 1.2 s and there are at most 0.75 resends per message.  The feedback shows
the design's own measured outcome; hints come in stages (``hint=True``).
"""
