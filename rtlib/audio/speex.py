"""The Speex echo canceller (libspeexdsp), called through ctypes: the reference to beat.

Speex's canceller (J.-M. Valin, "On adjusting the learning rate in frequency domain
echo cancellation with double-talk", IEEE Trans. ASLP 15(3), 2007) is an MDF filter
like rtlib.audio.fdaf, plus what a product needs: a learning rate adapted frame by
frame to the estimated residual echo (so no separate double-talk detector), two
filters (a foreground copy that is only replaced when the adapting one does better),
a DC notch and pre-emphasis.  Optionally its preprocessor adds a residual echo
suppressor (``residual=True``), the counterpart of rtlib.audio.res.

The library works on 16-bit integers; this wrapper converts float samples in
[-1, 1) to int16 (x 32768, clipped) and back.  Its C API, as declared in
``speex/speex_echo.h`` and ``speex/speex_preprocess.h`` (speexdsp 1.2):

    SpeexEchoState *speex_echo_state_init(int frame_size, int filter_length);
    int  speex_echo_ctl(SpeexEchoState *st, int request, void *ptr);
    void speex_echo_cancellation(SpeexEchoState *st, const spx_int16_t *rec,
                                 const spx_int16_t *play, spx_int16_t *out);
    void speex_echo_state_destroy(SpeexEchoState *st);
    SpeexPreprocessState *speex_preprocess_state_init(int frame_size, int sampling_rate);
    int  speex_preprocess_ctl(SpeexPreprocessState *st, int request, void *ptr);
    int  speex_preprocess_run(SpeexPreprocessState *st, spx_int16_t *x);
    void speex_preprocess_state_destroy(SpeexPreprocessState *st);

Debian/Ubuntu ship it as ``libspeexdsp1`` (``apt install libspeexdsp1``); without it
:func:`load_speexdsp` raises :class:`SpeexUnavailable`.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import weakref
from functools import lru_cache

import numpy as np

from rtlib.audio.nlms import check_frames, taps_for

__all__ = ["SpeexEchoCanceller", "SpeexUnavailable", "load_speexdsp", "speex_cancel"]

# speex_echo.h / speex_preprocess.h request codes
SPEEX_ECHO_SET_SAMPLING_RATE = 24
SPEEX_PREPROCESS_SET_NOISE_SUPPRESS = 18   # maximum noise attenuation, dB (negative)
SPEEX_PREPROCESS_SET_ECHO_STATE = 24

_CANDIDATES = ("libspeexdsp.so.1", "/usr/lib/x86_64-linux-gnu/libspeexdsp.so.1",
               "/usr/lib/aarch64-linux-gnu/libspeexdsp.so.1", "libspeexdsp.dylib")


class SpeexUnavailable(RuntimeError):
    """libspeexdsp could not be loaded (install Debian's libspeexdsp1)."""


@lru_cache(maxsize=1)
def load_speexdsp() -> ctypes.CDLL:
    """The libspeexdsp shared library with its echo and preprocess functions typed."""
    names = [ctypes.util.find_library("speexdsp"), *_CANDIDATES]
    errors = []
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    else:
        raise SpeexUnavailable("libspeexdsp not found (on Debian/Ubuntu: apt install "
                               "libspeexdsp1); tried " + "; ".join(errors or names[1:]))
    p, i16p = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int16)
    lib.speex_echo_state_init.restype = p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_ctl.restype = ctypes.c_int
    lib.speex_echo_ctl.argtypes = [p, ctypes.c_int, p]
    lib.speex_echo_cancellation.restype = None
    lib.speex_echo_cancellation.argtypes = [p, i16p, i16p, i16p]
    lib.speex_echo_state_destroy.restype = None
    lib.speex_echo_state_destroy.argtypes = [p]
    lib.speex_preprocess_state_init.restype = p
    lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_preprocess_ctl.restype = ctypes.c_int
    lib.speex_preprocess_ctl.argtypes = [p, ctypes.c_int, p]
    lib.speex_preprocess_run.restype = ctypes.c_int
    lib.speex_preprocess_run.argtypes = [p, i16p]
    lib.speex_preprocess_state_destroy.restype = None
    lib.speex_preprocess_state_destroy.argtypes = [p]
    return lib


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16))


def _ptr(a: np.ndarray):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))


