"""Checks for notebooks/09_echo_noise.ipynb (echo cancellation and noise suppression).

Each check says what is wrong and never the expected value.  An unanswered exercise
(``None``) gets "not answered yet".

- :func:`nlms_step`: exercise 9.1, one NLMS update, compared with
  :func:`rtlib.audio.nlms.nlms_update` on fixed inputs (one of them a silent far end);
- :func:`filter_taps`: exercise 9.2, the filter length for a room of a given RT60;
- :func:`wiener_gain`: exercise 9.3, the decision-directed a-priori SNR and the Wiener
  gain of :class:`rtlib.audio.noise.WienerFilter`, on fixed spectra.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.checks.core import Feedback, as_number, fail, ok, rough_factor


def _unanswered(answer) -> Feedback | None:
    if answer is None:
        return fail("Not answered yet: replace None with your answer and run the cell again.")
    return None


# -- 9.1 the NLMS update --------------------------------------------------------------------------
def nlms_cases() -> list[tuple[np.ndarray, np.ndarray, float, float, float]]:
    """The inputs ``(w, x_buf, d, mu, eps)`` the check runs: seeded, 32 taps, the last one silent."""
    rng = np.random.default_rng(9)
    cases = []
    for mu, eps in ((0.5, 1e-3), (1.0, 1e-3), (0.2, 0.05)):
        w = 0.1 * rng.standard_normal(32)
        x = 0.3 * rng.standard_normal(32)
        d = float(0.4 * rng.standard_normal())
        cases.append((w, x, d, mu, eps))
    cases.append((0.1 * rng.standard_normal(32), np.zeros(32), 0.05, 0.5, 1e-3))   # far end silent
    return cases


def _variant(w, x, d, mu, eps, kind: str):
    """Typical slips, to name them: each returns (e, w_new)."""
    if kind == "sign":
        e = float(w @ x - d)
        return e, w + mu * e * x / (eps + x @ x)
    e = float(d - w @ x)
    if kind == "lms":
        return e, w + mu * e * x
    if kind == "no_eps":
        with np.errstate(divide="ignore", invalid="ignore"):
            return e, w + mu * e * x / (x @ x)
    if kind == "norm":
        return e, w + mu * e * x / (eps + np.linalg.norm(x))
    if kind == "minus":
        return e, w - mu * e * x / (eps + x @ x)
    raise ValueError(kind)


def nlms_step(func) -> Feedback:
    """Exercise 9.1: ``func(w, x_buf, d, mu, eps) -> (e, w_new)``, one NLMS update."""
    from rtlib.audio.nlms import nlms_update

    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail(f"nlms_step should be a function, got {type(func).__name__}.")
    for i, (w, x, d, mu, eps) in enumerate(nlms_cases()):
        w_in, x_in = w.copy(), x.copy()
        try:
            got = func(w_in, x_in, d, mu, eps)
        except Exception as exc:  # a learner's bug: report it, never raise
            return fail(f"Your function raised {type(exc).__name__}: {exc}.",
                        "It takes w and x_buf (arrays of L values), d, mu and eps (numbers) and returns (e, w_new).")
        if got is None:
            return fail("Your function returns None: it should return the pair (e, w_new).")
        if not (isinstance(got, tuple) and len(got) == 2):
            return fail("Return two things, as a tuple: the error e (a number) and the new weights w_new (an array).")
        e_got, w_got = got
        e_val = as_number(e_got, "e")
        if isinstance(e_val, Feedback):
            return e_val
        try:
            w_arr = np.asarray(w_got, dtype=np.float64)
        except (TypeError, ValueError):
            return fail("w_new should be an array of numbers, one per tap.")
        if w_arr.shape != w.shape:
            return fail(f"w_new should have the L = {len(w)} values of w, got shape {w_arr.shape}.")
        if not np.array_equal(x_in, x):
            return fail("Your function changed x_buf: the far-end history is an input, leave it as it is.")
        e_ref, w_ref = nlms_update(w, x, d, mu, eps)
        silent = not np.any(x)
        if not np.isfinite(w_arr).all() or not math.isfinite(e_val):
            return fail("With a silent far end (x_buf all zeros) your update is not a finite number.",
                        "That is what eps is for: divide by eps + x_buf · x_buf, never by the energy alone.")
        if not math.isclose(e_val, e_ref, rel_tol=1e-9, abs_tol=1e-12):
            if math.isclose(e_val, -e_ref, rel_tol=1e-9, abs_tol=1e-12):
                return fail("The error has the wrong sign.",
                            "e is what is left of the microphone sample after the echo estimate: d − w · x_buf.")
            return fail("The error e is not right yet.",
                        "Compute it before updating: e = d − w · x_buf (the echo estimate is the dot product).")
        if np.allclose(w_arr, w_ref, rtol=1e-9, atol=1e-12):
            if not np.array_equal(w_in, w) and not np.shares_memory(w_arr, w_in):
                return fail("w_new is right, but your function also changed the w it was given.",
                            "Build a new array (w + ...) instead of updating w in place (w += ...).")
            continue
        for kind, hint in (
            ("lms", "That is the plain LMS update: NLMS divides the step by the far-end energy, eps + x_buf · x_buf."),
            ("norm", "Divide by the energy x_buf · x_buf (a sum of squares), not by the length of the vector."),
            ("minus", "The update goes along +e x_buf: w moves towards reducing the error, w + mu e x_buf / (...)."),
            ("sign", "The error has the wrong sign: e = d − w · x_buf."),
            ("no_eps", "Add eps to the energy before dividing: it keeps the step finite when the far end is quiet."),
        ):
            with np.errstate(all="ignore"):
                _, w_var = _variant(w, x, d, mu, eps, kind)
            if np.allclose(w_arr, w_var, rtol=1e-9, atol=1e-12):
                return fail("w_new is not right yet.", hint)
        if silent:
            return fail("w_new is not right yet when the far end is silent (x_buf all zeros).",
                        "With nothing played there is nothing to learn: w should not change.")
        off = float(np.linalg.norm(w_arr - w_ref) / max(np.linalg.norm(w_ref - w), 1e-300))
        return fail(f"w_new is not right yet (case {i + 1}): the change you make to w is off by "
                    f"{off:.0%} of the right change.",
                    "w_new = w + mu · e · x_buf / (eps + x_buf · x_buf).")
    return ok("Right: your update matches rtlib.audio.nlms.nlms_update on all four inputs, "
              "including a silent far end.")


# -- 9.2 the filter length ------------------------------------------------------------------------
RT60_S = 0.45            # the room of exercise 9.2
TARGET_ERLE_DB = 40.0    # the ERLE the filter must allow at best
RATE_HZ = 16000


def needed_taps(rt60_s: float = RT60_S, target_db: float = TARGET_ERLE_DB, rate_hz: int = RATE_HZ) -> int:
    """Taps for an exponentially decaying echo path: the energy beyond t is 10^(-6 t / RT60)
    of the total (60 dB per RT60), so the tail is ``target_db`` down at t = RT60 target / 60."""
    return int(math.ceil(rt60_s * target_db / 60.0 * rate_hz - 1e-9))


def filter_taps(answer, *, rt60_s: float = RT60_S, target_db: float = TARGET_ERLE_DB,
                rate_hz: int = RATE_HZ) -> Feedback:
    """Exercise 9.2: the number of taps L (within one tap, or 0.5 %)."""
    if (fb := _unanswered(answer)) is not None:
        return fb
    value = as_number(answer, "L")
    if isinstance(value, Feedback):
        return value
    exp = needed_taps(rt60_s, target_db, rate_hz)
    if abs(value - exp) <= max(1.0, 0.005 * exp):
        return ok(f"Right: a filter of that many taps spans the first {target_db:g} dB of the decay. "
                  "A real room's direct sound carries a good share of the energy, so it may need "
                  "somewhat fewer; the chapter compares the rule with its simulated office.")
    t_ms = exp / rate_hz * 1000

    def near(x):
        return math.isclose(value, x, rel_tol=0.01)

    if near(rt60_s * rate_hz):
        hint = ("That filter spans the whole RT60, a 60 dB decay: the target asks for less. "
                "The decay is a straight line in dB, so the time scales with the dB needed.")
    elif near(rt60_s * 60.0 / target_db * rate_hz):
        hint = "The ratio is upside down: the fewer dB you need, the shorter the filter (time = RT60 × dB needed / 60)."
    elif near(exp / 2) or near(exp * 2):
        hint = "Count the taps at the sample rate the exercise gives."
    elif near(t_ms) or near(t_ms / 1000):
        hint = "The answer is a number of taps (samples at the sample rate), not a time."
    else:
        hint = "Find the time at which the energy still to come is the target below the total, then count samples."
    return fail(f"L is {rough_factor(value, exp)}.", hint)


# -- 9.3 the decision-directed Wiener gain --------------------------------------------------------
WIENER_A = 0.98            # the decision-directed smoothing of exercise 9.3 (Ephraim & Malah 1984)
WIENER_FLOOR_DB = -12.0    # the gain floor of rtlib.audio.noise.WienerFilter


def wiener_inputs():
    """``(prev_clean_power, power, noise_psd)``: seeded spectra of 129 bins, noise-only and speech bins mixed."""
    rng = np.random.default_rng(93)
    noise = 0.01 * (1.0 + rng.random(129))
    power = noise * rng.exponential(1.0, 129)
    power[40:60] *= 30.0                                  # a band where speech dominates
    prev = np.where(np.arange(129) % 3 == 0, 0.0, power * rng.random(129))
    return prev, power, noise


def reference_wiener_gain(prev_clean_power, power, noise_psd, a: float = WIENER_A,
                          floor_db: float = WIENER_FLOOR_DB, *, slip: str | None = None):
    """The rule of exercise 9.3 (``slip`` builds the typical mistakes the check names)."""
    prev, p, n = (np.asarray(v, dtype=np.float64) for v in (prev_clean_power, power, noise_psd))
    gamma = p / n
    ml = gamma if slip == "no_minus_one" else np.maximum(gamma - 1.0, 0.0)
    if slip == "no_clip":
        ml = gamma - 1.0
    if slip == "swap":
        xi = (1 - a) * prev / n + a * ml
    else:
        xi = a * prev / n + (1 - a) * ml
    g = xi / (1.0 + xi)
    if slip == "no_floor":
        return xi, g
    floor = 10.0 ** (floor_db / (10.0 if slip == "power_floor" else 20.0))
    return xi, np.maximum(g, floor)


def wiener_gain(func) -> Feedback:
    """Exercise 9.3: ``func(prev_clean_power, power, noise_psd) -> (xi, gain)``, arrays per bin."""
    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail(f"wiener_gain should be a function, got {type(func).__name__}.")
    prev, power, noise = wiener_inputs()
    try:
        got = func(prev.copy(), power.copy(), noise.copy())
    except Exception as exc:
        return fail(f"Your function raised {type(exc).__name__}: {exc}.",
                    "It takes three arrays (one value per frequency bin) and returns (xi, gain).")
    if got is None:
        return fail("Your function returns None: it should return the pair (xi, gain).")
    if not (isinstance(got, tuple) and len(got) == 2):
        return fail("Return two arrays, as a tuple: the a-priori SNR xi and the gain, one value per bin.")
    try:
        xi, g = (np.asarray(v, dtype=np.float64) for v in got)
    except (TypeError, ValueError):
        return fail("xi and gain should be arrays of numbers, one per bin.")
    if xi.shape != power.shape or g.shape != power.shape:
        return fail(f"xi and gain should each hold one value per bin ({len(power)}), "
                    f"got shapes {xi.shape} and {g.shape}.")
    xi_ref, g_ref = reference_wiener_gain(prev, power, noise)
    xi_ok = np.allclose(xi, xi_ref, rtol=1e-9, atol=1e-12)
    g_ok = np.allclose(g, g_ref, rtol=1e-9, atol=1e-12)
    if xi_ok and g_ok:
        return ok("Right: the decision-directed a-priori SNR and the floored Wiener gain, bin by bin, "
                  "as rtlib.audio.noise.WienerFilter computes them.")
    hints = {
        "no_minus_one": "The instantaneous estimate of the a-priori SNR is γ − 1 (the noisy power holds the noise "
                        "too), not the a-posteriori SNR γ itself.",
        "no_clip": "γ − 1 goes negative in bins where the power dips below the noise estimate: keep max(γ − 1, 0).",
        "swap": "The weights are swapped: a (close to 1) goes with the previous frame's clean estimate, 1 − a with "
                "the new instantaneous estimate.",
        "no_floor": "The gain must never drop below the floor (a gain in amplitude: 10^(floor_db / 20)).",
        "power_floor": "The floor is a gain on the amplitude: 10^(floor_db / 20), not 10^(floor_db / 10).",
    }
    for slip, hint in hints.items():
        xs, gs = reference_wiener_gain(prev, power, noise, slip=slip)
        if np.allclose(xi, xs, rtol=1e-9, atol=1e-12) and np.allclose(g, gs, rtol=1e-9, atol=1e-12):
            return fail("Not right yet.", hint)
    if xi_ok:
        if np.allclose(g, np.sqrt(g_ref), rtol=1e-9, atol=1e-12):
            return fail("xi is right; the gain is not.", "The Wiener gain is ξ / (1 + ξ) itself, not its square root.")
        return fail("xi is right; the gain is not yet.", "gain = max(ξ / (1 + ξ), 10^(floor_db / 20)).")
    bad = int(np.flatnonzero(~np.isclose(xi, xi_ref, rtol=1e-9, atol=1e-12))[0])
    return fail(f"xi is not right yet (first wrong bin: {bad}).",
                "ξ = a · prev_clean_power / N + (1 − a) · max(power / N − 1, 0).")
