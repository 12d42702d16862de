"""Noisy speech to suppress: white, pink and babble noise added at a chosen SNR, seeded.

- :func:`make_noise`: ``n`` samples of unit-RMS noise of one kind:
  ``"white"`` (flat spectrum), ``"pink"`` (power falling 3 dB per octave, 1/f, like
  many fans and road noise), ``"babble"`` (several talkers at once: copies of the
  course's other-language clip at random offsets, so its words are not the clean
  clip's words);
- :func:`add_noise`: clean + noise scaled so that 10 log10(P_clean / P_noise) is the
  SNR asked for, both powers over the whole clip (not the active-speech level of ITU-T
  P.56: pauses count, so speech is louder than the SNR while it is active);
- :func:`step_noise`: noise whose level steps up at a given time, to watch a noise
  estimate catch up;
- :func:`speech_pauses`: which samples of a clean clip fall in pauses, to measure
  residual noise where there is nothing else.

Everything random takes a ``seed``.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import numpy as np

__all__ = ["NOISE_KINDS", "make_noise", "add_noise", "step_noise", "speech_pauses"]

NOISE_KINDS = ("white", "pink", "babble")
BABBLE_TALKERS = 6


def _check_kind(kind: str) -> str:
    if kind not in NOISE_KINDS:
        raise ValueError(f"kind must be one of {list(NOISE_KINDS)}, got {kind!r}")
    return kind


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def make_noise(kind: str, n_samples: int, rate_hz: int = 16000, *, seed: int = 0,
               babble_lang: str = "zh", talkers: int = BABBLE_TALKERS) -> np.ndarray:
    """``n_samples`` of unit-RMS noise of ``kind`` ("white", "pink" or "babble")."""
    _check_kind(kind)
    if not (isinstance(n_samples, int | np.integer) and n_samples >= 1):
        raise ValueError(f"n_samples must be an int >= 1, got {n_samples!r}")
    rng = np.random.default_rng(seed)
    if kind == "white":
        x = rng.standard_normal(n_samples)
    elif kind == "pink":
        spec = np.fft.rfft(rng.standard_normal(n_samples))
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = np.inf  # no DC
        x = np.fft.irfft(spec / np.sqrt(f), n_samples)  # power ~ 1/f
    else:
        if not 1 <= talkers <= 32:
            raise ValueError(f"talkers must be in [1, 32], got {talkers!r}")
        from rtlib.media.clips import load_speech

        clip = load_speech(babble_lang, rate_hz, as_float=True)
        idx = np.arange(n_samples)
        x = np.zeros(n_samples)
        for _ in range(talkers):
            x += clip[(idx + rng.integers(len(clip))) % len(clip)]
        x -= x.mean()
    rms = _rms(x)
    return x / rms if rms > 0 else x


def add_noise(clean, snr_db: float, *, kind: str = "white", rate_hz: int = 16000, seed: int = 0,
              babble_lang: str = "zh") -> tuple[np.ndarray, np.ndarray]:
    """``(noisy, noise)`` with ``noisy = clean + noise`` at ``snr_db`` over the whole clip.

    >>> clean = np.sin(np.arange(16000) * 0.1)
    >>> noisy, noise = add_noise(clean, 10.0, seed=1)
    >>> round(float(10 * np.log10(np.mean(clean ** 2) / np.mean(noise ** 2))), 6)
    10.0
    """
    clean = np.asarray(clean, dtype=np.float64)
    if not -30.0 <= snr_db <= 60.0:
        raise ValueError(f"snr_db must be in [-30, 60] dB, got {snr_db!r}")
    p_clean = _rms(clean)
    if p_clean == 0:
        raise ValueError("clean must not be silent (its power sets the noise level)")
    noise = make_noise(kind, len(clean), rate_hz, seed=seed, babble_lang=babble_lang)
    noise *= p_clean / 10.0 ** (snr_db / 20.0)
    return clean + noise, noise


def step_noise(n_samples: int, rate_hz: int = 16000, *, step_s: float, step_db: float,
               rms: float = 0.01, kind: str = "white", seed: int = 0) -> np.ndarray:
    """Noise at ``rms`` that becomes ``step_db`` louder (or quieter) from ``step_s`` on."""
    if not 0 <= step_s <= n_samples / rate_hz:
        raise ValueError(f"step_s must be in [0, {n_samples / rate_hz:g}] s, got {step_s!r}")
    if not -40.0 <= step_db <= 40.0:
        raise ValueError(f"step_db must be in [-40, 40] dB, got {step_db!r}")
    x = make_noise(kind, n_samples, rate_hz, seed=seed) * rms
    x[int(round(step_s * rate_hz)):] *= 10.0 ** (step_db / 20.0)
    return x


def speech_pauses(clean, rate_hz: int = 16000, *, frame_ms: float = 20.0,
                  below_db: float = 40.0) -> np.ndarray:
    """Per-sample mask: True where the clean clip's ``frame_ms`` frame is ``below_db``
    under its loudest frame (a pause), False in speech and in a final part frame."""
    x = np.asarray(clean, dtype=np.float64)
    if not 5.0 <= frame_ms <= 100.0:
        raise ValueError(f"frame_ms must be in [5, 100] ms, got {frame_ms!r}")
    if not 10.0 <= below_db <= 100.0:
        raise ValueError(f"below_db must be in [10, 100] dB, got {below_db!r}")
    n = int(round(rate_hz * frame_ms / 1000))
    frames = len(x) // n
    mask = np.zeros(len(x), dtype=bool)
    if frames == 0:
        return mask
    energy = np.sum(x[: frames * n].reshape(frames, n) ** 2, axis=1) + 1e-20
    level_db = 10 * np.log10(energy)
    quiet = level_db < level_db.max() - below_db
    mask[: frames * n] = np.repeat(quiet, n)
    return mask
