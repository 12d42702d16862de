"""Double-talk detection: stop the echo canceller from learning the near-end talker.

While only the far end talks, the microphone holds echo (and noise) alone, and the
adaptive filter learns the echo path from the error.  When the near end talks too
("double talk"), the error is mostly their voice; an adaptive filter that keeps
adapting treats it as echo-path error and wanders off: the misalignment jumps and
the echo comes back, often louder than without any canceller.  A double-talk detector
(DTD) watches each frame and freezes adaptation while both talk:

    far x, mic d --> [ detector ] -- double talk? --> canceller.process(x, d, adapt=not dt)
                        ^                                   |
                        +---- echo estimate y (NCC only) ---+

- :class:`GeigelDetector` (D. L. Duttweiler, "A twelve-channel digital echo canceler",
  IEEE Trans. Commun. 26(5), 1978): double talk if |d(n)| > T max{|x(n)|, ...,
  |x(n-L+1)|}.  With an echo path that attenuates by at least 6 dB, the echo alone can
  never reach half the recent far-end peak, so T = 0.5; anything louder must be the
  near end.  Cheap, but it needs a known bound on the echo return loss, and Duttweiler
  wrote it for telephone-line echo: in rtlib.audio.echo_scenes' default room (echo
  return loss 6 dB by power) the acoustic echo alone reached 0.57 of the far-end peak,
  so Geigel also fires in single talk, and it misses a near end no louder than the echo.
- :class:`NccDetector` (J. Benesty, D. R. Morgan, J. H. Cho, "A new class of doubletalk
  detectors based on cross-correlation", IEEE Trans. SAP 8(2), 2000): the normalised
  cross-correlation xi^2 = r_xd^T (sigma_d^2 R_xx)^-1 r_xd is 1 when d is a linear
  function of x (echo only) and drops below 1 as the near end adds energy uncorrelated
  with x.  Since R_xx^-1 r_xd is the Wiener solution, which a converged canceller
  approximates by its weights w, r_xd^T R_xx^-1 r_xd ~ E[d y] with y = w^T x the echo
  estimate: xi^2 ~ E[d y] / E[d^2], with no matrix to invert.  This form needs a
  roughly converged filter, so it stays silent for ``warmup_s`` of far-end activity.
  When the far end is silent xi drops too and adaptation freezes: harmless, there is
  nothing to learn then.
- :class:`DoubleTalkCanceller` wraps any canceller with a ``predict`` method (NLMS,
  FDAF) and a detector; it records each frame's decision.

Both detectors hold the decision for ``hangover_ms`` after the last detection, so
the quiet gaps inside a near-end phrase do not re-open adaptation.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.audio.nlms import check_frames, taps_for

__all__ = ["DoubleTalkCanceller", "GeigelDetector", "NccDetector"]


class _Hangover:
    """Keeps a detection alive for ``hangover`` samples after it last fired."""

    def __init__(self, hangover_ms: float, rate_hz: int):
        if not 0.0 <= hangover_ms <= 2000.0:
            raise ValueError(f"hangover_ms must be in [0, 2000], got {hangover_ms!r}")
        self.samples = int(round(hangover_ms * rate_hz / 1000.0))
        self.left = 0

    def __call__(self, fired_at: int | None, frame_len: int) -> bool:
        """``fired_at``: index of the last firing sample in the frame, or None."""
        if fired_at is not None:
            self.left = self.samples + fired_at + 1 - frame_len
            return True
        active = self.left > 0
        self.left = max(0, self.left - frame_len)
        return active


class GeigelDetector:
    """The Geigel detector: double talk if |d(n)| > threshold * max |x| over the last L.

    ``window_ms`` is L (it should span the echo path's delay; default 128 ms),
    ``threshold`` T in (0, 2] (0.5 assumes an echo return loss of at least 6 dB).
    :meth:`update` returns True if any sample of the frame fired, or the hangover of
    ``hangover_ms`` since the last firing is still running (the 100 ms default is ours).
    """

    def __init__(self, rate_hz: int = 16000, threshold: float = 0.5, window_ms: float = 128.0,
                 hangover_ms: float = 100.0):
        if not 0.0 < threshold <= 2.0:
            raise ValueError(f"threshold must be in (0, 2], got {threshold!r}")
        self.rate_hz = int(rate_hz)
        self.threshold = float(threshold)
        self.window = taps_for(window_ms, rate_hz)
        self._history = np.zeros(self.window - 1)
        self._hold = _Hangover(hangover_ms, rate_hz)

    def update(self, far_frame, mic_frame, echo_estimate=None) -> bool:
        """Feed one frame; True while double talk is declared (``echo_estimate`` unused)."""
        from scipy.ndimage import maximum_filter1d

        x, d = check_frames(far_frame, mic_frame)
        n = len(x)
        buf = np.concatenate((self._history, np.abs(x)))
        # maximum over the window ending at each sample (origin shifts it backwards)
        peak = maximum_filter1d(buf, self.window, origin=(self.window - 1) // 2)[-n:] if n else buf[:0]
        self._history = buf[n:]
        fired = np.flatnonzero(np.abs(d) > self.threshold * peak)
        return self._hold(int(fired[-1]) if len(fired) else None, n)


class NccDetector:
    """Benesty's normalised cross-correlation detector, in its practical form.

    xi^2 = E[d y] / E[d^2] from exponential averages with time constant ``tau_ms``
    (y the canceller's echo estimate for the frame); double talk if xi < ``threshold``
    (in (0, 1)).  Frames with far-end power below ``far_floor`` (mean square) do not
    count towards the ``warmup_s`` of far-end activity before the first decision.
    The defaults (0.85, 50 ms, 100 ms hangover, 1 s) are ours, chosen on
    rtlib.audio.echo_scenes' default room (tests/audio/test_dtd.py checks them).
    """

    def __init__(self, rate_hz: int = 16000, threshold: float = 0.85, tau_ms: float = 50.0,
                 hangover_ms: float = 100.0, warmup_s: float = 1.0, far_floor: float = 1e-6):
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
        if not 1.0 <= tau_ms <= 5000.0:
            raise ValueError(f"tau_ms must be in [1, 5000], got {tau_ms!r}")
        if not 0.0 <= warmup_s <= 60.0:
            raise ValueError(f"warmup_s must be in [0, 60], got {warmup_s!r}")
        self.rate_hz = int(rate_hz)
        self.threshold = float(threshold)
        self.tau_s = tau_ms / 1000.0
        self.warmup_s = float(warmup_s)
        self.far_floor = float(far_floor)
        self._r_dy = 0.0
        self._r_dd = 0.0
        self._far_active_s = 0.0
        self._hold = _Hangover(hangover_ms, rate_hz)
        self.xi = math.nan              # the last frame's decision statistic

    def update(self, far_frame, mic_frame, echo_estimate) -> bool:
        """Feed one frame and the canceller's echo estimate for it; True in double talk."""
        x, d = check_frames(far_frame, mic_frame)
        y = np.asarray(echo_estimate, dtype=np.float64)
        if y.shape != d.shape:
            raise ValueError(f"echo_estimate must have the frame's shape {d.shape}, got {y.shape}")
        n = len(d)
        if n == 0:
            return self._hold(None, 0)
        a = math.exp(-n / (self.rate_hz * self.tau_s))
        self._r_dy = a * self._r_dy + (1 - a) * float(np.mean(d * y))
        self._r_dd = a * self._r_dd + (1 - a) * float(np.mean(d * d))
        self.xi = math.sqrt(max(self._r_dy, 0.0) / self._r_dd) if self._r_dd > 0 else 1.0
        if float(np.mean(x * x)) > self.far_floor:
            self._far_active_s += n / self.rate_hz
        if self._far_active_s < self.warmup_s:
            return self._hold(None, n)
        return self._hold(n - 1 if self.xi < self.threshold else None, n)


class DoubleTalkCanceller:
    """A canceller that adapts only while ``detector`` sees no double talk.

    ``canceller``: an NLMS or FDAF canceller (anything with ``predict`` and
    ``process(far, mic, adapt)``); ``detector``: a Geigel or NCC detector.  Each
    frame's decision is appended to ``decisions``.
    """

    def __init__(self, canceller, detector):
        self.canceller = canceller
        self.detector = detector
        self.decisions: list[bool] = []
        self.block_size = getattr(canceller, "block_size", None)

    @property
    def weights(self) -> np.ndarray:
        return self.canceller.weights

    @property
    def echo_estimate(self) -> np.ndarray:
        return self.canceller.echo_estimate

    def process(self, far_frame, mic_frame, adapt: bool = True) -> np.ndarray:
        """Decide on the frame, then cancel its echo, adapting only without double talk."""
        y = self.canceller.predict(far_frame)
        double_talk = self.detector.update(far_frame, mic_frame, y)
        self.decisions.append(double_talk)
        return self.canceller.process(far_frame, mic_frame, adapt=adapt and not double_talk)
