"""Packet-loss concealment (PLC): what to play when a frame is missing.

A lost or late frame leaves a hole of 10–60 ms in the audio.  Three ways to fill it,
from worst to best:

- ``"silence"``: play zeros.  The speech is chopped; every hole is an audible gap
  with a click at each edge.
- ``"repeat"``: play the last good frame again (and again).  Better for a single
  loss, but a repeated 20 ms frame is not a whole number of pitch periods, so each
  repetition joins out of phase and buzzes.
- ``"pitch"``: waveform-similarity repetition, after ITU-T G.711 Appendix I (1999):
  estimate the pitch period from the last good audio (the lag of highest
  normalised autocorrelation, 5–15 ms), repeat whole pitch periods so the waveform
  continues in phase, cross-fade (overlap-add) a quarter period at the start of
  the hole and a few ms into the next good frame, use more periods (1, then 2, then
  3) as the hole grows so it does not sound mechanical, and fade out by 20 % per
  10 ms after the first 10 ms, to silence at 60 ms: a long guess is worse than
  silence.

Opus has a better concealment of its own (its decoder extrapolates from its
internal model); :func:`opus_concealment` runs it through the course's Opus codec
(``rtlib.media.codecs``, ``decode(None)``).

:func:`conceal` works on a whole decoded signal plus one loss flag per frame.  The
start cross-fade rewrites the last quarter period *before* the hole, which a
real-time decoder does by holding its output back that long (G.711 Appendix I
delays its output by 3.75 ms for exactly this).

Used in: notebooks/07_jitter_buffers.ipynb ("listen" cells).
"""

from __future__ import annotations

import numpy as np

METHODS = ("silence", "repeat", "pitch")

PITCH_MIN_S = 0.005  # G.711 Appendix I: pitch search range 5 ms (200 Hz) ...
PITCH_MAX_S = 0.015  # ... to 15 ms (66.7 Hz); higher voices are matched by two periods
CORR_WINDOW_S = 0.020  # the correlation window
ATTENUATION_START_S = 0.010  # full level for the first 10 ms of a hole
ATTENUATION_PER_S = 0.2 / 0.010  # then -20 % per 10 ms: silent at 60 ms
END_OLA_S = 0.004  # cross-fade into the first good frame: 4 ms ...
END_OLA_STEP_S = 0.004  # ... plus 4 ms for each further 10 ms of hole ...
END_OLA_MAX_S = 0.010  # ... at most 10 ms


def pitch_period(history, rate_hz: int, *, min_s: float = PITCH_MIN_S, max_s: float = PITCH_MAX_S,
                 window_s: float = CORR_WINDOW_S) -> int:
    """The pitch period (samples) of the end of ``history``: the lag of highest normalised correlation.

    The last ``window_s`` of ``history`` is compared with the same length ``lag``
    samples earlier, for every lag in ``[min_s, max_s]``; vectorised with a
    strided view of the signal.
    """
    x = np.asarray(history, dtype=float)
    lo, hi = int(round(min_s * rate_hz)), int(round(max_s * rate_hz))
    win = int(round(window_s * rate_hz))
    if x.size < hi + win:
        raise ValueError(f"history must hold at least {hi + win} samples ({(hi + win) / rate_hz * 1e3:.1f} ms), "
                         f"got {x.size}")
    target = x[-win:]
    # Row r of the view is the window that starts hi - r samples before the target.
    segs = np.lib.stride_tricks.sliding_window_view(x[-(hi + win):-lo], win)[::-1]  # lags lo .. hi
    lags = np.arange(lo, hi + 1)
    dots = segs @ target
    energy = np.einsum("ij,ij->i", segs, segs)
    score = dots / np.sqrt(np.maximum(energy, 1e-12))
    return int(lags[int(np.argmax(score))])


def _periodic(buf: np.ndarray, period: int, n: int, phase: int = 0) -> np.ndarray:
    """``n`` samples cycling the last ``period`` samples of ``buf``, starting ``phase`` into the cycle."""
    cycle = buf[-period:]
    return cycle[(phase + np.arange(n)) % period]


