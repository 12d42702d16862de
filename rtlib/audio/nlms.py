"""Time-domain NLMS echo cancellation, sample by sample, fed frame by frame (sans-IO).

The canceller models the echo path (loudspeaker -> room -> microphone) with an FIR
filter w of L taps, predicts the echo from the far-end signal x, and subtracts it:

    x(n) --+--> [ w: L taps ] --> y(n) = w^T x(n)   (echo estimate)
           |                        |
           |        mic d(n) ---> (+) --> e(n) = d(n) - y(n)   (sent to the far end)
           |                        |
           +------> NLMS update <---+   w <- w + mu e(n) x(n) / (delta + x(n)^T x(n))

with x(n) = [x(n), x(n-1), ..., x(n-L+1)]^T the last L far-end samples.  Normalising
the step by the input energy x^T x makes the convergence speed independent of the
far-end level; the update is stable for 0 < mu < 2 and fastest (for white input) at
mu = 1 (S. Haykin, "Adaptive Filter Theory", 4th ed., Prentice Hall 2002, sec. 6.1;
E. Haensler, G. Schmidt, "Acoustic Echo and Noise Control", Wiley 2004, sec. 7.2).
delta regularises the division when the far end is silent.

- :func:`nlms_update` is one step of the recursion on plain arrays: the exercise.
- :class:`NlmsCanceller` runs the same recursion over frames, holding the last L - 1
  far-end samples between frames; ``process(far, mic, adapt=False)`` filters without
  adapting (a double-talk detector freezes the filter this way, see rtlib.audio.dtd).
- :func:`run_frames` feeds whole signals to any canceller frame by frame.

Speed: the recursion cannot be vectorised across samples (w changes after every one),
so each sample costs one dot product and one in-place "a x plus y" of L values, both
done by BLAS (``ddot``, ``daxpy``) on a sliding-window view of the far-end history:
no copies.  The energies x^T x of a whole frame are vectorised (a cumulative sum).
With L = 2048 (128 ms at 16 kHz) this ran at 13-23x real time on one core of the
course machine, depending on the run (benchmarks/bench_audio.py, CPU time); the
frequency-domain filter in rtlib.audio.fdaf ran at 60-99x there.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.linalg.blas import daxpy, ddot

from rtlib.validate import check_rate_hz

__all__ = ["NlmsCanceller", "check_frames", "nlms_update", "run_frames", "taps_for"]

#: Default regularisation, as a per-sample power: delta = L * REG_POWER, i.e. the
#: normalisation never divides by less than the energy of L samples at -50 dB
#: full scale (our choice, so a silent far end does not blow the step up).
REG_POWER = 1e-5


def taps_for(filter_ms: float, rate_hz: int) -> int:
    """Number of FIR taps spanning ``filter_ms`` at ``rate_hz`` (filter_ms in (0, 2000])."""
    rate_hz = check_rate_hz(rate_hz)
    if not 0.0 < filter_ms <= 2000.0:
        raise ValueError(f"filter_ms must be in (0, 2000], got {filter_ms!r}")
    return max(1, int(round(filter_ms * rate_hz / 1000.0)))


def check_frames(far_frame, mic_frame) -> tuple[np.ndarray, np.ndarray]:
    """Both frames as float64 1-D arrays of the same length, else ValueError."""
    x = np.asarray(far_frame, dtype=np.float64)
    d = np.asarray(mic_frame, dtype=np.float64)
    if x.ndim != 1 or d.ndim != 1 or len(x) != len(d):
        raise ValueError(f"far_frame and mic_frame must be 1-D of the same length, "
                         f"got shapes {x.shape} and {d.shape}")
    return x, d


def nlms_update(w, x_buf, d: float, mu: float, eps: float) -> tuple[float, np.ndarray]:
    """One NLMS step: returns ``(e, w_new)``; ``w`` is not modified.

    ``x_buf`` = [x(n), x(n-1), ..., x(n-L+1)] (newest first, aligned with ``w``),
    ``d`` the microphone sample d(n):

        e     = d - w . x_buf
        w_new = w + mu * e * x_buf / (eps + x_buf . x_buf)
    """
    w = np.asarray(w, dtype=np.float64)
    x = np.asarray(x_buf, dtype=np.float64)
    if w.shape != x.shape or w.ndim != 1:
        raise ValueError(f"w and x_buf must be 1-D of the same length, got {w.shape} and {x.shape}")
    e = float(d - w @ x)
    return e, w + (mu * e / (eps + x @ x)) * x


class NlmsCanceller:
    """An NLMS acoustic echo canceller fed frame by frame (sans-IO).

    ``filter_ms`` (or ``taps``) sets the filter length L: it must cover the part of
    the room impulse response worth cancelling.  ``step`` is mu in (0, 2).
    ``reg`` is delta (default L * REG_POWER).  :meth:`process` takes any frame length.
    """

    def __init__(self, filter_ms: float = 128.0, rate_hz: int = 16000, step: float = 0.5,
                 reg: float | None = None, taps: int | None = None):
        if taps is None:
            taps = taps_for(filter_ms, rate_hz)
        elif not 1 <= taps <= 65536:
            raise ValueError(f"taps must be in [1, 65536], got {taps!r}")
        if not 0.0 < step < 2.0:
            raise ValueError(f"step must be in (0, 2), got {step!r}")
        if reg is not None and not reg > 0:
            raise ValueError(f"reg must be > 0, got {reg!r}")
        self.rate_hz = check_rate_hz(rate_hz)
        self.taps = int(taps)
        self.step = float(step)
        self.reg = float(reg) if reg is not None else self.taps * REG_POWER
        self.reset()

    def reset(self) -> None:
        """Forget the echo path and the far-end history."""
        # Weights stored oldest-tap-first, so that they line up with a forward sliding
        # window [x(n-L+1), ..., x(n)] of the history: no reversed copies per sample.
        self._w_rev = np.zeros(self.taps)
        self._history = np.zeros(self.taps - 1)
        self.echo_estimate = np.zeros(0)

    @property
    def weights(self) -> np.ndarray:
        """The current estimate of the echo path, h_hat[0] first (a copy)."""
        return self._w_rev[::-1].copy()

    def predict(self, far_frame) -> np.ndarray:
        """The echo estimate y for ``far_frame`` with the current weights; no state changes.

        What :meth:`process` with ``adapt=False`` would subtract (a double-talk
        detector looks at it before deciding whether to adapt on this frame).
        """
        x = np.asarray(far_frame, dtype=np.float64)
        windows = sliding_window_view(np.concatenate((self._history, x)), self.taps)
        return windows @ self._w_rev

    def process(self, far_frame, mic_frame, adapt: bool = True) -> np.ndarray:
        """Cancel the echo in one frame; returns the error e (same length as the frame).

        ``adapt=False`` filters with the current weights and leaves them unchanged.
        The frame's echo estimate y = d - e is kept in ``self.echo_estimate``.
        """
        x, d = check_frames(far_frame, mic_frame)
        n_new = len(x)
        buf = np.concatenate((self._history, x))
        windows = sliding_window_view(buf, self.taps)      # windows[n] ends at x(n)
        w, mu, delta = self._w_rev, self.step, self.reg
        if not adapt:                                       # frozen: one matrix product
            e = d - windows @ w
        else:
            csum = np.concatenate(([0.0], np.cumsum(buf * buf)))
            energy = csum[self.taps:] - csum[:n_new]        # x(n)^T x(n) for each n
            e = np.empty(n_new)
            for n in range(n_new):
                e[n] = d[n] - ddot(w, windows[n])                              # e = d - w^T x
                daxpy(windows[n], w, a=mu * e[n] / (delta + energy[n]))      # w += mu e x / (delta + x^T x)
        self._history = buf[n_new:].copy()
        self.echo_estimate = d - e
        return e


def run_frames(canceller, far, mic, frame_size: int = 160, adapt: bool = True) -> np.ndarray:
    """Feed whole signals to ``canceller.process`` in frames of ``frame_size``; return e.

    Any object with ``process(far_frame, mic_frame, adapt=...)`` works (NLMS, FDAF,
    the double-talk wrapper).  A partial last frame is passed as it is, except to a
    canceller with a fixed ``block_size`` (FDAF, Speex), which gets frames of a multiple
    of it and a zero-padded last frame, its output cut back.
    """
    x, d = check_frames(far, mic)
    if not frame_size >= 1:
        raise ValueError(f"frame_size must be >= 1, got {frame_size!r}")
    fixed = getattr(canceller, "block_size", None)
    if fixed and frame_size % fixed:
        raise ValueError(f"frame_size must be a multiple of the canceller's block_size "
                         f"{fixed}, got {frame_size}")
    out = np.empty(len(x))
    for i in range(0, len(x), frame_size):
        xs, ds = x[i:i + frame_size], d[i:i + frame_size]
        m = len(xs)
        if fixed and m % fixed:
            pad = fixed - m % fixed
            xs, ds = np.pad(xs, (0, pad)), np.pad(ds, (0, pad))
        out[i:i + m] = canceller.process(xs, ds, adapt=adapt)[:m]
    return out
