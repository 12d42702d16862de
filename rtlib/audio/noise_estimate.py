"""Short-time spectra and a noise estimate that tracks: the front half of noise suppression.

A noise suppressor works on short overlapping frames of the signal, in the frequency
domain, and needs to know how loud the noise is in each frequency bin *while people
talk over it*.  This module holds those two pieces; ``rtlib.audio.noise`` builds the
suppressors on top of them.

    hop of samples (16 ms)
      -> Stft.analyze         sqrt-Hann window, 32 ms frame, 50 % overlap -> spectrum Y(k)
      -> |Y(k)|^2             periodogram
      -> MinimumStatistics    smoothed periodogram P(k), its minimum over ~1.5 s,
                              times a bias factor -> noise PSD estimate  N(k)
      (a suppressor multiplies Y(k) by a gain G(k) computed from |Y|^2 and N)
      -> Stft.synthesize      inverse FFT, sqrt-Hann window, overlap-add -> hop of samples

**Why sqrt-Hann twice.**  A periodic Hann window ``w(n) = 0.5 - 0.5 cos(2 pi n / N)``
shifted by half its length sums to exactly one.  Windowing once before the FFT and once
after the inverse FFT with ``sqrt(w)`` applies ``w`` in total, so with unity gain the
overlap-added output is the input, delayed by one hop (``Stft.delay_samples``).

**Why the minimum.**  Speech comes and goes; noise stays.  In every frequency bin the
power of noisy speech never drops below the noise power for long, so the minimum of a
smoothed periodogram over a window longer than a word or a syllable pause (~1.5 s)
follows the noise floor, with no voice activity detector.  The minimum of a random
quantity is below its mean, so the minimum is multiplied by a bias factor.  R. Martin
derives that factor analytically and also adapts the smoothing constant per bin and
frame; this module keeps his structure (smoothed periodogram, minimum over ``U``
sub-windows of ``V`` frames, bias compensation) with a fixed smoothing constant, and
*measures* the bias on white Gaussian noise (:func:`minimum_bias`), which a learner can
re-run for any setting.  Tracking a noise that gets louder takes up to one window
(``U * V`` frames) plus a sub-window; a noise that gets quieter is followed as fast as
the smoothing lets the periodogram fall (measured with the defaults, white noise
dropping 20 dB: within 2.5 dB after 0.7 s; rising 20 dB under speech: within 1 dB
after 2 s, see tests/audio/test_noise.py).

References: R. Martin, "Noise power spectral density estimation based on optimal
smoothing and minimum statistics", IEEE Trans. Speech and Audio Processing 9(5),
504-512, 2001 (smoothing, minimum tracking in sub-windows, bias compensation);
J. B. Allen, "Short term spectral analysis, synthesis, and modification by discrete
Fourier transform", IEEE Trans. ASSP 25(3), 1977 (overlap-add).

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = [
    "Stft",
    "MinimumStatistics",
    "minimum_bias",
    "power_spectrogram",
    "estimate_noise_psd",
    "check_rate_hz",
]

FRAME_MS = 32.0            # frame length; the hop is half of it (50 % overlap)
SMOOTHING = 0.85           # first-order smoothing of the periodogram, per frame (our choice, see tests)
WINDOW_S = 1.5             # minimum-search window: 96 frames of 16 ms, the D = 96 of Martin 2001
SUB_WINDOWS = 8            # U, number of sub-windows (Martin 2001: U = 8 of V = 12 frames)
RATES_HZ = (8000, 16000, 32000, 44100, 48000)


def check_rate_hz(rate_hz) -> int:
    """``rate_hz`` as an int, or ValueError unless it is one of :data:`RATES_HZ`."""
    if rate_hz not in RATES_HZ:
        raise ValueError(f"rate_hz must be one of {list(RATES_HZ)}, got {rate_hz!r}")
    return int(rate_hz)


def _frame_len(rate_hz: int, frame_ms: float) -> int:
    if not 8.0 <= frame_ms <= 128.0:
        raise ValueError(f"frame_ms must be in [8, 128] ms, got {frame_ms!r}")
    return 2 * int(round(rate_hz * frame_ms / 2000.0))


def sqrt_hann(frame_len: int) -> np.ndarray:
    """The square root of the periodic Hann window of ``frame_len`` samples."""
    n = np.arange(frame_len)
    return np.sqrt(0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_len))


class Stft:
    """Streaming short-time Fourier transform: one hop in, one spectrum out, and back.

    ``analyze(hop)`` shifts ``hop_len`` new samples into a ``frame_len`` buffer and
    returns the ``frame_len // 2 + 1`` bins of its sqrt-Hann-windowed FFT.
    ``synthesize(spectrum)`` inverts it, windows again and overlap-adds, returning
    ``hop_len`` finished samples.  ``synthesize(analyze(x))`` hop after hop gives the
    input back delayed by ``delay_samples`` (= one hop: 16 ms at the default 32 ms).

    >>> s = Stft(16000)
    >>> s.frame_len, s.hop_len, s.delay_samples, s.n_bins
    (512, 256, 256, 257)
    """

    def __init__(self, rate_hz: int = 16000, frame_ms: float = FRAME_MS):
        self.rate_hz = check_rate_hz(rate_hz)
        self.frame_len = _frame_len(self.rate_hz, frame_ms)
        self.hop_len = self.frame_len // 2
        self.n_bins = self.frame_len // 2 + 1
        self.delay_samples = self.hop_len
        self.hop_s = self.hop_len / self.rate_hz
        self.window = sqrt_hann(self.frame_len)
        self.freqs_hz = np.fft.rfftfreq(self.frame_len, 1.0 / self.rate_hz)
        self._in = np.zeros(self.frame_len)
        self._tail = np.zeros(self.hop_len)
        self.frames_analyzed = 0

    @property
    def primed(self) -> bool:
        """True once the last analysed frame held only input, none of the initial zeros."""
        return self.frames_analyzed * self.hop_len >= self.frame_len

    def analyze(self, hop) -> np.ndarray:
        """The complex spectrum of the frame ending with these ``hop_len`` samples."""
        hop = np.asarray(hop, dtype=np.float64)
        if hop.shape != (self.hop_len,):
            raise ValueError(f"frame must hold hop_len = {self.hop_len} samples, got shape {hop.shape}")
        buf = self._in
        buf[: self.hop_len] = buf[self.hop_len:]
        buf[self.hop_len:] = hop
        self.frames_analyzed += 1
        return np.fft.rfft(buf * self.window)

    def synthesize(self, spectrum) -> np.ndarray:
        """``hop_len`` output samples: the inverse of one (modified) spectrum, overlap-added."""
        spectrum = np.asarray(spectrum)
        if spectrum.shape != (self.n_bins,):
            raise ValueError(f"spectrum must hold n_bins = {self.n_bins} values, got shape {spectrum.shape}")
        y = np.fft.irfft(spectrum, self.frame_len) * self.window
        out = self._tail + y[: self.hop_len]
        self._tail = y[self.hop_len:].copy()
        return out


def power_spectrogram(x, rate_hz: int = 16000, frame_ms: float = FRAME_MS) -> np.ndarray:
    """|Y|^2 of every whole frame of ``x`` (shape ``frames x n_bins``), as :class:`Stft` sees it.

    Frame ``i`` covers samples ``i * hop_len`` to ``i * hop_len + frame_len``: the frames
    a streaming :class:`Stft` analyses once it is :attr:`~Stft.primed`.
    """
    stft = Stft(rate_hz, frame_ms)
    x = np.asarray(x, dtype=np.float64)
    hop, n = stft.hop_len, stft.frame_len
    if len(x) < n:
        return np.zeros((0, stft.n_bins))
    frames = np.lib.stride_tricks.sliding_window_view(x, n)[::hop]
    spec = np.fft.rfft(frames * stft.window, axis=1)
    return spec.real ** 2 + spec.imag ** 2


class MinimumStatistics:
    """Noise PSD estimate by minimum statistics (Martin 2001), simplified.

    ``update(power)`` takes one frame's periodogram ``|Y(k)|^2`` and returns the noise
    PSD estimate for that frame, in the same units:

    1. smoothing: ``P(k) = a P(k) + (1 - a) |Y(k)|^2`` with a fixed ``a = smoothing``
       (Martin adapts ``a`` per bin and frame, his "optimal smoothing"; we do not).
       Over the first ``1 / (1 - a)`` frames ``P`` is a running mean and is itself the
       estimate: a minimum taken from one or two raw periodograms would sit far below
       the noise for a whole window (a start-up guard of ours);
    2. minimum tracking: the minimum of ``P`` over the current sub-window of ``V``
       frames; every ``V`` frames it is stored in a ring of ``U`` sub-window minima,
       and the window minimum is the smallest of those and the running one (Martin's
       scheme: memory of ``U`` values instead of ``U * V``);
    3. bias compensation: ``N(k) = bias * minimum`` (Martin derives
       the bias analytically; here it is measured by :func:`minimum_bias` unless given).

    ``window_s`` and ``hop_s`` set ``U * V``, the number of frames searched.
    """

    def __init__(self, n_bins: int, hop_s: float, *, smoothing: float = SMOOTHING,
                 window_s: float = WINDOW_S, sub_windows: int = SUB_WINDOWS,
                 bias: float | None = None):
        if not (isinstance(n_bins, int | np.integer) and n_bins >= 1):
            raise ValueError(f"n_bins must be an int >= 1, got {n_bins!r}")
        if not 0.001 <= hop_s <= 0.1:
            raise ValueError(f"hop_s must be in [0.001, 0.1] s, got {hop_s!r}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {smoothing!r}")
        if not (isinstance(sub_windows, int | np.integer) and 1 <= sub_windows <= 32):
            raise ValueError(f"sub_windows must be an int in [1, 32], got {sub_windows!r}")
        if not 4 * hop_s <= window_s <= 10.0:
            raise ValueError(f"window_s must be in [4 * hop_s, 10] = [{4 * hop_s:g}, 10] s, got {window_s!r}")
        if bias is not None and not 1.0 <= bias <= 100.0:
            raise ValueError(f"bias must be in [1, 100] (or None to measure it), got {bias!r}")
        self.n_bins = int(n_bins)
        self.smoothing = float(smoothing)
        self.sub_windows = int(sub_windows)
        self.sub_window_frames = max(1, math.ceil(window_s / hop_s / sub_windows - 1e-9))  # V
        self.window_frames = self.sub_windows * self.sub_window_frames            # D = U * V
        self.bias = float(bias) if bias is not None else minimum_bias(
            self.smoothing, self.window_frames, self.sub_windows)
        self._p: np.ndarray | None = None
        self._sub_min = np.full(self.n_bins, np.inf)
        self._ring = np.full((self.sub_windows, self.n_bins), np.inf)
        self._ring_min = np.full(self.n_bins, np.inf)
        self._ring_pos = 0
        self._count = 0
        self.frames = 0
        self._warmup_frames = math.ceil(1.0 / (1.0 - self.smoothing))  # the smoothing's time constant
        self.noise_psd = np.zeros(self.n_bins)

    def update(self, power) -> np.ndarray:
        """Feed one periodogram; returns the noise PSD estimate (a new array)."""
        power = np.asarray(power, dtype=np.float64)
        if power.shape != (self.n_bins,):
            raise ValueError(f"power must hold n_bins = {self.n_bins} values, got shape {power.shape}")
        self.frames += 1
        if self._p is None:
            self._p = power.copy()
        else:  # a running mean over the first frames, then the fixed smoothing
            a = min(self.smoothing, 1.0 - 1.0 / self.frames)
            self._p *= a
            self._p += (1.0 - a) * power
        if self.frames < self._warmup_frames:  # one periodogram is no minimum to trust:
            self.noise_psd = self._p.copy()     # until P has settled, P itself is the estimate
            return self.noise_psd.copy()
        np.minimum(self._sub_min, self._p, out=self._sub_min)
        window_min = np.minimum(self._ring_min, self._sub_min)
        self._count += 1
        if self._count == self.sub_window_frames:  # sub-window full: keep its minimum, start anew
            self._ring[self._ring_pos] = self._sub_min
            self._ring_pos = (self._ring_pos + 1) % self.sub_windows
            self._ring_min = self._ring.min(axis=0)  # changes only here, once per sub-window
            self._sub_min = np.full(self.n_bins, np.inf)
            self._count = 0
        self.noise_psd = self.bias * window_min
        return self.noise_psd.copy()

    @property
    def smoothed_psd(self) -> np.ndarray:
        """The smoothed periodogram P(k) of the last frame (zeros before the first)."""
        return np.zeros(self.n_bins) if self._p is None else self._p.copy()


@lru_cache(maxsize=32)
def minimum_bias(smoothing: float = SMOOTHING, window_frames: int = 96, sub_windows: int = SUB_WINDOWS,
                 *, seconds: float | None = None, seed: int = 0) -> float:
    """How far below the mean the tracked minimum sits, measured on white Gaussian noise.

    Runs ``seconds`` (default: 20 s or eight windows, the longer) of seeded white noise
    at 16 kHz through a 32 ms :class:`Stft` and a
    :class:`MinimumStatistics` with ``bias=1``, and returns mean periodogram / mean
    tracked minimum over the frames after the first full window.  Martin (2001)
    computes the same factor analytically from the periodogram's
    degrees of freedom; measuring it keeps the code short and lets a learner see it.
    The frame overlap correlates neighbouring frames as the real input does.
    """
    stft = Stft(16000, FRAME_MS)
    if seconds is None:
        seconds = max(20.0, 8 * window_frames * stft.hop_s)
    x = np.random.default_rng(seed).standard_normal(int(seconds * 16000))
    power = power_spectrogram(x, 16000, FRAME_MS)
    v = max(1, window_frames // sub_windows)
    # Only the frame count matters here, so the window is given in 1 ms "frames".
    est = MinimumStatistics(stft.n_bins, 0.001, smoothing=smoothing,
                            window_s=v * sub_windows * 0.001, sub_windows=sub_windows, bias=1.0)
    mins = np.array([est.update(p) for p in power])
    start = est.window_frames
    if len(power) <= start + 10:
        raise ValueError(f"seconds={seconds!r} is too short for a {window_frames}-frame window")
    return float(power[start:, 1:-1].mean() / mins[start:, 1:-1].mean())


def estimate_noise_psd(x, rate_hz: int = 16000, *, frame_ms: float = FRAME_MS, **params):
    """Whole-signal helper: ``(t_s, freqs_hz, noise_psd)`` with one row per frame.

    ``params`` go to :class:`MinimumStatistics`.  ``t_s[i]`` is the end of frame ``i``
    (frames as :func:`power_spectrogram` cuts them).
    """
    stft = Stft(rate_hz, frame_ms)
    power = power_spectrogram(x, rate_hz, frame_ms)
    est = MinimumStatistics(stft.n_bins, stft.hop_s, **params)
    psd = np.array([est.update(p) for p in power]).reshape(len(power), stft.n_bins)
    t_s = (np.arange(len(power)) + 2) * stft.hop_s
    return t_s, stft.freqs_hz, psd
