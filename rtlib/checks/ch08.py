"""Checks for notebooks/08_adaptive_bitrate.ipynb (adaptive bitrate, GCC).

Each check says what is wrong (which rule, which direction, which units) and never
the expected value.  An unanswered exercise (``None``) gets "not answered yet".
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.cc.call import jain_index as _jain_reference
from rtlib.cc.gcc import K_D, K_U, LossBasedControl, OveruseDetector
from rtlib.checks.core import Feedback, StagedCheck, as_number, close_to, fail, is_generic, ok, rough_factor


def _unanswered(answer) -> Feedback | None:
    if answer is None:
        return fail("Not answered yet: replace None with your answer and run the cell again.")
    return None


def _reference_threshold(th_ms: float, m_ms: float, dt_ms: float) -> float:
    """One step of the library's own detector (rtlib.cc.gcc) from ``th_ms``, ``dt_ms`` later."""
    det = OveruseDetector(threshold0_ms=th_ms)
    det.adapt_threshold(m_ms, 0.0)  # the first call only sets the detector's clock
    return det.adapt_threshold(m_ms, dt_ms / 1000.0)


# (threshold, m, dt, what this case tests); dt <= 100 ms, where the detector caps its time step
_THRESHOLD_CASES = [
    (12.5, 20.0, 10.0, "above"),
    (13.25, 5.0, 100.0, "below"),
    (12.5, -20.0, 10.0, "negative"),
    (30.0, 8.0, 50.0, "below"),
    (12.5, 28.0, 10.0, "spike"),
    (6.0, 0.0, 100.0, "floor"),
    (599.0, 610.0, 100.0, "ceiling"),
]

_HINTS = {
    "above": "When |m| is at or above the threshold, the threshold should move towards |m| with the gain K_u.",
    "below": "When |m| is below the threshold, the threshold should move down towards |m| with the gain K_d.",
    "negative": "The rule compares the magnitude |m| with the threshold: a large negative m (under-use) counts too.",
    "spike": "The draft says not to update at all when |m| - threshold > 15 ms (a spike).",
    "floor": "The threshold is clamped to [6, 600] ms: it must not fall below the floor.",
    "ceiling": "The threshold is clamped to [6, 600] ms: it must not rise above the ceiling.",
}


def adaptive_threshold(func) -> Feedback:
    """Exercise 8.1: ``func(threshold_ms, m_ms, dt_ms)`` -> the next threshold (draft-ietf-rmcat-gcc-02 5.4)."""
    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail(f"update_threshold should be a function, got {type(func).__name__}.")
    wrong = []
    for th, m, dt, what in _THRESHOLD_CASES:
        try:
            got = func(th, m, dt)
        except Exception as exc:  # a learner's bug: report it, never raise
            return fail(f"Your function raised {type(exc).__name__}: {exc}.",
                        "It takes three numbers (threshold in ms, m in ms, time step in ms) and returns one.")
        if got is None:
            return fail("Your function returns None: it should return the new threshold (a number in ms).")
        value = as_number(got, "The new threshold")
        if isinstance(value, Feedback):
            return value
        expected = _reference_threshold(th, m, dt)
        if not math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9):
            swapped = th + dt * (K_D if what in ("above", "negative") else K_U) * (abs(m) - th)
            if what in ("above", "below", "negative") and math.isclose(value, swapped, rel_tol=1e-6):
                return fail("The gains look swapped.", "K_u (the larger) applies when |m| is at or above the "
                            "threshold, K_d (the smaller) when |m| is below it.")
            if what in ("above", "below") and math.isclose(value, th + dt * (K_U if what == "above" else K_D)
                                                           * (m - th) / 1000, rel_tol=1e-6):
                return fail("Your step is 1000 times too small.", "The time step is already in milliseconds.")
            wrong.append(what)
    if not wrong:
        return ok("Your adaptive threshold follows the draft: fast up (K_u), slow down (K_d), no update on "
                  "spikes, clamped to [6, 600] ms.")
    first = wrong[0]
    return fail(f"Not right yet: {len(wrong)} of {len(_THRESHOLD_CASES)} test cases differ "
                f"(first problem: the '{first}' case).", _HINTS[first])