def _destroy(lib, echo, pre) -> None:
    if pre:
        lib.speex_preprocess_state_destroy(pre)
    if echo:
        lib.speex_echo_state_destroy(echo)


class SpeexEchoCanceller:
    """libspeexdsp's echo canceller behind the course's canceller interface.

    ``frame_ms`` (Speex's frame size; 10-20 ms is usual) and ``filter_ms`` (its tail
    length) at ``rate_hz``; ``residual=True`` runs Speex's preprocessor after it with
    residual echo suppression on and noise suppression at its mildest (-1 dB).  :meth:`process` takes
    frames of exactly ``frame_size`` samples.  Speex always adapts: ``adapt`` is
    accepted for interface compatibility and ignored.
    """

    def __init__(self, frame_ms: float = 16.0, filter_ms: float = 128.0,
                 rate_hz: int = 16000, residual: bool = False):
        if rate_hz not in (8000, 16000, 32000, 48000):
            raise ValueError(f"rate_hz must be one of [8000, 16000, 32000, 48000], got {rate_hz!r}")
        if not 2.0 <= frame_ms <= 64.0:
            raise ValueError(f"frame_ms must be in [2, 64], got {frame_ms!r}")
        self.rate_hz = int(rate_hz)
        self.frame_size = taps_for(frame_ms, rate_hz)
        self.block_size = self.frame_size            # run_frames pads to whole frames
        self.taps = taps_for(filter_ms, rate_hz)
        lib = self._lib = load_speexdsp()
        self._echo = lib.speex_echo_state_init(self.frame_size, self.taps)
        if not self._echo:
            raise MemoryError("speex_echo_state_init returned NULL")
        rate = ctypes.c_int(self.rate_hz)
        lib.speex_echo_ctl(self._echo, SPEEX_ECHO_SET_SAMPLING_RATE, ctypes.byref(rate))
        self._pre = None
        if residual:
            self._pre = lib.speex_preprocess_state_init(self.frame_size, self.rate_hz)
            # Echo suppression is part of the denoiser's gain: with the denoiser off the
            # preprocessor applies no gain at all.  Keep it on, at its mildest setting.
            mild_db = ctypes.c_int(-1)
            lib.speex_preprocess_ctl(self._pre, SPEEX_PREPROCESS_SET_NOISE_SUPPRESS,
                                     ctypes.byref(mild_db))
            lib.speex_preprocess_ctl(self._pre, SPEEX_PREPROCESS_SET_ECHO_STATE,
                                     ctypes.c_void_p(self._echo))
        self._finalizer = weakref.finalize(self, _destroy, lib, self._echo, self._pre)

    def close(self) -> None:
        """Free the C state now (otherwise done when the object is collected)."""
        self._finalizer()

    def process(self, far_frame, mic_frame, adapt: bool = True) -> np.ndarray:
        """Cancel the echo in whole frames of ``frame_size`` samples; returns e (float)."""
        x, d = check_frames(far_frame, mic_frame)
        n = self.frame_size
        if len(x) % n:
            raise ValueError(f"frame length must be a multiple of frame_size={n}, got {len(x)}")
        if not self._finalizer.alive:
            raise ValueError("this SpeexEchoCanceller is closed")
        play, rec = _to_int16(x), _to_int16(d)
        out = np.zeros(len(x), dtype=np.int16)
        for i in range(0, len(x), n):
            o = out[i:i + n]
            self._lib.speex_echo_cancellation(self._echo, _ptr(rec[i:i + n]),
                                              _ptr(play[i:i + n]), _ptr(o))
            if self._pre:
                self._lib.speex_preprocess_run(self._pre, _ptr(o))
        return out.astype(np.float64) / 32768.0


def speex_cancel(far, mic, rate_hz: int = 16000, frame_ms: float = 16.0,
                 filter_ms: float = 128.0, residual: bool = False) -> np.ndarray:
    """Run Speex's echo canceller over whole float signals; returns the error signal.

    A partial last frame is zero-padded, then cut off again.
    """
    x, d = check_frames(far, mic)
    c = SpeexEchoCanceller(frame_ms, filter_ms, rate_hz, residual)
    try:
        n = c.frame_size
        pad = (-len(x)) % n
        return c.process(np.pad(x, (0, pad)), np.pad(d, (0, pad)))[: len(x)]
    finally:
        c.close()
