"""Partitioned-block frequency-domain adaptive filter (PBFDAF / MDF), fed frame by frame.

Time-domain NLMS (rtlib.audio.nlms) spends 2L multiply-adds per sample on an L-tap
filter, and on speech it converges slowly: one step size for all frequencies, while
speech puts most of its power below 1 kHz.  The frequency-domain filter fixes both.
It works on blocks of N samples, splits the L = P N taps into P partitions of N taps
(so the delay stays one block, not L samples), and runs in the FFT domain:

    far x -> [last 2N samples] -FFT-> X_0 ; X_1 .. X_{P-1} = spectra of older blocks
                                     |
    echo estimate   Y = sum_p W_p X_p  -IFFT-> keep the last N samples -> y  (overlap-save)
    error           e = d - y        -> E = FFT([N zeros, e])
    power per bin   S <- (1 - a) S + a |X_0|^2,  a = 0.35 / P              (Speex mdf.c)
                    Q = max(P S, sum_p |X_p|^2)     (the smoothed power lags a speech onset;
                                                     the instantaneous sum does not)
    gradient        G_p = conj(X_p) E / (Q + delta)                         (per-bin step)
    constraint      G_p <- FFT(first N samples of IFFT(G_p), then N zeros)  (gradient constraint)
    update          W_p <- W_p + 2 mu G_p

Per-bin power normalisation gives every frequency its own step, so speech's weak high
bands are learned as fast as its strong low ones; the gradient constraint keeps each
partition a linear (not circular) convolution of N taps.  The factor 2
makes ``step`` mean roughly what it means for NLMS (the block update with mu equals N
NLMS updates with mu, for white input and small mu).  Measured on the 10 s English
single-talk scene of rtlib.audio.echo_scenes (128 ms filter, N = 256): mu from 0.3 to 1.0
converges (ERLE 26-29 dB after 5 s), mu = 1.5 diverges; mu = 0.5 is the default.
Normalising by the smoothed power alone (P S, as a textbook PBFDAF does) diverged
there already at mu = 1 because S lags behind speech onsets.

Per-bin normalisation treats every frequency alike, NLMS weights them by their power.
On the 16 s scene of benchmarks/bench_audio.py (both mu = 0.5), FDAF approaches the
true echo path much sooner (misalignment after 0.5 / 1 / 2 s: -7.5 / -11.7 / -14.2 dB,
NLMS -2.7 / -4.5 / -8.9 dB) and ends nearer it (-15.5 vs -14.3 dB at 16 s), yet ERLE
rises no sooner (20 dB reached after 2.3 s, NLMS 2.2 s) and ends lower (27.9 vs
31.4 dB over 8-16 s): speech's echo power sits in the low bins, which NLMS favours.

References:
- J.-S. Soo, K. K. Pang, "Multidelay block frequency domain adaptive filter", IEEE
  Trans. ASSP 38(2), 1990 (the partitioned structure; "MDF").
- J. M. P. Borrallo, M. G. Otero, "On the implementation of a partitioned block
  frequency domain adaptive filter (PBFDAF) for long acoustic echo cancellation",
  Signal Processing 27(3), 1992.
- J.-M. Valin, "On adjusting the learning rate in frequency domain echo cancellation
  with double-talk", IEEE Trans. ASLP 15(3), 2007: the Speex echo canceller (mdf.c),
  an MDF filter whose step is adapted to the estimated residual echo.  This module
  keeps a fixed step; Speex (rtlib.audio.speex) is the benchmark reference.  The power
  smoothing weight a = 0.35 / P is the one Speex's mdf.c uses.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import numpy as np
from scipy.fft import irfft, rfft

from rtlib.audio.nlms import REG_POWER, check_frames, taps_for
from rtlib.validate import check_rate_hz

__all__ = ["FdafCanceller", "POWER_SMOOTHING"]

#: Weight of the newest block in the per-bin power estimate is POWER_SMOOTHING / P
#: (Speex mdf.c: ss = .35/M).
POWER_SMOOTHING = 0.35


class FdafCanceller:
    """A partitioned-block frequency-domain echo canceller (sans-IO).

    ``filter_ms`` (or ``taps``) is the filter length L, ``block_size`` N the number of
    samples per block (default 16 ms worth; 256 at 16 kHz): P = ceil(L / N)
    partitions.  ``step`` is mu in (0, 2), ``reg`` the per-bin regulariser delta
    (default 2 N P REG_POWER, the same floor as NLMS's).  ``constrained=False`` skips
    the gradient constraint (cheaper; the filter then drifts towards circular
    convolution).  :meth:`process` takes frames whose length is a multiple of N.
    """

    def __init__(self, filter_ms: float = 128.0, rate_hz: int = 16000, step: float = 0.5,
                 block_size: int | None = None, reg: float | None = None,
                 taps: int | None = None, constrained: bool = True):
        if taps is None:
            taps = taps_for(filter_ms, rate_hz)
        elif not 1 <= taps <= 65536:
            raise ValueError(f"taps must be in [1, 65536], got {taps!r}")
        if block_size is None:
            block_size = taps_for(16.0, rate_hz)
        if not 8 <= block_size <= 8192:
            raise ValueError(f"block_size must be in [8, 8192], got {block_size!r}")
        if not 0.0 < step < 2.0:
            raise ValueError(f"step must be in (0, 2), got {step!r}")
        if reg is not None and not reg > 0:
            raise ValueError(f"reg must be > 0, got {reg!r}")
        self.rate_hz = check_rate_hz(rate_hz)
        self.block_size = int(block_size)
        self.partitions = -(-int(taps) // self.block_size)
        self.taps = self.partitions * self.block_size
        self.step = float(step)
        self.reg = float(reg) if reg is not None else 2.0 * self.taps * REG_POWER
        self.constrained = bool(constrained)
        self.reset()

    def reset(self) -> None:
        """Forget the echo path, the far-end history and the power estimates."""
        n, p = self.block_size, self.partitions
        self._xbuf = np.zeros(2 * n)                    # previous and current far block
        self._ebuf = np.zeros(2 * n)                    # [N zeros, error block]
        self._X2 = np.zeros((p, n + 1))                 # |X_p|^2
        self._X = np.zeros((p, n + 1), dtype=complex)   # X_0 (newest) .. X_{P-1}
        self._W = np.zeros((p, n + 1), dtype=complex)   # partition weights, FFT domain
        self._power = np.zeros(n + 1)                   # S, smoothed |X_0|^2 per bin
        self.echo_estimate = np.zeros(0)

    @property
    def weights(self) -> np.ndarray:
        """The current echo-path estimate in the time domain, P N taps (a copy).

        The first N samples of each partition's inverse FFT; with ``constrained=False``
        the other N (the circular-convolution part) are left out.
        """
        n = self.block_size
        return np.fft.irfft(self._W, n=2 * n, axis=1)[:, :n].reshape(-1)

    def _block(self, x: np.ndarray, d: np.ndarray, adapt: bool) -> np.ndarray:
        n, X = self.block_size, self._X
        self._xbuf[:n] = self._xbuf[n:]                             # [previous, this] block
        self._xbuf[n:] = x
        X[1:] = X[:-1]                                              # age the spectra
        X[0] = rfft(self._xbuf)
        y = irfft(np.einsum("pk,pk->k", self._W, X))[n:]            # overlap-save: last N
        e = d - y
        # The power estimates describe the far-end signal: track them even while frozen,
        # or the first step after a long freeze divides by a stale (too small) power.
        self._X2[1:] = self._X2[:-1]
        self._X2[0] = X[0].real ** 2 + X[0].imag ** 2
        a = POWER_SMOOTHING / self.partitions
        self._power = (1.0 - a) * self._power + a * self._X2[0]
        if adapt:
            norm = np.maximum(self.partitions * self._power, self._X2.sum(axis=0)) + self.reg
            self._ebuf[n:] = e
            G = np.conj(X) * ((2.0 * self.step) * rfft(self._ebuf) / norm)   # 2 mu G_p
            if self.constrained:                                    # keep N taps per partition:
                G = rfft(irfft(G, axis=1)[:, :n], n=2 * n, axis=1)  # rfft zero-pads the rest
            self._W += G
        return e

    def predict(self, far_frame) -> np.ndarray:
        """The echo estimate y for ``far_frame`` with the current weights; no state changes.

        What :meth:`process` with ``adapt=False`` would subtract.
        """
        x = np.asarray(far_frame, dtype=np.float64)
        n = self.block_size
        if x.ndim != 1 or len(x) % n:
            raise ValueError(f"far_frame must be 1-D, a multiple of block_size={n} long")
        xbuf, X = self._xbuf.copy(), self._X.copy()
        y = np.empty(len(x))
        for i in range(0, len(x), n):
            xbuf[:n], xbuf[n:] = xbuf[n:], x[i:i + n]
            X[1:] = X[:-1]
            X[0] = rfft(xbuf)
            y[i:i + n] = irfft(np.einsum("pk,pk->k", self._W, X))[n:]
        return y

    def process(self, far_frame, mic_frame, adapt: bool = True) -> np.ndarray:
        """Cancel the echo in one frame (a multiple of ``block_size`` samples); returns e.

        ``adapt=False`` filters with the current weights and leaves them unchanged
        (the far-end power estimates are still updated).  The frame's echo estimate
        y = d - e is kept in ``self.echo_estimate``.
        """
        x, d = check_frames(far_frame, mic_frame)
        n = self.block_size
        if len(x) % n:
            raise ValueError(f"frame length must be a multiple of block_size={n}, "
                             f"got {len(x)}")
        e = np.empty(len(x))
        for i in range(0, len(x), n):
            e[i:i + n] = self._block(x[i:i + n], d[i:i + n], adapt)
        self.echo_estimate = d - e
        return e