def loss_based_rate_kbps(answer, *, rate_kbps: float = 1200.0, loss: float = 0.15) -> Feedback:
    """Exercise 8.2: the loss-based estimate after a report with ``loss`` lost (draft section 6)."""
    value = as_number(answer, "The new estimate")
    if isinstance(value, Feedback):
        return value
    expected = LossBasedControl(rate_kbps * 1e3, min_rate_bps=0.0, max_rate_bps=math.inf).update(loss) / 1e3
    if math.isclose(value, expected, rel_tol=1e-3):
        return ok("Right: above 10 % loss the estimate is cut by half the loss ratio.")
    if math.isclose(value, rate_kbps * (1 - loss), rel_tol=1e-3):
        return fail("You took off the whole loss ratio.", "Read the draft's rule for more than 10 % loss again: "
                    "the factor involves half of p.")
    if math.isclose(value, rate_kbps, rel_tol=1e-3):
        return fail("That is the 'hold' answer.", "Is 15 % loss inside the 2-10 % band where nothing changes?")
    if math.isclose(value, rate_kbps * 0.85, rel_tol=1e-3):
        return fail("That is the delay-based back-off (beta), not the loss-based rule.")
    if math.isclose(value, rate_kbps * 1.05, rel_tol=1e-3):
        return fail("That is the increase rule for loss under 2 %.", "15 % loss is far above 10 %: the estimate "
                    "goes down.")
    if math.isclose(value, rate_kbps * 0.5 * loss, rel_tol=1e-3):
        return fail("That is the size of the cut, not the new estimate.", "Subtract it from the old estimate.")
    if value <= 0:
        return fail("A rate cannot be zero or negative.", "Write the loss as a fraction (0.15), not in per cent.")
    fb = close_to(value, expected, what="The new estimate", rel=1e-3,
                  unit_hints={1000: "The answer is asked in kbit/s.", 100: "Write the loss as a fraction, not %."})
    return fb if not is_generic(fb) else fail(fb.message, "Above 10 % loss the draft multiplies the estimate by "
                                                          "(1 − 0.5 p), with p the loss fraction.")


@lru_cache(maxsize=4)
def _backoff_run(beta: float) -> dict:
    from rtlib.cc.scenarios import run_scenario

    return run_scenario("constant", "gcc", controller_args={"beta": beta}).summary()


def backoff_utilization(answer, *, beta: float = 0.5) -> Feedback:
    """Exercise 8.3a: utilisation (a fraction) of GCC on the "constant" scenario with back-off ``beta``.

    Wrong answers are told which quantity they are (another field of ``summary()``,
    the default back-off's value, a percentage) or how far off they are, roughly.
    """
    value = as_number(answer, "The utilisation")
    if isinstance(value, Feedback):
        return value
    run, default = _backoff_run(beta), _backoff_run(0.85)
    expected = run["utilization"]
    if value > 1.5 and math.isclose(value / 100, expected, rel_tol=0.01):
        return fail("That looks like a percentage.", "Give the utilisation as a fraction (0 to 1), as summary() does.")
    if math.isclose(value, default["utilization"], rel_tol=0.005) and beta != 0.85:
        return fail("That is the utilisation with the default back-off.",
                    "Pass the back-off to the controller: controller_args={'beta': ...}.")
    for key, what in (("rate_kbps_mean", "the mean sending rate in kbit/s"),
                      ("goodput_kbps_mean", "the mean goodput in kbit/s"),
                      ("delay_p95_ms", "a delay in ms"), ("delay_p50_ms", "a delay in ms")):
        if math.isclose(value, run[key], rel_tol=0.01) or math.isclose(value, default[key], rel_tol=0.01):
            return fail(f"That is {what}, not a utilisation.",
                        "Utilisation is the share of the link's capacity used: read summary()['utilization'].")
    if math.isclose(value, 1 - expected, rel_tol=0.01):
        return fail("That is the unused share of the link.", "Utilisation is the share that is used.")
    if value > 1.5:
        return fail("A utilisation is a fraction of the link's capacity, between 0 and 1.")
    fb = close_to(value, expected, what="The utilisation", rel=0.01)
    return fb if not is_generic(fb) else fail(
        fb.message, "Run the scenario with controller_args={'beta': 0.5} and read summary()['utilization'].")


