"""The course's media clips: synthetic speech (English, Mandarin) and a test-pattern video.

Speech clips live in ``data/speech/`` as 16-bit mono WAV at 8 kHz and 16 kHz, made
by ``scripts/make_speech.py`` (espeak-ng + sox, text written for the course, CC0).
Other rates (e.g. 48 kHz for Opus) are resampled on load from the 16 kHz file with a
polyphase filter (``scipy.signal.resample_poly``).

The video clip is generated in code: a moving colour-bar test pattern with a box
that travels across the picture, a scrolling grey ramp, a static detailed patch
(fine texture, as real pictures have, which makes key frames expensive) and a large
frame counter, so a lost, frozen or repeated frame is visible at a glance.

Used in: notebooks/06_codecs.ipynb, notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import wave
from functools import lru_cache
from pathlib import Path

import numpy as np

SPEECH_DIR = Path(__file__).resolve().parents[2] / "data" / "speech"
LANGUAGES = {"en": "English", "zh": "Mandarin Chinese (普通话)"}
STORED_RATES_HZ = (8000, 16000)


def read_wav(path) -> tuple[np.ndarray, int]:
    """A 16-bit mono WAV file as (int16 samples, rate_hz)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono WAV, got {8 * w.getsampwidth()}-bit, "
                             f"{w.getnchannels()} channel(s)")
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.int16)
    return x, rate


