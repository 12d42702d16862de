"""Checks for notebooks/09_echo_noise.ipynb (echo cancellation and noise suppression).

Each check says what is wrong and never the expected value.  An unanswered exercise
(``None``) gets "not answered yet".

- :func:`nlms_step`: exercise 9.1, one NLMS update, compared with
  :func:`rtlib.audio.nlms.nlms_update` on fixed inputs (one of them a silent far end);
- :func:`filter_taps`: exercise 9.2, the filter length for a room of a given RT60;
- :func:`wiener_gain`: exercise 9.3, the decision-directed a-priori SNR and the Wiener
  gain of :class:`rtlib.audio.noise.WienerFilter`, on fixed spectra;
- :data:`canceller_design`: exercise 9.4 (design, staged hints), the filter length, step
  size and NCC double-talk threshold of an FDAF canceller, judged by running it on a call
  with double talk.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import Feedback, StagedCheck, as_number, design_settings, fail, ok, out_of_range, rough_factor


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


# -- 9.4 (design): a canceller that converges and survives double talk ---------------------------
# 8 s of a call in the default room (RT60 0.3 s) at 16 kHz, noise 40 dB below the echo; the
# near end talks from 4.0 to 5.5 s, 6 dB above the echo.
DESIGN_SECONDS, DESIGN_RT60_S, DESIGN_SEED = 8.0, 0.3, 0
DESIGN_DOUBLE_TALK_S = (4.0, 5.5)
DESIGN_SER_DB, DESIGN_SNR_DB = 6.0, 40.0
DESIGN_ERLE_DB = 20.0        # the echo left must be this far below the echo, ...
DESIGN_CONVERGE_S = 3.0      # ... from at most this long after the call starts, ...
DESIGN_AFTER_S = 1.5         # ... and on average over this long after the near end stops
FILTER_BLOCK_MS = 16.0       # the FDAF's block: filter lengths are whole blocks
FILTER_RANGE_MS = (16.0, 512.0)
DESIGN_SLACK_MS = 16.0       # a passing filter may be one block longer than the shortest found
STEP_RANGE = (0.01, 1.9)
#: The settings with which the check looks for the shortest filter that meets the targets.
REFERENCE_STEPS = (0.6,)
REFERENCE_THRESHOLDS = (0.95, 0.98)


@lru_cache(maxsize=1)
def _design_scene():
    from rtlib.audio.echo_scenes import echo_scene

    return echo_scene(DESIGN_SECONDS, rate_hz=RATE_HZ, rt60_s=DESIGN_RT60_S, snr_db=DESIGN_SNR_DB,
                      double_talk_s=DESIGN_DOUBLE_TALK_S, ser_db=DESIGN_SER_DB, seed=DESIGN_SEED)


def erle_bound_db(filter_ms: float) -> float:
    """The best ERLE [dB] a filter of ``filter_ms`` can reach in the design's room: the energy of
    the echo path over the energy of its tail beyond the filter (section 3)."""
    h = _design_scene().rir
    taps = int(round(filter_ms / 1000 * RATE_HZ))
    tail = float(np.sum(h[taps:] ** 2))
    return math.inf if tail == 0 else float(10 * np.log10(np.sum(h ** 2) / tail))


@lru_cache(maxsize=256)
def _canceller_run(filter_ms: float, step: float, ncc_threshold: float | None) -> dict:
    from rtlib.audio.dtd import DoubleTalkCanceller, NccDetector
    from rtlib.audio.fdaf import FdafCanceller
    from rtlib.audio.metrics import convergence_time_s, erle_db_over_time, mean_erle_db

    sc = _design_scene()
    fdaf = FdafCanceller(filter_ms, RATE_HZ, step)
    c = fdaf if ncc_threshold is None else DoubleTalkCanceller(fdaf, NccDetector(RATE_HZ, ncc_threshold))
    n = fdaf.block_size
    e = np.zeros(len(sc.far))
    for i in range(0, len(sc.far) - n + 1, n):
        e[i:i + n] = c.process(sc.far[i:i + n], sc.mic[i:i + n])
    left = e - sc.near - sc.noise  # the echo still in what goes back to the far end
    t0, t1 = DESIGN_DOUBLE_TALK_S
    t_s, erle = erle_db_over_time(sc.echo, left, RATE_HZ)
    single = t_s <= t0
    frozen = np.array(c.decisions if ncc_threshold is not None else [False] * (len(sc.far) // n))
    block_t = (np.arange(frozen.size) + 1) * n / RATE_HZ
    return {"converged_s": convergence_time_s(t_s[single], erle[single], DESIGN_ERLE_DB),
            "erle_before_db": mean_erle_db(sc.echo, left, RATE_HZ, t0 - 1.0, t0),
            "erle_after_db": mean_erle_db(sc.echo, left, RATE_HZ, t1, t1 + DESIGN_AFTER_S),
            "frozen_single_talk": float(np.mean(frozen[block_t <= t0])),
            "frozen_double_talk": float(np.mean(frozen[(block_t > t0) & (block_t <= t1)])),
            "erle_bound_db": erle_bound_db(filter_ms)}


def simulate_canceller(filter_ms: float, step: float, ncc_threshold: float | None) -> dict:
    """Exercise 9.4: the FDAF canceller (``filter_ms``, ``step``) with an NCC double-talk
    detector of ``ncc_threshold`` (None: no detector) on the design's call.

    Returns ``converged_s`` (from when on the ERLE stays at or above 20 dB before the
    double talk; inf if never), ``erle_before_db`` (the second before it), ``erle_after_db``
    (the 1.5 s after it), the shares of blocks the detector froze in single and in
    double talk, and the room's ``erle_bound_db`` for the filter length.  ERLE here
    compares the echo with the echo left in the output (the near talker and the noise
    taken out), so double talk does not inflate it.  Used by the check and free for sweeps.
    """
    fl = _check_filter_ms(filter_ms)
    if isinstance(step, bool) or not isinstance(step, (int, float, np.integer, np.floating)) \
            or not STEP_RANGE[0] <= float(step) <= STEP_RANGE[1]:
        raise ValueError(f"step must be a number in [{STEP_RANGE[0]:g}, {STEP_RANGE[1]:g}], got {step!r}")
    if ncc_threshold is not None and (isinstance(ncc_threshold, bool) or not isinstance(
            ncc_threshold, (int, float, np.integer, np.floating)) or not 0 < float(ncc_threshold) < 1):
        raise ValueError(f"ncc_threshold must be None (no detector) or a number in (0, 1), got {ncc_threshold!r}")
    thr = None if ncc_threshold is None else round(float(ncc_threshold), 4)
    return dict(_canceller_run(fl, round(float(step), 4), thr))


def _check_filter_ms(filter_ms) -> float:
    lo, hi = FILTER_RANGE_MS
    if isinstance(filter_ms, bool) or not isinstance(filter_ms, (int, float, np.integer, np.floating)) \
            or not lo <= float(filter_ms) <= hi or float(filter_ms) % FILTER_BLOCK_MS:
        raise ValueError(f"filter_ms must be a multiple of {FILTER_BLOCK_MS:g} ms in [{lo:g}, {hi:g}], "
                         f"got {filter_ms!r}")
    return float(filter_ms)


def _meets(r: dict) -> bool:
    return r["converged_s"] <= DESIGN_CONVERGE_S and r["erle_after_db"] >= DESIGN_ERLE_DB


@lru_cache(maxsize=1)
def shortest_filter_ms() -> float:
    """The shortest filter (whole blocks) with which the reference settings meet both targets.

    Lengths are tried from the shortest whose ERLE bound reaches the target, with every
    step and threshold of :data:`REFERENCE_STEPS` x :data:`REFERENCE_THRESHOLDS`.  A design
    with other settings may do with less; it passes then too.
    """
    f = FILTER_BLOCK_MS
    while f <= FILTER_RANGE_MS[1]:
        if erle_bound_db(f) >= DESIGN_ERLE_DB:
            for step in REFERENCE_STEPS:
                for thr in REFERENCE_THRESHOLDS:
                    if _meets(simulate_canceller(f, step, thr)):
                        return f
        f += FILTER_BLOCK_MS
    return math.inf


def _canceller_values(design):
    values = design_settings(design, ("filter_ms", "step", "ncc_threshold"), numbers=("filter_ms", "step"),
                             note="ncc_threshold=None for no detector")
    if isinstance(values, Feedback):
        return values
    fl, step, thr = values["filter_ms"], values["step"], values["ncc_threshold"]
    if 0 < fl < 1.0:
        return fail("filter_ms looks like seconds: it is asked in milliseconds.")
    if fl > 2000:
        return fail("filter_ms looks like a number of taps: it is asked in milliseconds (16 taps per ms here).")
    bad = out_of_range("filter_ms", fl, *FILTER_RANGE_MS, "ms")
    if bad is not None:
        return bad
    if fl % FILTER_BLOCK_MS:
        return fail(f"filter_ms should be a whole number of the FDAF's {FILTER_BLOCK_MS:g} ms blocks.")
    bad = out_of_range("step", step, *STEP_RANGE)
    if bad is not None:
        return bad
    if thr is not None:
        thr = as_number(thr, "ncc_threshold")
        if isinstance(thr, Feedback):
            return thr
        if not 0 < thr < 1:
            return fail(f"ncc_threshold should be between 0 and 1 (a correlation), or None, got {thr:g}.")
    return fl, step, thr


def _canceller_design(design) -> Feedback:
    values = _canceller_values(design)
    if isinstance(values, Feedback):
        return values
    fl, step, thr = values
    r = simulate_canceller(fl, step, thr)
    conv = ("never held 20 dB before the double talk" if math.isinf(r["converged_s"])
            else f"held 20 dB from {r['converged_s']:.1f} s on")
    outcome = (f"the canceller {conv} (ERLE {r['erle_before_db']:.1f} dB in the second before the near end "
               f"talks), {r['erle_after_db']:.1f} dB in the {DESIGN_AFTER_S:g} s after")
    if thr is not None:
        outcome += (f"; the detector froze {r['frozen_double_talk']:.0%} of the double-talk blocks and "
                    f"{r['frozen_single_talk']:.0%} of the single-talk ones")
    if _meets(r):
        if fl <= shortest_filter_ms() + DESIGN_SLACK_MS:
            return ok(f"Both targets met with a {fl:g} ms filter: {outcome}.")
        return fail(f"Both targets met ({outcome}), but a shorter filter meets them too, for less computation.",
                    "Which part of the room's echo does the filter still need to model for 20 dB?",
                    "The filter only has to span the part of the echo path whose tail is 20 dB below the "
                    "total (ch09.erle_bound_db gives it for each length) plus a margin for what adaptation "
                    "misses; every extra block costs computation and slows the learning.")
    if r["converged_s"] > DESIGN_CONVERGE_S:
        slow = f"Too slow to converge, or never: {outcome}."
        if r["erle_bound_db"] < DESIGN_ERLE_DB + 5:
            return fail(slow, "How much of the echo can a filter of this length model at all?",
                        "The echo arriving after the filter's span stays in the output: with this length the "
                        f"room allows at most {r['erle_bound_db']:.1f} dB (ch09.erle_bound_db), and adaptation "
                        "only approaches that bound slowly. Lengthen the filter.")
        if step < 0.4:
            return fail(slow, "How far does each update move the filter?",
                        "A small step averages the noise out but needs many blocks to learn: take a larger one.")
        if step > 1.0:
            return fail(slow, "Look at where the ERLE settles, not only how fast it rises: what does a large step "
                        "do once the filter is near the echo path?",
                        "A large step follows every error, noise and all, so the filter jitters around the echo "
                        "path (misadjustment) and never settles deep enough: take a smaller one.")
        if thr is not None and r["frozen_single_talk"] > 0.2:
            return fail(slow, "Is the filter allowed to learn while only the far end talks?",
                        "A threshold this strict declares double talk even in single talk, while the filter is "
                        "still far from the echo path (its estimate correlates poorly): the filter is frozen "
                        "when it should learn. Loosen it a little.")
        return fail(slow, "The filter learns, but not in time: which setting sets the speed, and which the depth?",
                    "Speed comes from the step (FDAF learns fastest near 1, less noisily below) and depth from "
                    "the filter's length: try another step, or a slightly longer filter.")
    if thr is None:
        return fail(f"The echo comes back after the double talk: {outcome}.",
                    "What does the filter learn while the near end talks?",
                    "During double talk the error is mostly the near talker's voice, and the filter adapts "
                    "to it, away from the echo path: a double-talk detector must freeze it.")
    return fail(f"The echo comes back after the double talk: {outcome}.",
                "The detector let the filter adapt during much of the double talk: what does its threshold "
                "compare?",
                "NCC declares double talk when the microphone correlates less than the threshold with the echo "
                "estimate; a near talker 6 dB above the echo lowers that correlation only so far, so a "
                "threshold too low misses part of the double talk, and every missed block undoes learning. Raise "
                "it, but not so far that it fires in single talk.")


canceller_design = StagedCheck(_canceller_design)
canceller_design.__doc__ = """Exercise 9.4 (design): ``{'filter_ms': ..., 'step': ..., 'ncc_threshold': ...}``.

The design is run (:func:`simulate_canceller`): an FDAF canceller with an NCC double-talk
detector on 8 s of a call in the RT60 0.3 s room, the near end talking from 4.0 to 5.5 s.
It passes when the ERLE holds 20 dB from at most 3 s on, is back at 20 dB or more in the
1.5 s after the double talk, and the filter is at most one 16 ms block longer than the
shortest with which the check's reference settings meet both targets.  The feedback shows the design's own measured
outcome; hints come in stages (``hint=True``).
"""
