"""Pitch (fundamental frequency) of speech, frame by frame, and how far a codec moves it.

In a tonal language such as Mandarin the pitch *contour* of a syllable is part of the
word: mā (high level), má (rising), mǎ (dipping) and mà (falling) are four different
words.  A codec that smears or bends the contour changes what is said, even when
the clip still sounds like speech.  This module measures it:

- :func:`pitch_track` estimates F0 every ``hop_ms`` from the normalised
  autocorrelation of a ``frame_ms`` window (the strongest period between
  ``1/fmax_hz`` and ``1/fmin_hz``); frames that are quiet or not periodic enough
  are unvoiced (``nan``).
- :func:`pitch_error` compares two tracks on frames voiced in both: the error in
  cents (1200 · log2 of the ratio; 100 cents = a semitone), and how often voicing
  was lost.

An autocorrelation tracker is the textbook method (L. Rabiner, "On the use of
autocorrelation analysis for pitch detection", IEEE TASSP 25(1), 1977); it can jump
an octave on hard frames, so compare codecs by medians and shares, not by the
worst frame.

Used in: notebooks/06_codecs.ipynb (Mandarin: where pitch carries meaning).
"""

from __future__ import annotations

import numpy as np

from rtlib.validate import check_number, check_rate_hz


def _as_float(x) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"samples must be one channel (1-D), got shape {a.shape}")
    return a / 32768.0 if a.dtype == np.int16 else a.astype(float)


def pitch_track(samples, rate_hz: int, *, frame_ms: float = 40.0, hop_ms: float = 10.0,
                fmin_hz: float = 70.0, fmax_hz: float = 400.0, voicing: float = 0.5,
                silence_db: float = 40.0) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, f0_hz)``: the pitch every ``hop_ms``, ``nan`` where unvoiced.

    ``voicing`` is the least normalised autocorrelation (0–1) at the chosen period for
    a frame to count as voiced; frames more than ``silence_db`` below the loudest
    frame are unvoiced.
    """
    rate_hz = check_rate_hz(rate_hz)
    x = _as_float(samples)
    frame_ms = check_number("frame_ms", frame_ms, 10, 200, "ms")
    hop_ms = check_number("hop_ms", hop_ms, 1, 100, "ms")
    fmin_hz = check_number("fmin_hz", fmin_hz, 20, 1000, "Hz")
    fmax_hz = check_number("fmax_hz", fmax_hz, fmin_hz, rate_hz / 2, "Hz")
    voicing = check_number("voicing", voicing, 0, 1)
    n, hop = int(rate_hz * frame_ms / 1000), int(rate_hz * hop_ms / 1000)
    lag_lo, lag_hi = int(rate_hz / fmax_hz), int(np.ceil(rate_hz / fmin_hz))
    if 2 * lag_hi > n:
        raise ValueError(f"frame_ms must hold two periods of fmin_hz ({2000 / fmin_hz:.0f} ms), got {frame_ms!r}")
    if x.size < n:
        return np.zeros(0), np.zeros(0)
    starts = np.arange(0, x.size - n + 1, hop)
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[starts]
    frames = frames - frames.mean(axis=1, keepdims=True)
    spec = np.fft.rfft(frames, 2 * n, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :n]
    # normalise by the energy of the overlapping parts, so every lag is judged fairly
    sq = np.cumsum(np.pad(frames ** 2, ((0, 0), (1, 0))), axis=1)
    lags = np.arange(lag_lo, lag_hi + 1)
    head = sq[:, n - lags]                       # energy of x[0 : n - lag]
    tail = sq[:, n:n + 1] - sq[:, lags]          # energy of x[lag : n]
    nccf = ac[:, lags] / np.sqrt(np.maximum(head * tail, 1e-20))
    # the first peak within 10 % of the highest: a periodic signal correlates as well at
    # two periods as at one, and the shorter lag is the pitch (no octave-down errors)
    peak = np.zeros_like(nccf, dtype=bool)
    peak[:, 1:-1] = (nccf[:, 1:-1] >= nccf[:, :-2]) & (nccf[:, 1:-1] >= nccf[:, 2:])
    top = nccf.max(axis=1, keepdims=True)
    good = peak & (nccf >= 0.9 * top)
    best = np.where(good.any(axis=1), np.argmax(good, axis=1), np.argmax(nccf, axis=1))
    # parabolic interpolation around the peak for sub-sample periods
    k = np.clip(best, 1, lags.size - 2)
    rows = np.arange(len(k))
    y0, y1, y2 = nccf[rows, k - 1], nccf[rows, k], nccf[rows, k + 1]
    denom = y0 - 2 * y1 + y2
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (y0 - y2) / np.where(denom == 0, 1, denom), 0.0)
    period = lags[k] + np.clip(shift, -0.5, 0.5)
    f0 = rate_hz / period
    energy_db = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    voiced = (nccf[rows, best] >= voicing) & (energy_db >= energy_db.max() - silence_db)
    t = (starts + n / 2) / rate_hz
    return t, np.where(voiced, f0, np.nan)


def pitch_error(ref_hz, deg_hz) -> dict:
    """How far ``deg_hz`` moved ``ref_hz`` (two tracks of the same frames).

    Returns ``median_abs_cents`` and ``p90_abs_cents`` over frames voiced in both,
    ``off_semitone_share`` (the share of those frames more than 100 cents off),
    ``voicing_kept`` (the share of the reference's voiced frames still voiced) and
    ``frames`` (how many frames were compared).
    """
    r, d = np.asarray(ref_hz, float), np.asarray(deg_hz, float)
    if r.shape != d.shape or r.ndim != 1:
        raise ValueError(f"ref_hz and deg_hz must be 1-D tracks of equal length, got {r.shape} and {d.shape}")
    voiced_ref = np.isfinite(r)
    both = voiced_ref & np.isfinite(d)
    if not both.any():
        raise ValueError("no frame is voiced in both tracks: nothing to compare")
    cents = np.abs(1200 * np.log2(d[both] / r[both]))
    return {"median_abs_cents": float(np.median(cents)), "p90_abs_cents": float(np.percentile(cents, 90)),
            "off_semitone_share": float(np.mean(cents > 100)), "voicing_kept": float(both.sum() / voiced_ref.sum()),
            "frames": int(both.sum())}