def speech_path(lang: str = "en", rate_hz: int = 8000) -> Path:
    """The WAV file holding the ``lang`` clip stored at ``rate_hz`` (8000 or 16000)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {sorted(LANGUAGES)}, got {lang!r}")
    if rate_hz not in STORED_RATES_HZ:
        raise ValueError(f"stored rate_hz must be one of {list(STORED_RATES_HZ)}, got {rate_hz!r}")
    return SPEECH_DIR / f"{lang}_{rate_hz // 1000}k.wav"


@lru_cache(maxsize=16)
def _speech_int16(lang: str, rate_hz: int) -> np.ndarray:
    if rate_hz in STORED_RATES_HZ:
        x, rate = read_wav(speech_path(lang, rate_hz))
        if rate != rate_hz:
            raise ValueError(f"{speech_path(lang, rate_hz)} is at {rate} Hz, expected {rate_hz} Hz")
        return x
    from math import gcd

    from scipy.signal import resample_poly

    src = _speech_int16(lang, 16000)
    g = gcd(rate_hz, 16000)
    y = resample_poly(src.astype(np.float64), rate_hz // g, 16000 // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


def load_speech(lang: str = "en", rate_hz: int = 8000, *, seconds: float | None = None,
                as_float: bool = False) -> np.ndarray:
    """The course's speech clip in ``lang`` ("en" or "zh") at ``rate_hz``.

    ``rate_hz``: 8000 or 16000 (stored), or any of 12000, 24000, 32000, 48000
    (resampled from 16 kHz, so nothing above 8 kHz).  ``seconds`` keeps only the
    first seconds.  Returns int16 samples, or float in [-1, 1) with ``as_float``.
    """
    allowed = (8000, 12000, 16000, 24000, 32000, 48000)
    if rate_hz not in allowed:
        raise ValueError(f"rate_hz must be one of {list(allowed)}, got {rate_hz!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {sorted(LANGUAGES)}, got {lang!r}")
    x = _speech_int16(lang, int(rate_hz))
    if seconds is not None:
        if not 0 < seconds:
            raise ValueError(f"seconds must be > 0, got {seconds!r}")
        x = x[: int(round(seconds * rate_hz))]
    x = x.copy()
    return x.astype(np.float64) / 32768.0 if as_float else x


# --- the synthetic video clip -------------------------------------------------------

# 3×5 pixel digits, one string of 15 bits per digit (rows top to bottom).
_DIGITS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111",
}
_BARS = np.array([[235, 235, 235], [235, 235, 16], [16, 235, 235], [16, 235, 16],
                  [235, 16, 235], [235, 16, 16], [16, 16, 235], [16, 16, 16]], dtype=np.uint8)


def draw_number(img: np.ndarray, number: int, top: int, left: int, scale: int,
                color=(255, 255, 255), background=(0, 0, 0)) -> None:
    """Draw ``number`` in place with a 3×5 pixel font magnified ``scale`` times."""
    text = str(int(number))
    h, w = 5 * scale, (4 * len(text) - 1) * scale
    pad = scale
    img[max(top - pad, 0): top + h + pad, max(left - pad, 0): left + w + pad] = background
    for k, ch in enumerate(text):
        glyph = np.array([int(b) for b in _DIGITS[ch]], dtype=bool).reshape(5, 3)
        big = np.kron(glyph, np.ones((scale, scale), dtype=bool))
        x0 = left + 4 * k * scale
        region = img[top: top + h, x0: x0 + 3 * scale]
        region[big[: region.shape[0], : region.shape[1]]] = color


@lru_cache(maxsize=8)
def _texture(height: int, width: int) -> np.ndarray:
    """A fixed, fine-grained grey texture (seeded: the same in every run)."""
    from scipy.ndimage import uniform_filter

    t = uniform_filter(np.random.default_rng(7).random((height, width)), 2)
    t = (t - t.min()) / max(np.ptp(t), 1e-9) * 200 + 28
    return t.astype(np.uint8)[:, :, None]


def synthetic_video_frame(index: int, width: int = 320, height: int = 240, fps: float = 30.0) -> np.ndarray:
    """Frame ``index`` of the test pattern: colour bars, a moving box, a textured patch, a frame counter."""
    img = np.empty((height, width, 3), dtype=np.uint8)
    bar_w = -(-width // len(_BARS))
    cols = np.minimum(np.arange(width) // bar_w, len(_BARS) - 1)
    img[: height * 2 // 3] = _BARS[cols]
    # A grey ramp below the bars that scrolls one pixel per frame (motion everywhere).
    ramp = ((np.arange(width) + 4 * index) % width * 255 // max(width - 1, 1)).astype(np.uint8)
    img[height * 2 // 3:] = ramp[None, :, None]
    top, left = height * 2 // 3, width * 2 // 3
    img[top:, left:] = _texture(height - top, width - left)
    # A box bouncing left to right, one cycle every 2 s.
    box = max(height // 6, 4)
    period = max(int(round(2 * fps)), 2)
    phase = index % period
    pos = phase if phase < period // 2 else period - phase
    x0 = int(pos / (period // 2) * (width - box))
    y0 = height // 3 - box // 2
    img[y0: y0 + box, x0: x0 + box] = (255, 128, 0)
    scale = max(height // 24, 1)
    draw_number(img, index, top=scale * 2, left=scale * 2, scale=scale)
    return img


def synthetic_video(n_frames: int = 60, width: int = 320, height: int = 240, fps: float = 30.0) -> np.ndarray:
    """A short synthetic clip: ``n_frames × height × width × 3`` uint8 RGB.

    Even ``width`` and ``height`` (the 4:2:0 chroma of VP8 and H.264 needs them).
    """
    if not (isinstance(n_frames, (int, np.integer)) and 1 <= n_frames <= 3000):
        raise ValueError(f"n_frames must be an integer in [1, 3000], got {n_frames!r}")
    for name, v in (("width", width), ("height", height)):
        if not (isinstance(v, (int, np.integer)) and 16 <= v <= 1920 and v % 2 == 0):
            raise ValueError(f"{name} must be an even integer in [16, 1920] pixels, got {v!r}")
    if not 1 <= fps <= 120:
        raise ValueError(f"fps must be in [1, 120], got {fps!r}")
    return np.stack([synthetic_video_frame(i, width, height, fps) for i in range(n_frames)])