def backoff_p95_ms(answer, *, beta: float = 0.5) -> Feedback:
    """Exercise 8.3b: p95 queueing delay (ms) of GCC on the "constant" scenario with back-off ``beta``."""
    value = as_number(answer, "The p95 queueing delay")
    if isinstance(value, Feedback):
        return value
    run, default = _backoff_run(beta), _backoff_run(0.85)
    expected = run["delay_p95_ms"]
    if math.isclose(value, default["delay_p95_ms"], rel_tol=0.005) and beta != 0.85:
        return fail("That is the delay with the default back-off.",
                    "Pass the back-off to the controller: controller_args={'beta': ...}.")
    if math.isclose(value, run["delay_p50_ms"], rel_tol=0.01):
        return fail("That is the median (p50) queueing delay.", "The exercise asks for the 95th percentile: "
                    "summary()['delay_p95_ms'].")
    if math.isclose(value, run["network_delay_p95_ms"], rel_tol=0.01):
        return fail("That is the p95 of the network delay, not of the queueing delay.",
                    "Read summary()['delay_p95_ms'].")
    if 0 < value <= 1 and math.isclose(value, run["utilization"], rel_tol=0.01):
        return fail("That is the utilisation, not a delay.", "Read summary()['delay_p95_ms'].")
    fb = close_to(value, expected, what="The p95 queueing delay", rel=0.01,
                  unit_hints={1000: "The answer is asked in milliseconds."})
    return fb if not is_generic(fb) else fail(
        fb.message, "Run the scenario with controller_args={'beta': 0.5} and read summary()['delay_p95_ms'].")


def jain_index(func) -> Feedback:
    """Exercise 8.4: ``func(rates)`` -> Jain's fairness index of a list of rates."""
    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail(f"jain should be a function, got {type(func).__name__}.")
    cases = [([1.0, 1.0, 1.0], "equal"), ([5.0, 0.0, 0.0], "hog"), ([3.0, 1.0], "two"),
             ([2e6, 1e6], "scale"), (np.array([1.0, 2.0, 3.0, 4.0]), "array")]
    for rates, what in cases:
        try:
            got = func(rates)
        except Exception as exc:
            return fail(f"Your function raised {type(exc).__name__}: {exc}.",
                        "It should accept a list or a numpy array of rates.")
        value = as_number(got, "Jain's index")
        if isinstance(value, Feedback):
            return value
        expected = _jain_reference(rates)
        if not math.isclose(value, expected, rel_tol=1e-6) and math.isclose(value * expected, 1.0, rel_tol=1e-6):
            return fail("Your index is upside down.", "Jain's index is (Σx)² / (n · Σx²): it is at most 1.")
        if not math.isclose(value, expected, rel_tol=1e-6):
            hint = {
                "equal": "Equal shares are perfectly fair: the index must then be 1.",
                "hog": "When one of n flows takes everything, the index must be 1/n.",
                "two": "Check the formula: (sum of x)^2 divided by n times the sum of x^2.",
                "scale": "The index must not depend on the units: scaling every rate by 1000 changes nothing.",
                "array": "It must work on a numpy array too, with n = the number of flows.",
            }[what]
            return fail("Not right yet for some rates.", hint)
    return ok("Right: Jain's index is 1 for equal shares and 1/n when one flow takes all.")


