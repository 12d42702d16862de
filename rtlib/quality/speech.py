"""Speech quality, measured against the original: SNR, segmental SNR, spectral distance, PESQ, STOI.

- :func:`snr_db`: signal-to-noise ratio of the whole clip (the error is "noise").
  Meaningful for waveform coders (PCM, G.711, ADPCM); a parametric coder such as
  Opus's SILK keeps how speech *sounds*, not its waveform, and scores low here.
- :func:`segmental_snr_db`: the mean of per-frame SNRs, each clamped to [-10, 35] dB,
  over frames with speech (Quackenbush, Barnwell & Clements, *Objective Measures of
  Speech Quality*, 1988): quiet passages count as much as loud ones.
- :func:`log_spectral_distance_db`: RMS difference of the log power spectra, frame by
  frame, a phase-blind measure that works for any coder, always available.
- :func:`pesq_score`: ITU-T P.862 (narrow-band, 8 kHz) / P.862.2 (wide-band, 16 kHz)
  MOS-LQO, 1.0 (bad) to 4.5, through the optional ``pesq`` package.
- :func:`stoi_score`: short-time objective intelligibility (Taal et al., IEEE TASLP
  2011), 0 to 1, through the optional ``pystoi`` package.

The optional packages: ``pip install -e ".[quality]"``.  Without them
:func:`pesq_score` / :func:`stoi_score` raise :class:`MetricUnavailable` and
:func:`speech_quality` reports ``None`` for them.

Codecs delay their output: :func:`align` finds the lag by cross-correlation before
a sample-by-sample comparison.

Used in: notebooks/06_codecs.ipynb, notebooks/07_jitter_buffers.ipynb, notebooks/09.
"""

from __future__ import annotations

import numpy as np
from rtlib.validate import check_rate_hz


class MetricUnavailable(RuntimeError):
    """An optional quality metric's package is not installed."""


def _as_float(x) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"signals must be one-dimensional (mono), got shape {a.shape}")
    if a.dtype.kind in "iu":
        return a.astype(np.float64) / 32768.0
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    raise ValueError(f"signals must be int16 or float, got dtype {a.dtype}")


def _pair(ref, deg) -> tuple[np.ndarray, np.ndarray]:
    r, d = _as_float(ref), _as_float(deg)
    n = min(len(r), len(d))
    if n == 0:
        raise ValueError("signals must not be empty")
    return r[:n], d[:n]


def align(ref, deg, rate_hz: int, max_lag_ms: float = 200.0) -> tuple[np.ndarray, np.ndarray, int]:
    """Shift ``deg`` so it lines up with ``ref``; returns (ref, deg, lag_samples), both trimmed.

    ``lag_samples > 0`` means ``deg`` is late by that many samples.  The lag is the
    peak of the cross-correlation within ±``max_lag_ms``.
    """
    rate_hz = check_rate_hz(rate_hz)
    r, d = _as_float(ref), _as_float(deg)
    max_lag = int(max_lag_ms * rate_hz / 1000)
    n = len(r) + len(d) - 1
    size = 1 << (n - 1).bit_length()
    xc = np.fft.irfft(np.fft.rfft(d, size) * np.conj(np.fft.rfft(r, size)), size)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    lag = int(lags[np.argmax(xc[lags])])
    if lag >= 0:
        d = d[lag:]
    else:
        r = r[-lag:]
    m = min(len(r), len(d))
    return r[:m], d[:m], lag


def snr_db(ref, deg) -> float:
    """10·log10(Σ ref² / Σ (ref − deg)²) over the whole (aligned) signals."""
    r, d = _pair(ref, deg)
    noise = np.sum((r - d) ** 2)
    signal = np.sum(r ** 2)
    if noise == 0:
        return float("inf")
    return float(10 * np.log10(max(signal, 1e-300) / noise))


def _frames(x: np.ndarray, n: int) -> np.ndarray:
    k = len(x) // n
    return x[: k * n].reshape(k, n)


def segmental_snr_db(ref, deg, rate_hz: int, frame_ms: float = 20.0, min_db: float = -10.0,
                     max_db: float = 35.0, active_db: float = 40.0) -> float:
    """Mean per-frame SNR, clamped to [min_db, max_db], over frames within ``active_db``
    of the loudest frame of ``ref`` (silent frames would give meaningless ratios)."""
    rate_hz = check_rate_hz(rate_hz)
    r, d = _pair(ref, deg)
    n = max(int(frame_ms * rate_hz / 1000), 1)
    fr, fd = _frames(r, n), _frames(d, n)
    if len(fr) == 0:
        raise ValueError(f"signals are shorter than one {frame_ms} ms frame")
    power = np.sum(fr ** 2, axis=1)
    noise = np.sum((fr - fd) ** 2, axis=1)
    with np.errstate(divide="ignore"):
        seg = 10 * np.log10(np.maximum(power, 1e-20) / np.maximum(noise, 1e-20))
    active = 10 * np.log10(np.maximum(power, 1e-20)) > 10 * np.log10(max(power.max(), 1e-20)) - active_db
    return float(np.mean(np.clip(seg[active], min_db, max_db)))


