"""Residual echo suppression: a per-frequency gain after the linear canceller.

A linear canceller leaves some echo behind: the room's tail beyond the filter length,
the part of the path it has not learned yet, and whatever the loudspeaker's
nonlinearity added (rtlib.audio.room.loudspeaker).  A residual echo suppressor (RES)
attenuates the frequency bins where that residual still dominates the error:

    error e, echo estimate y --STFT--> |E_k|^2, |Y_k|^2 (smoothed over frames)
    leak     eta = C(|E|^2, |Y|^2) / V(|Y|^2)   how much of the echo estimate's power
                                                 is still in the error (see below)
    residual R_k = max(decay R_k(previous frame), eta |Y_k|^2)   (Speex preprocess.c: 0.6)
    gain     G_k = max(floor, 1 - over * R_k / |E_k|^2)         (spectral subtraction)
    output   IFFT(G_k E_k), overlap-added

The leak eta is estimated the way Speex's preprocessor does it (J.-M. Valin, "On
adjusting the learning rate in frequency domain echo cancellation with double-talk",
IEEE Trans. ASLP 15(3), 2007; Speex's mdf.c): the covariance between the error's and
the echo estimate's power spectra, both taken as deviations from their slow per-bin
means, summed over bins and averaged over frames, divided by the variance of the
latter.  Near-end speech adds power to |E|^2 that does not follow |Y|^2, so it adds
little to the covariance: eta measures echo, not the near end.  The ``floor``
(default -20 dB) limits the attenuation, and with it the "musical noise" of spectral
subtraction.

The leak estimate is kept at or above MIN_LEAK = 0.005, Speex's floor: in single talk
with a linear loudspeaker the measured covariance is near 0 (the linear residual is
mostly the room's tail beyond the filter, which the current echo estimate does not
predict), and the floor, times the over-subtraction, still removes that tail.

What it buys, measured on rtlib.audio.echo_scenes' 10 s English scene after an FDAF
canceller (ERLE over 5-10 s, defaults): with a linear loudspeaker, 28.6 -> 36.2 dB;
with ``drive=5``, 12.3 -> 17.0 dB.  Its price in double talk (near end at 0 dB SER
from 6 to 9 s, FDAF with the NCC detector): the near-end speech's segmental SNR
drops from 15.1 to 13.5 dB.

Frames of N samples are analysed with a 2N-point sqrt-Hann window, 50% overlap, and
resynthesised with the same window (the squared window sums to one): the output lags
the input by N samples, ``delay_samples``.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, rfft

from rtlib.audio.nlms import check_frames, taps_for

__all__ = ["MIN_LEAK", "ResCanceller", "ResidualEchoSuppressor"]

#: The leak estimate never drops below this (Speex mdf.c: MIN_LEAK = .005).
MIN_LEAK = 0.005


class ResidualEchoSuppressor:
    """Per-bin gain from the estimated residual echo vs the error spectrum (sans-IO).

    ``frame_ms`` (the hop N; default 16 ms), ``floor_db`` the largest attenuation in
    [-60, 0] dB, ``over`` the over-subtraction factor in [0.5, 10], ``smoothing`` the
    per-frame recursive smoothing of both power spectra in [0, 1), ``leak_smoothing``
    that of the leak estimate, in (0, 1]; ``decay`` in [0, 1) how fast the residual
    estimate may fall per frame; ``min_leak`` in [0, 1] the leak's floor.
    :meth:`process` takes frames of N samples.
    """

    def __init__(self, rate_hz: int = 16000, frame_ms: float = 16.0, floor_db: float = -20.0,
                 over: float = 4.0, smoothing: float = 0.5, leak_smoothing: float = 0.05,
                 decay: float = 0.6, min_leak: float = MIN_LEAK):
        if not -60.0 <= floor_db <= 0.0:
            raise ValueError(f"floor_db must be in [-60, 0], got {floor_db!r}")
        if not 0.5 <= over <= 10.0:
            raise ValueError(f"over must be in [0.5, 10], got {over!r}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
        if not 0.0 < leak_smoothing <= 1.0:
            raise ValueError(f"leak_smoothing must be in (0, 1], got {leak_smoothing!r}")
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay!r}")
        self.decay = float(decay)
        if not 0.0 <= min_leak <= 1.0:
            raise ValueError(f"min_leak must be in [0, 1], got {min_leak!r}")
        self.min_leak = float(min_leak)
        self.rate_hz = int(rate_hz)
        self.block_size = n = taps_for(frame_ms, rate_hz)
        self.delay_samples = n
        self.floor = 10.0 ** (floor_db / 20.0)
        self.over = float(over)
        self.smoothing = float(smoothing)
        self.leak_smoothing = float(leak_smoothing)
        self._window = np.sqrt(np.hanning(2 * n + 1)[:2 * n])   # periodic sqrt-Hann
        self._e_in = np.zeros(2 * n)
        self._y_in = np.zeros(2 * n)
        self._out_tail = np.zeros(n)
        self._see = np.zeros(n + 1)
        self._syy = np.zeros(n + 1)
        self._residual = np.zeros(n + 1)
        self._mean_e = np.zeros(n + 1)
        self._mean_y = np.zeros(n + 1)
        self._cov_ey = 0.0
        self._var_y = 0.0
        self.leak = 0.0
        self.gains = np.ones(n + 1)

    def _frame(self, e: np.ndarray, y: np.ndarray) -> np.ndarray:
        n = self.block_size
        self._e_in[:n], self._e_in[n:] = self._e_in[n:], e
        self._y_in[:n], self._y_in[n:] = self._y_in[n:], y
        E = rfft(self._window * self._e_in)
        Y = rfft(self._window * self._y_in)
        pe, py = np.abs(E) ** 2, np.abs(Y) ** 2
        a = self.smoothing
        self._see = a * self._see + (1 - a) * pe
        self._syy = a * self._syy + (1 - a) * py
        # leak: covariance of the two power spectra's fluctuations around their slow
        # per-bin means, summed over bins, over the variance of |Y|^2's (Speex mdf.c)
        b = self.leak_smoothing
        de, dy = pe - self._mean_e, py - self._mean_y
        self._mean_e = (1 - b) * self._mean_e + b * pe
        self._mean_y = (1 - b) * self._mean_y + b * py
        self._cov_ey = (1 - b) * self._cov_ey + b * float(de @ dy)
        self._var_y = (1 - b) * self._var_y + b * float(dy @ dy)
        raw = self._cov_ey / self._var_y if self._var_y > 0 else 0.0
        self.leak = min(max(raw, self.min_leak), 1.0)
        # the room keeps ringing after the echo estimate drops: let R decay, not vanish
        self._residual = np.maximum(self.decay * self._residual, self.leak * self._syy)
        residual = self._residual
        self.gains = np.maximum(self.floor, 1.0 - self.over * residual / (self._see + 1e-20))
        out = self._window * irfft(self.gains * E, n=2 * n)
        frame = self._out_tail + out[:n]
        self._out_tail = out[n:].copy()
        return frame

    def process(self, error_frame, echo_estimate_frame) -> np.ndarray:
        """Suppress the residual echo in one frame (a multiple of N samples long).

        Returns the output, ``delay_samples`` behind the input.
        """
        e, y = check_frames(error_frame, echo_estimate_frame)
        n = self.block_size
        if len(e) % n:
            raise ValueError(f"frame length must be a multiple of block_size={n}, got {len(e)}")
        out = np.empty(len(e))
        for i in range(0, len(e), n):
            out[i:i + n] = self._frame(e[i:i + n], y[i:i + n])
        return out


class ResCanceller:
    """A linear canceller followed by a residual echo suppressor, same interface.

    ``process(far, mic, adapt)`` returns the suppressed error, ``delay_samples``
    (the suppressor's N) behind the microphone signal.
    """

    def __init__(self, canceller, suppressor: ResidualEchoSuppressor):
        cb = getattr(canceller, "block_size", None)
        if cb and suppressor.block_size % cb and cb % suppressor.block_size:
            raise ValueError(f"the canceller's block_size {cb} and the suppressor's "
                             f"{suppressor.block_size} must divide one another")
        self.canceller = canceller
        self.suppressor = suppressor
        self.block_size = max(cb or 1, suppressor.block_size)
        self.delay_samples = suppressor.delay_samples

    @property
    def weights(self) -> np.ndarray:
        return self.canceller.weights

    def process(self, far_frame, mic_frame, adapt: bool = True) -> np.ndarray:
        e = self.canceller.process(far_frame, mic_frame, adapt=adapt)
        return self.suppressor.process(e, self.canceller.echo_estimate)