# -- exercise 8.5 (design): tune GCC for RFC 8867 5.1 ---------------------------------------------
TUNE_SCENARIO = "rfc8867-5.1"
TUNE_MIN_UTILIZATION = 0.90
TUNE_MAX_P95_MS = 65.0
TUNE_RANGES = {"beta": (0.5, 0.98), "k_u": (0.001, 0.1), "k_d": (0.00005, 0.02)}
_RUNAWAY_P95_MS = 150.0  # a p95 queueing delay this long means the detector stopped holding the queue


@lru_cache(maxsize=64)
def _tune_run(beta: float, k_u: float, k_d: float) -> dict:
    from rtlib.cc.scenarios import run_scenario

    s = run_scenario(TUNE_SCENARIO, "gcc", controller_args={"beta": beta, "k_u": k_u, "k_d": k_d}).summary()
    return {k: float(s[k]) for k in ("utilization", "delay_p95_ms", "loss", "freeze_rate")}


def simulate_gcc_design(beta: float = 0.85, k_u: float = K_U, k_d: float = K_D) -> dict:
    """Exercise 8.5: GCC with back-off ``beta`` and threshold gains ``k_u``, ``k_d`` on RFC 8867 5.1.

    Returns the run's ``utilization``, ``delay_p95_ms`` (queueing), ``loss`` and
    ``freeze_rate`` (from :meth:`rtlib.cc.call.CallResult.summary`).  One run takes a
    fraction of a second; the check runs the same simulation.
    """
    for name, value in (("beta", beta), ("k_u", k_u), ("k_d", k_d)):
        lo, hi = TUNE_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not lo <= float(value) <= hi:
            raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    return dict(_tune_run(float(beta), float(k_u), float(k_d)))


def _tune_values(design):
    if design is None:
        return fail("Not answered yet: replace None with your design and run the cell again.")
    if not isinstance(design, dict):
        return fail(f"The design should be a dict like {{'beta': ..., 'k_u': ..., 'k_d': ...}}, "
                    f"got {type(design).__name__}.")
    unknown = sorted(set(design) - set(TUNE_RANGES))
    if unknown:
        return fail(f"Unknown setting(s) {unknown}: the design has three, 'beta', 'k_u' and 'k_d'.")
    missing = [k for k in TUNE_RANGES if k not in design]
    if missing:
        return fail(f"The design misses {missing}: give all three (the draft's values are a fine start).")
    values = {}
    for name, (lo, hi) in TUNE_RANGES.items():
        v = as_number(design[name], name)
        if isinstance(v, Feedback):
            return v
        if name == "beta" and 50 <= v <= 98:
            return fail("beta looks like a percentage: it is a fraction (the draft's is 0.85).")
        if not lo <= v <= hi:
            return fail(f"{name} should be between {lo:g} and {hi:g}.")
        values[name] = v
    return values


def _gcc_tuning(design) -> Feedback:
    values = _tune_values(design)
    if isinstance(values, Feedback):
        return values
    r = simulate_gcc_design(**values)
    u, d = r["utilization"], r["delay_p95_ms"]
    outcome = f"utilisation {u:.1%}, p95 queueing delay {d:.1f} ms, loss {r['loss']:.1%}"
    u_ok, d_ok = u >= TUNE_MIN_UTILIZATION, d <= TUNE_MAX_P95_MS
    if u_ok and d_ok:
        return ok(f"Both targets met: {outcome}.")
    if u_ok:
        if d > _RUNAWAY_P95_MS:
            return fail(f"The link is well used but the queue ran away: {outcome}.",
                        "A queue this long means the detector hardly ever signalled over-use: what lets the "
                        "threshold climb above the delay signal and stay there?",
                        "K_u raises the threshold while |m| is above it and K_d lowers it afterwards: a large "
                        "K_u with a small K_d ratchets it up out of reach, and so does a β so close to 1 that "
                        "the queue never drains. Bring them back towards the draft's values.")
        return fail(f"The link is well used, but the delay target is missed: {outcome}.",
                    "Each back-off should drain the queue a little more: which parameter sets its depth?",
                    "β is the share of the incoming rate kept at each over-use; a slightly smaller β drains the "
                    "queue further at every cut. The threshold gains then decide how early the cut comes.")
    if d_ok:
        return fail(f"The delay is short, but the link is under-used: {outcome}.",
                    "Every cut leaves capacity idle until the rate climbs back: which parameter sets how deep "
                    "the cuts are?",
                    "A β far below the draft's cuts too deep (β = 0.5 halves the rate); raise β in small steps "
                    "and watch the delay at each step: the window between the two targets is narrow.")
    return fail(f"Both targets are missed: {outcome}.",
                "Start from the draft's values (β 0.85, K_u 0.01, K_d 0.00018), then change one parameter at "
                "a time and note what each does to utilisation and delay.",
                "β trades utilisation for delay; K_u and K_d decide how early over-use is seen. Sweep β near "
                "the draft's value with a few K_u and K_d each: designs that meet both targets exist.")


