"""The interactive experiments of chapter 09 (echo cancellation and noise suppression).

Each widget is a pure function of its sliders plus a plot, registered with its ranges
(see :mod:`rtlib.viz.experiments`).  They all run at 8 kHz on a few seconds of the
course's speech, so that a slider move (the canceller or suppressor run again, and the
figure) stays under the course's 200 ms bar; the rooms and signals that do not depend
on a slider are built once and cached.

- :func:`echo_nlms_step`: NLMS step size mu against convergence speed and the
  misalignment it settles at (misadjustment);
- :func:`echo_filter_length`: filter length against the room's reverberation time:
  the ERLE a filter of L taps can reach at best, and what an FDAF of that length reaches;
- :func:`echo_double_talk`: a near-end talker in the middle of the call, with no
  detector, the Geigel detector or the normalised cross-correlation detector;
- :func:`noise_suppressor`: spectral subtraction against the decision-directed Wiener
  filter, with the SNR, the over-subtraction and the floor.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.viz.experiments import Choice, Param, experiment

NB = "09_echo_noise"
RATE_HZ = 8000            # every widget runs at 8 kHz: a slider move must stay under 200 ms
FRAME = 80                # 10 ms frames for the time-domain canceller
STEP_SECONDS = 4.0        # the step-size widget's call
STEP_FILTER_MS = 64.0     # its filter: 512 taps at 8 kHz
STEP_SNR_DB = 30.0        # microphone noise 30 dB below the echo: what bounds the ERLE
STEP_RT60_S = 0.15        # a damped room, so that 64 ms holds most of its echo path
DT_SECONDS = 6.0          # the double-talk widget's call ...
DT_SPAN_S = (3.0, 4.5)    # ... with the near end talking from 3 to 4.5 s
DT_FILTER_MS = 64.0
NS_SECONDS = 4.0          # the noise-suppression widget's clip
RT60_VALUES_S = (0.1, 0.2, 0.3, 0.4, 0.5)
DETECTORS = ("none", "geigel", "ncc")
METHODS = ("subtract", "wiener")


# -- shared, cached signals ------------------------------------------------------------------
@lru_cache(maxsize=16)
def _scene(seconds: float, rt60_s: float = 0.3, snr_db: float = STEP_SNR_DB, far_kind: str = "speech",
           double_talk_s: tuple | None = None):
    from rtlib.audio.echo_scenes import echo_scene

    return echo_scene(seconds, rate_hz=RATE_HZ, rt60_s=rt60_s, snr_db=snr_db, far_kind=far_kind,
                      double_talk_s=double_talk_s, ser_db=0.0, seed=1)


def _check_choice(name: str, value, options) -> None:
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")


# -- 1. NLMS step size -----------------------------------------------------------------------
def run_nlms_tracked(far, mic, rir, *, step: float, filter_ms: float, rate_hz: int = RATE_HZ,
                     chunk_s: float = 0.1) -> dict:
    """Run an NLMS canceller over a call, noting the misalignment every ``chunk_s``.

    Returns the error signal, the ERLE over time (20 ms frames) and the misalignment
    against the first L taps of the true path ``rir`` (the part a filter of L taps can
    learn) after each chunk.
    """
    from rtlib.audio.metrics import erle_db_over_time, misalignment_db
    from rtlib.audio.nlms import NlmsCanceller

    c = NlmsCanceller(filter_ms, rate_hz, step)
    n = int(round(chunk_s * rate_hz))
    e = np.empty(len(far))
    t_mis, mis = [], []
    for i in range(0, len(far), n):
        e[i:i + n] = c.process(far[i:i + n], mic[i:i + n])
        t_mis.append((i + len(far[i:i + n])) / rate_hz)
        mis.append(misalignment_db(rir, c.weights, length=c.taps))
    t_s, erle = erle_db_over_time(mic, e, rate_hz)
    return {"error": e, "t_s": t_s, "erle_db": erle, "t_mis_s": np.array(t_mis), "mis_db": np.array(mis),
            "taps": c.taps}


def _settle(t_s, values, last_s: float = 1.0) -> float:
    """The mean of ``values`` over the last ``last_s`` seconds (NaN frames left out)."""
    keep = (t_s >= t_s[-1] - last_s) & ~np.isnan(values)
    return float(np.mean(values[keep]))


def _first_below(t_s, values, level: float) -> float:
    """The first time ``values`` is at or below ``level`` and stays there; inf if never."""
    below = values <= level
    if not below[-1]:
        return math.inf
    above = np.flatnonzero(~below)
    return float(t_s[0] if len(above) == 0 else t_s[above[-1] + 1])


@lru_cache(maxsize=64)
def _nlms_step_run(step: float) -> dict:
    sc = _scene(STEP_SECONDS, STEP_RT60_S)
    r = run_nlms_tracked(sc.far, sc.mic, sc.rir, step=step, filter_ms=STEP_FILTER_MS)
    r["final_mis_db"] = _settle(r["t_mis_s"], r["mis_db"])
    r["final_erle_db"] = _settle(r["t_s"], r["erle_db"])
    r["t_to_minus10_s"] = _first_below(r["t_mis_s"], r["mis_db"], -10.0)
    return r


@experiment(
    "echo_nlms_step",
    plot=lambda r: _plot_nlms_step(r),
    notebook=NB,
    step=Param(0.5, 0.05, 1.95, 0.05, label="NLMS step size μ"),
)
def echo_nlms_step(step) -> dict:
    """NLMS with step size ``step`` (mu, stable for 0 < mu < 2) on 4 s of far-end speech.

    Room: rtlib.audio.echo_scenes' office, damped to RT60 0.15 s, at 8 kHz; a 64 ms filter;
    microphone noise 30 dB below the echo.  Returns the ERLE over time, the
    misalignment every 0.1 s, the time it first reaches -10 dB for good, and the
    misalignment and ERLE it settles at (mean over the last second).  The thin
    reference curve is mu = 0.5.
    """
    if not 0.0 < step < 2.0:
        raise ValueError(f"step must be in (0, 2), got {step!r}")
    r = dict(_nlms_step_run(float(step)))
    r["step"] = float(step)
    r["reference"] = _nlms_step_run(0.5)
    return r


def _plot_nlms_step(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax_e, ax_m) = new_figure(1, 2, figsize=(10, 3.8))
    ref = r["reference"]
    if r["step"] != 0.5:
        ax_e.plot(ref["t_s"], ref["erle_db"], color=COLORS["neutral"], lw=1, label="μ = 0.5")
        ax_m.plot(ref["t_mis_s"], ref["mis_db"], color=COLORS["neutral"], lw=1, label="μ = 0.5")
    ax_e.plot(r["t_s"], r["erle_db"], color=COLORS["rtc"], lw=1.6, label=f"μ = {r['step']:g}")
    ax_m.plot(r["t_mis_s"], r["mis_db"], color=COLORS["rtc"], lw=1.8, label=f"μ = {r['step']:g}")
    ax_m.axhline(-10, color=COLORS["bad"], ls=":", lw=1, label="−10 dB")
    ax_e.set_ylim(-10, 50)
    ax_m.set_ylim(-30, 5)
    t10 = r["t_to_minus10_s"]
    # the result goes inside the axes, the title keeps one length: a title that grows with the
    # result (\"never stays below\") no longer fits the kept layout and costs a fresh one
    reach = f"below −10 dB for good after {t10:.1f} s" if math.isfinite(t10) else "never below −10 dB for good"
    ax_m.text(0.98, 0.95, reach, transform=ax_m.transAxes, ha="right", va="top", fontsize=9,
              bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": "none", "alpha": 0.85})
    label_axes(ax_e, "time [s]", "ERLE [dB]", f"ERLE, last second: {r['final_erle_db']:.1f} dB")
    label_axes(ax_m, "time [s]", "misalignment [dB]", f"Misalignment, last second: {r['final_mis_db']:.1f} dB")
    legend(ax_e, where="below", ncols=2)
    legend(ax_m, where="below", ncols=3)
    return fig


# -- 2. filter length against reverberation --------------------------------------------------
def erle_bound_db(rir, taps) -> np.ndarray:
    """The best ERLE a filter of ``taps`` taps can reach on white far-end input, in dB.

    A perfect filter of L taps cancels the first L taps of the echo path; the tail
    beyond it stays: ERLE_max(L) = 10 log10(sum h^2 / sum_{n >= L} h^2).  (For
    coloured input such as speech the tail's share differs a little; the trend does not.)
    """
    h2 = np.asarray(rir, dtype=np.float64) ** 2
    taps = np.atleast_1d(np.asarray(taps))
    if np.any(taps < 1):
        raise ValueError(f"taps must all be >= 1, got {taps!r}")
    tail = np.concatenate((np.cumsum(h2[::-1])[::-1], [0.0]))   # tail[L] = sum_{n >= L} h^2
    rest = tail[np.minimum(taps, len(h2)).astype(int)]
    return 10.0 * np.log10(h2.sum() / np.maximum(rest, h2.sum() * 1e-12))


def energy_decay_db(rir) -> np.ndarray:
    """Schroeder's backward-integrated energy decay of ``rir``, in dB re its total energy."""
    h2 = np.asarray(rir, dtype=np.float64) ** 2
    tail = np.cumsum(h2[::-1])[::-1]
    return 10.0 * np.log10(np.maximum(tail / tail[0], 1e-12))


@lru_cache(maxsize=1)
def _all_rooms() -> None:
    """Build the filter-length widget's rooms once (0.7 s on the course machine, mostly RT60 0.5 s)."""
    for rt in RT60_VALUES_S:
        _scene(3.0, rt, 80.0, "white")


@lru_cache(maxsize=256)
def _fdaf_erle(filter_ms: float, rt60_s: float) -> float:
    from rtlib.audio.fdaf import FdafCanceller
    from rtlib.audio.metrics import mean_erle_db
    from rtlib.audio.nlms import run_frames

    sc = _scene(3.0, rt60_s, 80.0, "white")
    c = FdafCanceller(filter_ms, RATE_HZ, 0.5)
    e = run_frames(c, sc.far, sc.mic, frame_size=c.block_size)
    return mean_erle_db(sc.mic, e, RATE_HZ, 2.0)


@experiment(
    "echo_filter_length",
    plot=lambda r: _plot_filter_length(r),
    notebook=NB,
    filter_ms=Param(64.0, 16.0, 256.0, 16.0, label="filter length", unit="ms"),
    rt60_s=Param(0.3, 0.1, 0.5, 0.1, label="room RT60", unit="s"),
)
def echo_filter_length(filter_ms, rt60_s) -> dict:
    """How much of the echo a filter of ``filter_ms`` can cancel in a room of ``rt60_s``.

    The office of rtlib.audio.echo_scenes at 8 kHz; the room's absorption set for
    ``rt60_s`` (in 0.1 s steps).  Returns the room impulse response's energy decay,
    the best ERLE for every filter length up to 256 ms (:func:`erle_bound_db`), and the
    ERLE an FDAF canceller of ``filter_ms`` reaches on 3 s of white far-end noise
    (over the last second; noise 80 dB below the echo).
    """
    rt = round(float(rt60_s), 3)
    if not any(math.isclose(rt, v) for v in RT60_VALUES_S):
        raise ValueError(f"rt60_s must be one of {list(RT60_VALUES_S)} s, got {rt60_s!r}")
    if not 16.0 <= filter_ms <= 256.0:
        raise ValueError(f"filter_ms must be in [16, 256] ms, got {filter_ms!r}")
    rt = min(RT60_VALUES_S, key=lambda v: abs(v - rt))
    _all_rooms()                                  # every RT60 at once: later slider moves stay fast
    sc = _scene(3.0, rt, 80.0, "white")
    ms_axis = np.arange(2.0, 256.0 + 1e-9, 2.0)
    taps_axis = np.round(ms_axis * RATE_HZ / 1000).astype(int)
    taps = int(round(filter_ms * RATE_HZ / 1000))
    return {"filter_ms": float(filter_ms), "rt60_s": rt, "taps": taps, "rir": sc.rir,
            "decay_db": energy_decay_db(sc.rir), "ms_axis": ms_axis, "bound_db": erle_bound_db(sc.rir, taps_axis),
            "bound_at_db": float(erle_bound_db(sc.rir, taps)[0]), "fdaf_erle_db": _fdaf_erle(float(filter_ms), rt)}


def _plot_filter_length(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax_d, ax_b) = new_figure(1, 2, figsize=(10, 3.8))
    t_ms = np.arange(len(r["decay_db"])) * 1000.0 / RATE_HZ
    ax_d.plot(t_ms, r["decay_db"], color=COLORS["rtc"], lw=1.6, label="energy still to come")
    ax_d.axvspan(r["filter_ms"], t_ms[-1], color=COLORS["bad"], alpha=0.12, lw=0, label="beyond the filter")
    ax_d.axvline(r["filter_ms"], color=COLORS["bad"], lw=1.2)
    ax_d.set_ylim(-70, 3)
    ax_d.set_xlim(0, min(t_ms[-1], 700))
    label_axes(ax_d, "time after the loudspeaker [ms]", "energy decay [dB]",
               f"Room RT60 {r['rt60_s']:g} s: the tail beyond {r['filter_ms']:g} ms")
    ax_b.plot(r["ms_axis"], r["bound_db"], color=COLORS["neutral"], lw=1.6, label="best possible (tail left)")
    ax_b.plot([r["filter_ms"]], [r["fdaf_erle_db"]], "o", color=COLORS["rtc"], ms=8, label="FDAF, measured")
    ax_b.set_ylim(0, 80)
    label_axes(ax_b, "filter length [ms]", "ERLE [dB]",
               f"{r['filter_ms']:g} ms: at best {r['bound_at_db']:.1f} dB, FDAF {r['fdaf_erle_db']:.1f} dB")
    legend(ax_d, where="below", ncols=2)
    legend(ax_b, where="below", ncols=2)
    return fig


# -- 3. double talk ---------------------------------------------------------------------------
def make_detector(detector: str, rate_hz: int = RATE_HZ):
    """None, a Geigel or an NCC detector with the library's defaults."""
    from rtlib.audio.dtd import GeigelDetector, NccDetector

    _check_choice("detector", detector, DETECTORS)
    return {"none": None, "geigel": GeigelDetector(rate_hz), "ncc": NccDetector(rate_hz)}[detector]


def run_double_talk(far, mic, rir, detector: str, *, filter_ms: float = DT_FILTER_MS,
                    rate_hz: int = RATE_HZ, step: float = 0.5) -> dict:
    """FDAF over a call, with ``detector`` ("none", "geigel", "ncc") freezing adaptation.

    Returns the error, the misalignment against the learnable first L taps of ``rir``
    after every block, and the detector's decision for every block.
    """
    from rtlib.audio.dtd import DoubleTalkCanceller
    from rtlib.audio.fdaf import FdafCanceller
    from rtlib.audio.metrics import misalignment_db

    fdaf = FdafCanceller(filter_ms, rate_hz, step)
    det = make_detector(detector, rate_hz)
    c = fdaf if det is None else DoubleTalkCanceller(fdaf, det)
    n = fdaf.block_size
    e = np.zeros(len(far))
    t, mis, frozen = [], [], []
    for i in range(0, len(far) - n + 1, n):
        e[i:i + n] = c.process(far[i:i + n], mic[i:i + n])
        t.append((i + n) / rate_hz)
        mis.append(misalignment_db(rir, fdaf.weights, length=fdaf.taps))
        frozen.append(bool(c.decisions[-1]) if det is not None else False)
    return {"error": e, "t_s": np.array(t), "mis_db": np.array(mis), "frozen": np.array(frozen)}


@lru_cache(maxsize=128)
def _dt_run(detector: str, ser_db: float) -> dict:
    sc = _scene(DT_SECONDS, 0.3, 40.0, "speech", DT_SPAN_S)
    gain = 10.0 ** (ser_db / 20.0)
    near = sc.near * gain                     # the scene's near end is at 0 dB SER: scale it
    mic = sc.echo + near + sc.noise
    r = run_double_talk(sc.far, mic, sc.rir, detector)
    t = r["t_s"]
    dt = (t > DT_SPAN_S[0]) & (t <= DT_SPAN_S[1] + 0.5)
    before = (t > DT_SPAN_S[0] - 0.5) & (t <= DT_SPAN_S[0])
    single = (t <= DT_SPAN_S[0]) | (t > DT_SPAN_S[1])
    r.update(mic=mic, near=near, echo=sc.echo, far=sc.far,
             mis_before_db=float(np.mean(r["mis_db"][before])),
             worst_mis_db=float(np.max(r["mis_db"][dt])),
             frozen_in_dt=float(np.mean(r["frozen"][(t > DT_SPAN_S[0]) & (t <= DT_SPAN_S[1])])),
             frozen_in_single=float(np.mean(r["frozen"][single & (t > 1.0)])))
    return r


@experiment(
    "echo_double_talk",
    plot=lambda r: _plot_double_talk(r),
    notebook=NB,
    detector=Choice("none", DETECTORS, label="double-talk detector"),
    ser_db=Param(6.0, -6.0, 12.0, 1.0, label="near end above the echo", unit="dB"),
)
def echo_double_talk(detector, ser_db) -> dict:
    """A 6 s call, the near end talking from 3 to 4.5 s at ``ser_db`` above the echo.

    FDAF (64 ms, mu = 0.5) at 8 kHz, adapting always (``detector="none"``) or frozen by
    the Geigel or the NCC detector (rtlib.audio.dtd, default thresholds).  Returns the
    misalignment over time, its worst value from the start of double talk to 0.5 s
    after it, the mean just before, and the share of blocks frozen inside the
    double-talk span and in single talk (after the first second).
    """
    _check_choice("detector", detector, DETECTORS)
    if not -6.0 <= ser_db <= 12.0:
        raise ValueError(f"ser_db must be in [-6, 12] dB, got {ser_db!r}")
    r = dict(_dt_run(detector, float(ser_db)))
    r.update(detector=detector, ser_db=float(ser_db))
    return r


def _plot_double_talk(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax_s, ax_m) = new_figure(2, 1, figsize=(9, 5.2), sharex=True)
    step = 40                                       # 5 ms envelope
    def env(x):
        m = len(x) // step
        return np.sqrt(np.mean(x[: m * step].reshape(m, step) ** 2, axis=1))
    te = (np.arange(len(r["mic"]) // step) + 1) * step / RATE_HZ
    ax_s.plot(te, 20 * np.log10(env(r["echo"]) + 1e-6), color=COLORS["neutral"], lw=1, label="echo")
    ax_s.plot(te, 20 * np.log10(env(r["near"]) + 1e-6), color=COLORS["im"], lw=1, label="near-end talker")
    ax_s.set_ylim(-70, 0)
    for ax in (ax_s, ax_m):
        ax.axvspan(*DT_SPAN_S, color=COLORS["im"], alpha=0.10, lw=0)
    if r["detector"] != "none":
        t, f = r["t_s"], r["frozen"].astype(float)
        ax_m.fill_between(t, -40, -40 + 6 * f, step="pre", color=COLORS["accent"], alpha=0.35, lw=0,
                          label="adaptation frozen")
    ax_m.plot(r["t_s"], r["mis_db"], color=COLORS["rtc"], lw=1.6, label="misalignment")
    ax_m.set_ylim(-40, 15)
    label_axes(ax_s, "time [s]", "level [dB re full scale]",
               f"Near end {r['ser_db']:+g} dB against the echo, from {DT_SPAN_S[0]:g} to {DT_SPAN_S[1]:g} s")
    label_axes(ax_m, "time [s]", "misalignment [dB]",
               f"Detector: {r['detector']}; worst in double talk {r['worst_mis_db']:+.1f} dB "
               f"(before {r['mis_before_db']:.1f} dB)")
    legend(ax_s, where="outside")
    legend(ax_m, where="outside")
    return fig


# -- 4. noise suppression ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _clean() -> tuple[np.ndarray, np.ndarray]:
    from rtlib.audio.noise_scenes import speech_pauses
    from rtlib.media.clips import load_speech

    s = load_speech("en", RATE_HZ, seconds=NS_SECONDS, as_float=True)
    return s, speech_pauses(s, RATE_HZ)


@lru_cache(maxsize=64)
def _noisy(snr_db: float) -> np.ndarray:
    from rtlib.audio.noise_scenes import add_noise

    s, _ = _clean()
    return add_noise(s, snr_db, kind="white", rate_hz=RATE_HZ, seed=1)[0]


def suppress_params(method: str, alpha: float, beta_db: float, wiener_floor_db: float) -> dict:
    """The keyword arguments of rtlib.audio.noise.suppress for the widget's controls.

    Subtraction: over-subtraction ``alpha`` and a power floor beta = 10^(beta_db/10) of
    the noise estimate (-60 dB: none, Boll's rule); Wiener: the gain floor
    ``wiener_floor_db``.  Each method ignores the other's controls.
    """
    _check_choice("method", method, METHODS)
    if method == "subtract":
        return {"alpha": float(alpha), "beta": 0.0 if beta_db <= -60 else 10.0 ** (beta_db / 10.0)}
    return {"gain_floor_db": float(wiener_floor_db)}


@lru_cache(maxsize=256)
def _ns_run(method: str, snr_db: float, alpha: float, beta_db: float, wiener_floor_db: float) -> dict:
    from rtlib.audio.metrics import segmental_snr_db
    from rtlib.audio.noise import log_kurtosis_ratio, noise_reduction_db, suppress

    s, pauses = _clean()
    y = _noisy(snr_db)
    out = suppress(y, RATE_HZ, method, **suppress_params(method, alpha, beta_db, wiener_floor_db))
    settled = pauses & (np.arange(len(s)) >= RATE_HZ)        # after the first second of learning the noise
    return {"clean": s, "noisy": y, "out": out,
            "segsnr_in_db": segmental_snr_db(s, y, RATE_HZ), "segsnr_out_db": segmental_snr_db(s, out, RATE_HZ),
            "noise_reduction_db": noise_reduction_db(y, out, mask=settled),
            "log_kurtosis_ratio": log_kurtosis_ratio(y, out, RATE_HZ, mask=settled)}


@experiment(
    "noise_suppressor",
    plot=lambda r: _plot_noise(r),
    notebook=NB,
    method=Choice("subtract", METHODS, label="gain rule"),
    snr_db=Param(5.0, 0.0, 20.0, 1.0, label="input SNR", unit="dB"),
    alpha=Param(1.0, 1.0, 4.0, 0.5, label="subtraction: over-subtraction α"),
    beta_db=Param(-60.0, -60.0, 0.0, 2.0, label="subtraction: floor β", unit="dB"),
    wiener_floor_db=Param(-12.0, -30.0, 0.0, 1.0, label="Wiener: gain floor", unit="dB"),
)
def noise_suppressor(method, snr_db, alpha, beta_db, wiener_floor_db) -> dict:
    """4 s of the English clip plus white noise at ``snr_db``, 8 kHz, cleaned by ``method``.

    ``"subtract"``: power spectral subtraction with over-subtraction ``alpha`` and a
    floor beta = 10^(beta_db/10) of the noise power (-60 dB means no floor: Boll's rule
    at alpha = 1).  ``"wiener"``: the decision-directed Wiener filter with its gain kept
    above ``wiener_floor_db``.  Both use the minimum-statistics noise estimate.  Returns
    the segmental SNR before and after, the noise reduction and the log-kurtosis ratio
    (musical noise) in the speech pauses after the first second.
    """
    _check_choice("method", method, METHODS)
    for name, value, lo, hi in (("snr_db", snr_db, 0.0, 20.0), ("alpha", alpha, 1.0, 4.0),
                                ("beta_db", beta_db, -60.0, 0.0), ("wiener_floor_db", wiener_floor_db, -30.0, 0.0)):
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be in [{lo:g}, {hi:g}], got {value!r}")
    r = dict(_ns_run(method, float(snr_db), float(alpha), float(beta_db), float(wiener_floor_db)))
    r.update(method=method, snr_db=float(snr_db), alpha=float(alpha), beta_db=float(beta_db),
             wiener_floor_db=float(wiener_floor_db))
    return r


def _plot_noise(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import DBFS_LABEL, colorbar, spectrogram

    fig, (ax_in, ax_out) = new_figure(1, 2, figsize=(10, 3.8), sharey=True)
    spectrogram(ax_in, r["noisy"], RATE_HZ, vmin_db=-90, vmax_db=-20, bar=False)
    im = spectrogram(ax_out, r["out"], RATE_HZ, vmin_db=-90, vmax_db=-20, bar=False)
    colorbar(im, [ax_in, ax_out], DBFS_LABEL)
    beta = "no floor" if r["beta_db"] <= -60 else f"β {r['beta_db']:g} dB"
    name = {"subtract": f"subtraction, α = {r['alpha']:g}, {beta}",
            "wiener": f"Wiener, floor {r['wiener_floor_db']:g} dB"}[r["method"]]
    label_axes(ax_in, "time [s]", "frequency [kHz]",
               f"Noisy, {r['snr_db']:g} dB SNR: segSNR {r['segsnr_in_db']:.1f} dB")
    label_axes(ax_out, "time [s]", "frequency [kHz]",
               f"{name}: segSNR {r['segsnr_out_db']:.1f} dB\nnoise −{r['noise_reduction_db']:.1f} dB, "
               f"log-kurtosis ratio {r['log_kurtosis_ratio']:.2f}")
    ax_out.set_ylabel("")
    return fig


# -- the chapter's figures and tables, computed once -------------------------------------------------
def run_canceller(make, far, mic, frame: int = 256) -> dict:
    """Run the canceller ``make()`` builds over a call, timing it in CPU seconds.

    Returns the error realigned with the microphone signal (a residual echo
    suppressor's delay removed, the last samples zero), the CPU time and the canceller.
    """
    import time

    from rtlib.audio.nlms import run_frames

    c = make()
    t0 = time.process_time()
    e = run_frames(c, far, mic, frame)
    cpu_s = time.process_time() - t0
    n = getattr(c, "delay_samples", 0)
    if n:
        e = np.concatenate((e[n:], np.zeros(n)))
    return {"error": e, "cpu_s": cpu_s, "canceller": c}


def compare_cancellers(scene, filter_ms: float = 128.0, step: float = 0.5, converged_from_s: float = 6.0,
                       target_db: float = 20.0) -> dict:
    """NLMS, FDAF, FDAF + residual echo suppressor, Speex and Speex + its suppressor on ``scene``.

    Every canceller has a ``filter_ms`` filter and gets 16 ms frames.  For each: the error
    signal, ERLE over time, the ERLE from ``converged_from_s`` to the end, the time
    after which the smoothed ERLE stays above ``target_db``, and the speed in seconds of
    audio per CPU second.  Speex is left out (with the reason) if libspeexdsp is missing.
    """
    from rtlib.audio.fdaf import FdafCanceller
    from rtlib.audio.metrics import convergence_time_s, erle_db_over_time, mean_erle_db
    from rtlib.audio.nlms import NlmsCanceller
    from rtlib.audio.res import ResCanceller, ResidualEchoSuppressor
    from rtlib.audio.speex import SpeexEchoCanceller, SpeexUnavailable, load_speexdsp

    rate = scene.rate_hz
    makers = {
        "NLMS": lambda: NlmsCanceller(filter_ms, rate, step),
        "FDAF": lambda: FdafCanceller(filter_ms, rate, step),
        "FDAF+RES": lambda: ResCanceller(FdafCanceller(filter_ms, rate, step), ResidualEchoSuppressor(rate)),
        "Speex": lambda: SpeexEchoCanceller(16.0, filter_ms, rate),
        "Speex+RES": lambda: SpeexEchoCanceller(16.0, filter_ms, rate, residual=True),
    }
    missing = None
    try:
        load_speexdsp()
    except SpeexUnavailable as exc:
        missing = str(exc)
        makers = {k: v for k, v in makers.items() if not k.startswith("Speex")}
    frame = int(round(0.016 * rate))
    out = {}
    for name, make in makers.items():
        r = run_canceller(make, scene.far, scene.mic, frame)
        t_s, erle = erle_db_over_time(scene.mic, r["error"], rate)
        r.update(t_s=t_s, erle_db=erle, erle_after_db=mean_erle_db(scene.mic, r["error"], rate, converged_from_s),
                 converge_s=convergence_time_s(t_s, erle, target_db), x_real_time=scene.duration_s / r["cpu_s"])
        out[name] = r
    return {"results": out, "speex_missing": missing, "converged_from_s": converged_from_s,
            "target_db": target_db, "filter_ms": filter_ms}


def canceller_table_markdown(cmp: dict) -> str:
    """The comparison as a Markdown table: ERLE after convergence, convergence time, speed."""
    rows = ["| canceller | ERLE after convergence [dB] | time to stay above "
            f"{cmp['target_db']:g} dB [s] | speed [× real time] |", "| --- | ---: | ---: | ---: |"]
    for name, r in cmp["results"].items():
        conv = f"{r['converge_s']:.2f}" if math.isfinite(r["converge_s"]) else "never"
        rows.append(f"| {name} | {r['erle_after_db']:.1f} | {conv} | {r['x_real_time']:.0f} |")
    return "\n".join(rows)


def echo_path_figure(scene, rt60_s: float):
    """The echo path of ``scene`` (a room of ``rt60_s``): its impulse response and its energy decay."""
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    rate = scene.rate_hz
    fig, (ax_h, ax_d) = new_figure(1, 2, figsize=(11, 3.8))
    t_ms = np.arange(len(scene.rir)) * 1000.0 / rate
    ax_h.plot(t_ms, scene.rir, color=COLORS["rtc"], lw=0.7)
    ax_h.set_xlim(0, 300)
    label_axes(ax_h, "time after the loudspeaker [ms]", "impulse response h (amplitude)",
               "Loudspeaker to microphone: direct sound, then the room", unitless=("y",))
    decay = energy_decay_db(scene.rir)
    ax_d.plot(t_ms, decay, color=COLORS["rtc"], lw=1.6, label="energy still to come")
    slope = -60.0 / rt60_s * t_ms / 1000.0
    ax_d.plot(t_ms, slope, color=COLORS["neutral"], ls="--", lw=1.2, label="−60 dB per RT60")
    ax_d.set_ylim(-70, 3)
    ax_d.set_xlim(0, t_ms[-1])
    label_axes(ax_d, "time after the loudspeaker [ms]", "energy decay [dB]", "Schroeder decay curve")
    legend(ax_d, where="below", ncols=2)
    return fig


def erle_figure(cmp: dict, names=("NLMS", "FDAF", "FDAF+RES", "Speex")):
    """ERLE over time of the compared cancellers."""
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    colors = {"NLMS": COLORS["rtc"], "FDAF": COLORS["im"], "FDAF+RES": COLORS["good"],
              "Speex": COLORS["neutral"], "Speex+RES": COLORS["accent"]}
    fig, ax = new_figure(figsize=(9, 4))
    for name in names:
        if name in cmp["results"]:
            r = cmp["results"][name]
            ax.plot(r["t_s"], r["erle_db"], color=colors[name], lw=1.3, label=name)
    ax.axhline(cmp["target_db"], color=COLORS["bad"], ls=":", lw=1, label=f"{cmp['target_db']:g} dB")
    ax.set_ylim(-5, 55)
    label_axes(ax, "time [s]", "ERLE [dB]", "Echo removed over time (20 ms frames, smoothed)")
    legend(ax, where="outside")
    return fig


def noise_tracking_figure(noisy, noise, rate_hz: int, bin_hz: float = 500.0):
    """The minimum-statistics noise estimate in one frequency bin, against the smoothed
    power of the noisy speech (what the minimum is searched in) and of the noise alone.

    Returns the figure and the three curves in dB (one value per 16 ms frame).
    """
    from scipy.signal import lfilter

    from rtlib.audio.noise_estimate import SMOOTHING, estimate_noise_psd, power_spectrogram
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    t_s, freqs, psd = estimate_noise_psd(noisy, rate_hz)
    k = int(np.argmin(np.abs(freqs - bin_hz)))

    def smoothed_db(x):
        p = power_spectrogram(x, rate_hz)[:, k]
        zi = [SMOOTHING * p[0]]
        return 10 * np.log10(np.maximum(lfilter([1 - SMOOTHING], [1, -SMOOTHING], p, zi=zi)[0], 1e-12))

    noisy_db, noise_db = smoothed_db(noisy), smoothed_db(noise)
    est_db = 10 * np.log10(np.maximum(psd[:, k], 1e-12))
    fig, ax = new_figure(figsize=(9, 3.8))
    ax.plot(t_s, noisy_db, color=COLORS["sky"], lw=1.0, label="noisy speech, smoothed")
    ax.plot(t_s, noise_db, color=COLORS["neutral"], lw=1.2, ls="--", label="the noise alone, smoothed")
    ax.plot(t_s, est_db, color=COLORS["bad"], lw=2.0, label="minimum-statistics estimate")
    label_axes(ax, "time [s]", "power in the bin [dB]", f"Noise estimate in the bin at {freqs[k]:.0f} Hz")
    legend(ax, where="outside")
    return fig, {"t_s": t_s, "noisy_db": noisy_db, "noise_db": noise_db, "estimate_db": est_db,
                 "freq_hz": float(freqs[k])}
