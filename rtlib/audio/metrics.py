"""How well an echo canceller or a noise suppressor works: ERLE, convergence, misalignment, SNR.

Four measures, each a pure function of signals (numpy arrays of samples, float):

    mic d(n), error e(n)  -> erle_db_over_time   ERLE per frame, smoothed        (G.168)
                          -> mean_erle_db        one ERLE over a stretch
    ERLE per frame        -> convergence_time_s  time to reach X dB and stay there
    true RIR h, weights w -> misalignment_db     ||h - w||^2 / ||h||^2           (Haensler & Schmidt)
    clean s, processed y  -> segmental_snr_db    mean of frame SNRs in [-10, 35] dB
                                                 (rtlib.quality.speech's, re-checked)

ERLE (echo return loss enhancement) is the power ratio, in dB, between the echo
coming into the canceller (the microphone signal d) and what is left after it (the
error e): ERLE = 10 log10(E[d^2] / E[e^2]).  Measured in single talk (no near-end
speaker), it says how many dB of echo the canceller removed; the noise in d bounds it
from above (the canceller cannot remove noise it has no reference for).  ITU-T G.168
(2015) defines the echo return loss and its enhancement this way.

Misalignment needs the true echo path, so it only exists in simulation: the normalised
squared distance between the room impulse response h and the adaptive filter's weights
w (E. Haensler, G. Schmidt, "Acoustic Echo and Noise Control", Wiley 2004, ch. 7).

Segmental SNR averages per-frame SNRs, each clamped to [-10, 35] dB so that silent
frames neither dominate nor vanish (S. R. Quackenbush, T. P. Barnwell, M. A. Clements,
"Objective Measures of Speech Quality", Prentice Hall 1988; clamping limits as in
J. H. L. Hansen, B. L. Pellom, "An effective quality evaluation protocol for speech
enhancement algorithms", ICSLP 1998).

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.validate import check_rate_hz

__all__ = [
    "SEGSNR_MIN_DB",
    "SEGSNR_MAX_DB",
    "convergence_time_s",
    "erle_db_over_time",
    "mean_erle_db",
    "misalignment_db",
    "segmental_snr_db",
]

#: Frame SNR clamping limits for segmental SNR (Hansen & Pellom 1998).
SEGSNR_MIN_DB = -10.0
SEGSNR_MAX_DB = 35.0
#: Added to powers before taking a log, so that digital silence gives a finite number.
_TINY = 1e-20


def _as_signal(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of samples, got shape {a.shape}")
    return a


def _same_length(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} must have the same length, "
                         f"got {len(a)} and {len(b)}")


def _frame_len(rate_hz: int, frame_ms: float) -> int:
    rate_hz = check_rate_hz(rate_hz)
    if not 1.0 <= frame_ms <= 1000.0:
        raise ValueError(f"frame_ms must be in [1, 1000], got {frame_ms!r}")
    return max(1, int(round(rate_hz * frame_ms / 1000.0)))


def _frame_powers(x: np.ndarray, n: int) -> np.ndarray:
    """Mean square of each whole frame of ``n`` samples (a partial last frame is dropped)."""
    k = len(x) // n
    return np.mean(x[: k * n].reshape(k, n) ** 2, axis=1)


def _smooth(p: np.ndarray, smoothing: float) -> np.ndarray:
    """First-order recursive average P[k] = a P[k-1] + (1 - a) p[k], started at p[0]."""
    if len(p) == 0:
        return p
    from scipy.signal import lfilter

    y, _ = lfilter([1.0 - smoothing], [1.0, -smoothing], p, zi=[smoothing * p[0]])
    return y


def segmental_snr_db(clean, processed, rate_hz: int, frame_ms: float = 20.0) -> float:
    """Segmental SNR in dB: the mean over frames of 10 log10(sum s^2 / sum (s - y)^2).

    ``clean`` is the reference s, ``processed`` the signal y under test (same length,
    same alignment).  Each frame's SNR is clamped to [SEGSNR_MIN_DB, SEGSNR_MAX_DB]
    = [-10, 35] dB before averaging (Hansen & Pellom 1998), so a perfect frame counts
    as 35 dB; frames of ``clean`` more than 40 dB below its loudest frame are left out
    (their ratio means nothing).  Frames are ``frame_ms`` long, not overlapping; a
    partial last frame is ignored.  The computation is rtlib.quality.speech's (the
    codec chapter's metric); this checks the arguments the way rtlib.audio does.
    """
    from rtlib.quality.speech import segmental_snr_db as _segsnr

    s = _as_signal(clean, "clean")
    y = _as_signal(processed, "processed")
    _same_length(s, y, "clean", "processed")
    n = _frame_len(rate_hz, frame_ms)
    if len(s) < n:
        raise ValueError(f"clean must hold at least one frame ({n} samples), got {len(s)}")
    return _segsnr(s, y, rate_hz, frame_ms, min_db=SEGSNR_MIN_DB, max_db=SEGSNR_MAX_DB)


def erle_db_over_time(mic, error, rate_hz: int, frame_ms: float = 20.0,
                      smoothing: float = 0.9, floor_db: float = -60.0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """ERLE per frame, in dB, with both powers smoothed over frames.

    Returns ``(t_s, erle_db)``: frame end times in seconds and 10 log10(P_d / P_e),
    where P_d and P_e are the mic and error frame powers passed through the same
    first-order recursive average ``P <- smoothing * P + (1 - smoothing) * p``
    (``smoothing`` in [0, 1); 0 means no smoothing).  Frames whose smoothed mic power
    is more than ``-floor_db`` dB below the loudest one carry no echo worth measuring
    (far-end silence): their ERLE is NaN.
    """
    d = _as_signal(mic, "mic")
    e = _as_signal(error, "error")
    _same_length(d, e, "mic", "error")
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
    if not floor_db < 0:
        raise ValueError(f"floor_db must be < 0, got {floor_db!r}")
    n = _frame_len(rate_hz, frame_ms)
    pd, pe = _frame_powers(d, n), _frame_powers(e, n)
    sd, se = _smooth(pd, smoothing), _smooth(pe, smoothing)
    erle = 10.0 * np.log10((sd + _TINY) / (se + _TINY))
    if len(sd):
        quiet = sd < np.max(sd) * 10.0 ** (floor_db / 10.0)
        erle[quiet] = np.nan
    t_s = (np.arange(len(pd)) + 1) * n / float(rate_hz)
    return t_s, erle


def mean_erle_db(mic, error, rate_hz: int, start_s: float = 0.0,
                 stop_s: float | None = None) -> float:
    """One ERLE in dB over ``[start_s, stop_s)``: 10 log10(sum d^2 / sum e^2).

    The usual single figure "ERLE after convergence": pass ``start_s`` past the
    convergence time.  ``stop_s`` defaults to the end of the signals.
    """
    d = _as_signal(mic, "mic")
    e = _as_signal(error, "error")
    _same_length(d, e, "mic", "error")
    rate_hz = check_rate_hz(rate_hz)
    dur_s = len(d) / float(rate_hz)
    stop = dur_s if stop_s is None else stop_s
    if not 0.0 <= start_s < stop <= dur_s + 1e-12:
        raise ValueError(f"start_s and stop_s must satisfy 0 <= start_s < stop_s <= {dur_s:g} "
                         f"(the signal length), got {start_s!r} and {stop_s!r}")
    i0, i1 = int(round(start_s * rate_hz)), int(round(stop * rate_hz))
    return float(10.0 * np.log10((np.sum(d[i0:i1] ** 2) + _TINY)
                                 / (np.sum(e[i0:i1] ** 2) + _TINY)))


def convergence_time_s(t_s, erle_db, target_db: float) -> float:
    """The first time from which ERLE stays at or above ``target_db`` dB; ``inf`` if never.

    ``t_s`` and ``erle_db`` come from :func:`erle_db_over_time`; NaN frames (far-end
    silence) neither break nor start a converged stretch.  If the last measured frame
    is below the target the canceller has not converged: ``math.inf``.
    """
    t = np.asarray(t_s, dtype=np.float64)
    v = np.asarray(erle_db, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1:
        raise ValueError(f"t_s and erle_db must be 1-D of the same length, "
                         f"got shapes {t.shape} and {v.shape}")
    measured = ~np.isnan(v)
    if not measured.any():
        return math.inf
    below = measured & (v < target_db)
    if not below.any():
        return float(t[np.flatnonzero(measured)[0]])
    last_below = int(np.flatnonzero(below)[-1])
    after = np.flatnonzero(measured[last_below + 1:])
    if len(after) == 0:
        return math.inf
    return float(t[last_below + 1 + after[0]])


def misalignment_db(h_true, w, length: int | None = None) -> float:
    """Normalised misalignment 10 log10(||h - w||^2 / ||h||^2) in dB.

    ``h_true`` is the true echo path (the room impulse response), ``w`` the adaptive
    filter's weights.  The shorter one is zero-padded, so a filter shorter than the
    RIR pays for the tail it cannot model; pass ``length`` to compare only the first
    ``length`` taps of both.  0 dB is "no better than w = 0"; -20 dB means the
    filter's error is 1% of the path's energy.
    """
    h = _as_signal(h_true, "h_true")
    ww = _as_signal(w, "w")
    n = max(len(h), len(ww))
    if length is not None:
        if not 1 <= length <= n:
            raise ValueError(f"length must be in [1, {n}], got {length!r}")
        n = int(length)
    hp = np.zeros(n)
    wp = np.zeros(n)
    hp[: min(n, len(h))] = h[:n]
    wp[: min(n, len(ww))] = ww[:n]
    eh = float(np.sum(hp ** 2))
    if eh == 0.0:
        raise ValueError("h_true must not be all zeros (over the compared length)")
    return float(10.0 * np.log10(max(float(np.sum((hp - wp) ** 2)), _TINY) / eh))