def log_spectral_distance_db(ref, deg, rate_hz: int, frame_ms: float = 32.0, active_db: float = 40.0) -> float:
    """Mean over active frames of the RMS difference of log power spectra (dB); 0 = identical."""
    rate_hz = check_rate_hz(rate_hz)
    r, d = _pair(ref, deg)
    n = max(int(frame_ms * rate_hz / 1000), 16)
    hop = n // 2
    count = (len(r) - n) // hop + 1
    if count < 1:
        raise ValueError(f"signals are shorter than one {frame_ms} ms frame")
    idx = np.arange(n)[None, :] + hop * np.arange(count)[:, None]
    win = np.hanning(n)
    pr = np.abs(np.fft.rfft(r[idx] * win, axis=1)) ** 2
    pd = np.abs(np.fft.rfft(d[idx] * win, axis=1)) ** 2
    floor = 1e-10 * n
    lr, ld = 10 * np.log10(pr + floor), 10 * np.log10(pd + floor)
    energy = 10 * np.log10(np.sum(pr, axis=1) + floor)
    active = energy > energy.max() - active_db
    return float(np.mean(np.sqrt(np.mean((lr - ld) ** 2, axis=1))[active]))


def has_pesq() -> bool:
    try:
        import pesq  # noqa: F401
        return True
    except ImportError:
        return False


def has_stoi() -> bool:
    try:
        import pystoi  # noqa: F401
        return True
    except ImportError:
        return False


def pesq_score(ref, deg, rate_hz: int, mode: str | None = None) -> float:
    """PESQ MOS-LQO (ITU-T P.862 'nb' at 8 kHz; P.862.2 'wb' at 16 kHz, the default there).

    Both signals at ``rate_hz`` (8000 or 16000), roughly aligned (PESQ realigns
    itself).  Raises :class:`MetricUnavailable` without the ``pesq`` package.
    """
    if rate_hz not in (8000, 16000):
        raise ValueError(f"rate_hz must be 8000 or 16000 for PESQ, got {rate_hz!r}")
    mode = mode or ("wb" if rate_hz == 16000 else "nb")
    if mode not in ("nb", "wb") or (mode == "wb" and rate_hz != 16000):
        raise ValueError(f"mode must be 'nb' or 'wb' ('wb' needs 16000 Hz), got {mode!r} at {rate_hz} Hz")
    try:
        from pesq import pesq
    except ImportError:
        raise MetricUnavailable("PESQ needs the optional 'pesq' package: pip install -e \".[quality]\"") from None
    r, d = _pair(ref, deg)
    return float(pesq(int(rate_hz), r, d, mode))


def stoi_score(ref, deg, rate_hz: int, extended: bool = False) -> float:
    """STOI (or extended STOI), 0–1.  Raises :class:`MetricUnavailable` without ``pystoi``."""
    rate_hz = check_rate_hz(rate_hz)
    try:
        from pystoi import stoi
    except ImportError:
        raise MetricUnavailable("STOI needs the optional 'pystoi' package: pip install -e \".[quality]\"") from None
    r, d = _pair(ref, deg)
    return float(stoi(r, d, rate_hz, extended=extended))


def speech_quality(ref, deg, rate_hz: int, *, align_first: bool = True, pesq: bool = True,
                   stoi: bool = False) -> dict:
    """Every available measure of ``deg`` against ``ref`` in one dict.

    Keys: ``lag_samples``, ``snr_db``, ``segsnr_db``, ``lsd_db``, ``pesq`` and ``stoi``
    (``None`` when not installed or not asked for).
    """
    rate_hz = check_rate_hz(rate_hz)
    r, d, lag = align(ref, deg, rate_hz) if align_first else (*_pair(ref, deg), 0)
    out = {
        "lag_samples": lag,
        "snr_db": snr_db(r, d),
        "segsnr_db": segmental_snr_db(r, d, rate_hz),
        "lsd_db": log_spectral_distance_db(r, d, rate_hz),
        "pesq": None,
        "stoi": None,
    }
    if pesq and has_pesq() and rate_hz in (8000, 16000):
        out["pesq"] = pesq_score(r, d, rate_hz)
    if stoi and has_stoi():
        out["stoi"] = stoi_score(r, d, rate_hz)
    return out


def compare_players(original, degraded: dict, rate_hz: int, *, title: str | None = None, metrics: bool = True):
    """Labelled audio players: the original, then each degraded version with its scores.

    ``degraded`` maps a label to samples at ``rate_hz``.  With ``metrics`` each label
    gets its segmental SNR and, when installed, PESQ.
    """
    from rtlib.viz import audio_players

    rate_hz = check_rate_hz(rate_hz)
    clips = {"original": (np.asarray(original), rate_hz)}
    for label, samples in degraded.items():
        if metrics:
            q = speech_quality(original, samples, rate_hz)
            extra = f"segSNR {q['segsnr_db']:.1f} dB"
            if q["pesq"] is not None:
                extra += f", PESQ {q['pesq']:.2f}"
            label = f"{label} ({extra})"
        clips[label] = (np.asarray(samples), rate_hz)
    return audio_players(clips, title=title)