gcc_tuning = StagedCheck(_gcc_tuning)
gcc_tuning.__doc__ = """Exercise 8.5 (design): ``{'beta': ..., 'k_u': ..., 'k_d': ...}`` for GCC on RFC 8867 5.1.

The design is simulated (:func:`simulate_gcc_design`) and passes when its
utilisation is at least 90 % and its p95 queueing delay at most 65 ms.  The feedback
shows the design's own measured outcome; hints come in stages (``hint=True``).
"""


#: Exercise 8.6: a p95 this close to the budget D is called a close call in the feedback (ms).
NEAR_BUDGET_MS = 10.0


def self_clocked_winner(prediction) -> Feedback:
    """Exercise 8.6: for each shipped trace, which of gcc, selfclocked, sprout, scream reaches the highest
    utilisation among those within the delay budget D (``"none"`` if none is).

    ``prediction`` maps trace names (``rtlib.cc.experiments.MAHIMAHI_TRACES``) to a controller
    name.  The check runs :func:`rtlib.cc.selfclocked_lab.self_clocked_comparison` on each trace
    and says which predictions the runs contradict, not what the runs gave.
    """
    from rtlib.cc.experiments import MAHIMAHI_TRACES
    from rtlib.cc.selfclocked_lab import SELF_CLOCKED, self_clocked_comparison, winner

    missing = _unanswered(prediction)
    if missing is not None:
        return missing
    if not isinstance(prediction, dict):
        return fail("Write the prediction as a dict: {trace name: controller name}.")
    choices = set(SELF_CLOCKED) | {"none"}
    unknown = [k for k in prediction if k not in MAHIMAHI_TRACES]
    if unknown:
        return fail(f"Unknown trace(s) {unknown}.", f"Use the names in {list(MAHIMAHI_TRACES)}.")
    absent = [k for k in MAHIMAHI_TRACES if k not in prediction]
    if absent:
        return fail(f"No prediction yet for {absent}.")
    bad = {k: v for k, v in prediction.items() if v not in choices}
    if bad:
        return fail(f"Not a controller: {bad}.", f"Each value is one of {sorted(choices)}.")
    runs = {k: self_clocked_comparison(k) for k in MAHIMAHI_TRACES}
    wrong = [k for k in MAHIMAHI_TRACES if winner(runs[k]) != prediction[k]]
    if not wrong:
        return ok("Both predictions match the runs.")
    close = [k for k in wrong if prediction[k] in runs[k]["controllers"]
             and abs(runs[k]["controllers"][prediction[k]]["delay_p95_ms"] - runs[k]["D_ms"]) < NEAR_BUDGET_MS]
    hint = ("Run self_clocked_comparison(name) and compare each controller's delay_p95_ms with r['D_ms'] first, "
            "then the utilisation of those within it.")
    if close:
        hint += (f" On {close} the controller you named ended within {NEAR_BUDGET_MS:.0f} ms of D: a close call; "
                 "run the other seeds too (self_clocked_comparison(name, seed=1) and seed=2) before you decide "
                 "whether your reasoning or the margin failed.")
    return fail(f"The runs contradict your prediction for {wrong}.", hint)