def _synthesize(history: np.ndarray, n: int, rate_hz: int) -> tuple[np.ndarray, int]:
    """``n`` samples continuing ``history`` by pitch repetition, and the pitch period used."""
    p = pitch_period(history, rate_hz)
    ten_ms = int(round(0.010 * rate_hz))
    fade = max(p // 4, 1)
    out = np.empty(n)
    # 1 period for the first 10 ms, 2 for the next 10 ms, 3 after (G.711 App. I).
    for k in (1, 2, 3):
        start = (k - 1) * ten_ms if k > 1 else 0
        stop = n if k == 3 else min(n, k * ten_ms)
        if start >= n:
            break
        seg = _periodic(history, k * p, stop - start + fade, phase=start)
        if k == 1:
            out[start:stop] = seg[: stop - start]
        else:
            # Cross-fade from the previous (fewer periods) continuation into this one.
            m = min(fade, stop - start)
            w = np.linspace(0, 1, m + 2)[1:-1]
            prev = _periodic(history, (k - 1) * p, m, phase=start)
            out[start:start + m] = (1 - w) * prev + w * seg[:m]
            out[start + m:stop] = seg[m: stop - start]
    return out, p


def _gain(n: int, rate_hz: int, offset: int = 0) -> np.ndarray:
    """The fade-out of a hole: 1 for 10 ms, then -20 % per 10 ms (0 from 60 ms)."""
    start = round(ATTENUATION_START_S * rate_hz)
    length = round(rate_hz / ATTENUATION_PER_S)  # samples from full level to silence (50 ms)
    return np.clip(1.0 - (offset + np.arange(n) - start) / length, 0.0, 1.0)


def conceal(samples, lost, rate_hz: int, *, frame_ms: float = 20.0, method: str = "pitch") -> np.ndarray:
    """Replace the frames flagged in ``lost`` (one flag per ``frame_ms`` frame) by ``method``.

    ``samples`` is the decoded signal (float or int16; lost frames' content is
    ignored) and the result has its length and dtype.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    if not isinstance(rate_hz, (int, np.integer)) or not 4000 <= rate_hz <= 96_000:
        raise ValueError(f"rate_hz must be an integer in [4000, 96000] Hz, got {rate_hz!r}")
    if not 2.5 <= frame_ms <= 120:
        raise ValueError(f"frame_ms must be in [2.5, 120] ms, got {frame_ms!r}")
    x_in = np.asarray(samples)
    if x_in.ndim != 1:
        raise ValueError(f"samples must be one-dimensional (mono), got shape {x_in.shape}")
    n = int(round(frame_ms * rate_hz / 1000))
    n_frames = -(-x_in.size // n)
    lost = np.asarray(lost, dtype=bool)
    if lost.shape != (n_frames,):
        raise ValueError(f"lost must hold one flag per {frame_ms:g} ms frame ({n_frames}), got shape {lost.shape}")
    x = x_in.astype(float)
    y = x.copy()
    # Runs of consecutive lost frames: [start, stop) in frames.
    edges = np.diff(np.concatenate(([0], lost.astype(np.int8), [0])))
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
    need = int(round((PITCH_MAX_S + CORR_WINDOW_S) * rate_hz))
    for f0, f1 in runs:
        a, b = f0 * n, min(f1 * n, x.size)
        if method == "silence" or a == 0 or (method == "pitch" and a < need):
            y[a:b] = 0.0
            continue
        if method == "repeat":
            last = y[max(a - n, 0):a]
            y[a:b] = np.resize(last, b - a)
            continue
        # Pitch repetition: also synthesise past the hole for the end cross-fade.
        hole_s = (b - a) / rate_hz
        end = int(round(min(END_OLA_S + END_OLA_STEP_S * int(hole_s / 0.010 - 1e-9), END_OLA_MAX_S) * rate_hz))
        end = min(end, x.size - b)
        history = y[:a]
        syn, p = _synthesize(history, b - a + end, rate_hz)
        syn *= _gain(syn.size, rate_hz)
        # Start: overlap-add a quarter period before the hole with the continuation one period back.
        q = min(max(p // 4, 1), a)
        w = np.linspace(0, 1, q + 2)[1:-1]
        back = history[a - p - q: a - p] if a - p - q >= 0 else history[a - q: a]
        y[a - q:a] = (1 - w) * y[a - q:a] + w * back
        y[a:b] = syn[: b - a]
        if end > 0 and f1 < n_frames:
            w = np.linspace(0, 1, end + 2)[1:-1]
            y[b:b + end] = (1 - w) * syn[b - a:] + w * y[b:b + end]
    if x_in.dtype == np.int16:
        return np.clip(np.round(y), -32768, 32767).astype(np.int16)
    return y.astype(x_in.dtype, copy=False)


def opus_concealment(samples, lost, rate_hz: int, *, frame_ms: float = 20.0, bitrate_bps: float = 24_000):
    """Encode ``samples`` with Opus, lose the flagged frames, decode with Opus's own PLC.

    Uses the course's Opus codec (``rtlib.media.codecs.get_codec("opus")``), whose
    ``decode(None)`` runs libopus's concealment.  Returns int16 samples aligned with
    the input, or raises ``RuntimeError`` when Opus is not available here.
    """
    from rtlib.media.codecs import get_codec, roundtrip

    codec = get_codec("opus", rate_hz=rate_hz, frame_ms=frame_ms, bitrate_bps=bitrate_bps)
    if codec.plc != "codec":
        raise RuntimeError("libopus's decoder is not reachable here, so Opus cannot run its own PLC")
    x = np.asarray(samples)
    n = codec.samples_per_frame
    lost = np.asarray(lost, dtype=bool)
    if lost.shape != (-(-x.size // n),):
        raise ValueError(f"lost must hold one flag per {frame_ms:g} ms frame ({-(-x.size // n)}), got shape {lost.shape}")
    # The encoder's look-ahead adds a frame or so at the end: those always arrive.
    n_payloads = -(-(x.size + codec.delay_samples) // n)
    return roundtrip(codec, x, lost=np.concatenate([lost, np.zeros(n_payloads - lost.size, dtype=bool)]))


def frames_lost(loss: float, n_frames: int, *, burst_len: float = 1.0, seed: int = 0) -> np.ndarray:
    """Loss flags for ``n_frames`` frames from ``rtlib.net``'s loss model (Bernoulli or Gilbert-Elliott)."""
    from rtlib.net.loss import loss_pattern

    return loss_pattern(n_frames, loss, burst_len, seed=seed)
