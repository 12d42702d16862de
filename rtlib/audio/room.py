"""Simulated rooms for echo cancellation: impulse responses, a loudspeaker, echo scenes.

An acoustic echo is the far-end talker's voice coming back: played by our loudspeaker,
reflected by the room, picked up by our microphone, and sent back to them.  The echo
path is, to a good approximation, a linear filter: the room impulse response (RIR)
from loudspeaker to microphone, preceded by the loudspeaker's own (mildly nonlinear)
response.  The scene this module builds:

    far-end speech x(n) --> loudspeaker(drive) --> RIR h --> echo y(n) --+
    near-end speech v(n) --> RIR talker->mic -----------> near s(n) ----+--> mic d(n)
    white / pink noise at snr_db below the echo -----------> noise w(n) -+

- :func:`room_rir` computes h with the image-source method (J. B. Allen, D. A. Berkley,
  "Image method for efficiently simulating small-room acoustics", JASA 65(4), 1979)
  as implemented by pyroomacoustics' ``ShoeBox`` (R. Scheibler, E. Bezzam,
  I. Dokmanic, "Pyroomacoustics: A Python package for audio room simulations and array
  processing algorithms", ICASSP 2018).  The wall absorption and the reflection order
  that give a wanted RT60 come from Sabine's formula inverted
  (``pyroomacoustics.inverse_sabine``).  Results are cached: a scene rebuilt with the
  same room costs nothing the second time.
- :func:`loudspeaker` is a memoryless soft clipper, tanh(g x)/g: small laptop speakers
  driven hard compress the peaks, and no linear filter can model that part of the echo.
- :func:`echo_scene` puts it together and returns an :class:`EchoScene` holding every
  component separately, so metrics can compare against the echo alone or the true RIR.

pyroomacoustics puts the direct path after a fractional-delay filter of
``pra.constants.get("frac_delay_length")`` = 81 taps centred on the true delay, so h
starts with about 40 samples of (near) silence before the direct sound: a canceller's
filter must span them too.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "DEFAULT_ROOM_M",
    "DEFAULT_SPEAKER_M",
    "DEFAULT_MIC_M",
    "DEFAULT_TALKER_M",
    "EchoScene",
    "echo_scene",
    "loudspeaker",
    "noise_signal",
    "room_rir",
]

#: A small office, 4 m x 3 m x 2.5 m.
DEFAULT_ROOM_M = (4.0, 3.0, 2.5)
#: Loudspeaker and microphone 30 cm apart at desk height, as on a laptop or speakerphone.
DEFAULT_SPEAKER_M = (2.0, 1.5, 1.0)
DEFAULT_MIC_M = (2.3, 1.5, 1.0)
#: The near-end talker, seated about 80 cm from the microphone.
DEFAULT_TALKER_M = (2.8, 2.1, 1.2)

_RATES_HZ = (8000, 16000, 32000, 48000)
_RT60_RANGE_S = (0.05, 1.5)
_DIM_RANGE_M = (1.0, 30.0)


def _check_rate(rate_hz: int) -> int:
    if rate_hz not in _RATES_HZ:
        raise ValueError(f"rate_hz must be one of {list(_RATES_HZ)}, got {rate_hz!r}")
    return int(rate_hz)


def _check_room(room_m, rt60_s: float) -> tuple[float, float, float]:
    dims = tuple(float(v) for v in room_m)
    if len(dims) != 3 or not all(_DIM_RANGE_M[0] <= v <= _DIM_RANGE_M[1] for v in dims):
        raise ValueError(f"room_m must be three lengths in [{_DIM_RANGE_M[0]:g}, "
                         f"{_DIM_RANGE_M[1]:g}] m, got {room_m!r}")
    if not _RT60_RANGE_S[0] <= rt60_s <= _RT60_RANGE_S[1]:
        raise ValueError(f"rt60_s must be in [{_RT60_RANGE_S[0]:g}, {_RT60_RANGE_S[1]:g}] s, "
                         f"got {rt60_s!r}")
    return dims


def _check_position(pos, dims, name: str) -> tuple[float, float, float]:
    p = tuple(float(v) for v in pos)
    if len(p) != 3 or not all(0.0 < v < d for v, d in zip(p, dims)):
        raise ValueError(f"{name} must be a point (x, y, z) strictly inside the room "
                         f"(0, 0, 0)..{dims} m, got {pos!r}")
    return p


@lru_cache(maxsize=32)
def _rir_cached(room_m, rt60_s, source_m, mic_m, rate_hz, max_order) -> np.ndarray:
    import pyroomacoustics as pra

    try:
        e_absorption, order = pra.inverse_sabine(rt60_s, list(room_m))
    except ValueError as exc:  # the room is too small (or too large) for that RT60
        raise ValueError(f"rt60_s={rt60_s:g} s cannot be reached in a {room_m} m room "
                         f"by Sabine's formula ({exc}); choose a larger room or "
                         f"a longer rt60_s") from None
    if max_order is not None:
        order = min(order, max_order)
    room = pra.ShoeBox(list(room_m), fs=rate_hz, materials=pra.Material(e_absorption),
                       max_order=order)
    room.add_source(list(source_m))
    room.add_microphone(list(mic_m))
    room.compute_rir()
    h = np.asarray(room.rir[0][0], dtype=np.float64).copy()
    h.setflags(write=False)
    return h


def room_rir(room_m=DEFAULT_ROOM_M, rt60_s: float = 0.3, source_m=DEFAULT_SPEAKER_M,
             mic_m=DEFAULT_MIC_M, rate_hz: int = 16000, max_order: int | None = None
             ) -> np.ndarray:
    """The impulse response from ``source_m`` to ``mic_m`` in a shoebox room (read-only).

    ``room_m``: (length, width, height) in metres, each in [1, 30].  ``rt60_s``: the
    wanted reverberation time in [0.05, 1.5] s (the time for sound to decay by 60 dB);
    it must be reachable in that room by Sabine's formula, else ValueError.
    ``max_order`` caps the image-source reflection order (default: the order
    ``inverse_sabine`` picks for the RT60).  The direct path's amplitude is 1/r at
    distance r (pyroomacoustics leaves out the free-field 1/(4 pi)), so h is not
    normalised.  Cached on its arguments.
    """
    rate = _check_rate(rate_hz)
    dims = _check_room(room_m, rt60_s)
    src = _check_position(source_m, dims, "source_m")
    mic = _check_position(mic_m, dims, "mic_m")
    if max_order is not None and not 0 <= max_order <= 100:
        raise ValueError(f"max_order must be in [0, 100] or None, got {max_order!r}")
    return _rir_cached(dims, float(rt60_s), src, mic, rate, max_order)


def loudspeaker(x, drive: float = 0.0) -> np.ndarray:
    """A memoryless soft-clipping loudspeaker: tanh(drive * x) / drive.

    ``drive`` in [0, 20]: 0 is a perfect (linear) loudspeaker; the gain for small
    signals is always 1, and larger ``drive`` compresses peaks harder (the output never
    exceeds 1 / drive in magnitude).  Only this nonlinear part of the echo escapes a
    linear canceller; a residual echo suppressor (rtlib.audio.res) has to deal with it.
    """
    if not 0.0 <= drive <= 20.0:
        raise ValueError(f"drive must be in [0, 20], got {drive!r}")
    a = np.asarray(x, dtype=np.float64)
    if drive == 0.0:
        return a.copy()
    return np.tanh(drive * a) / drive


def noise_signal(n_samples: int, kind: str = "white", seed: int = 0) -> np.ndarray:
    """``n_samples`` of zero-mean, unit-power noise: ``"white"`` or ``"pink"`` (1/f power).

    Pink noise is white noise shaped in the frequency domain by 1/sqrt(f) (so its power
    spectral density falls 3 dB per octave), with the DC bin set to zero.
    """
    if not n_samples >= 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples!r}")
    if kind not in ("white", "pink"):
        raise ValueError(f"kind must be 'white' or 'pink', got {kind!r}")
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(int(n_samples))
    if kind == "pink" and n_samples > 2:
        spec = np.fft.rfft(w)
        f = np.arange(len(spec), dtype=np.float64)
        f[0] = np.inf  # no DC
        w = np.fft.irfft(spec / np.sqrt(f), n=int(n_samples))
    w -= np.mean(w)
    p = float(np.mean(w ** 2))
    return w / math.sqrt(p) if p > 0 else w


@dataclass(frozen=True)
class EchoScene:
    """One simulated call at the near end: every component of the microphone signal.

    ``mic = echo + near + noise`` sample by sample; ``far`` is the reference the
    canceller gets (what was sent to the loudspeaker, before its nonlinearity);
    ``rir`` the true echo path; ``double_talk_s`` the (start, stop) of the near-end
    talker in seconds, or None in single talk.
    """

    far: np.ndarray
    mic: np.ndarray
    echo: np.ndarray
    near: np.ndarray
    noise: np.ndarray
    rir: np.ndarray
    rate_hz: int
    double_talk_s: tuple[float, float] | None = None

    @property
    def duration_s(self) -> float:
        return len(self.mic) / float(self.rate_hz)


def _speech(lang: str, rate_hz: int, n: int) -> np.ndarray:
    """The course clip in ``lang``, repeated to ``n`` samples."""
    from rtlib.media.clips import load_speech

    x = load_speech(lang, rate_hz, as_float=True)
    reps = -(-n // len(x))
    return np.tile(x, reps)[:n]


def _power(x: np.ndarray) -> float:
    return float(np.mean(x ** 2)) if len(x) else 0.0


def echo_scene(seconds: float = 8.0, *, far_lang: str = "en", near_lang: str = "zh",
               rate_hz: int = 16000, room_m=DEFAULT_ROOM_M, rt60_s: float = 0.3,
               speaker_m=DEFAULT_SPEAKER_M, mic_m=DEFAULT_MIC_M,
               talker_m=DEFAULT_TALKER_M, double_talk_s: tuple[float, float] | None = None,
               erl_db: float = 6.0, ser_db: float = 0.0, snr_db: float = 40.0, noise_kind: str = "white",
               drive: float = 0.0, far_kind: str = "speech", seed: int = 0) -> EchoScene:
    """Simulate ``seconds`` of microphone signal: echo of the far end + near talker + noise.

    - far end: the course speech clip in ``far_lang`` (``far_kind="speech"``), or unit
      white noise (``far_kind="white"``, handy to identify the room), played through
      :func:`loudspeaker` with ``drive`` and the RIR from ``speaker_m`` to ``mic_m``,
      scaled so that the echo is ``erl_db`` dB weaker than the far-end signal (echo
      return loss, in [-20, 40] dB; G.168 assumes at least 6 dB).  ``rir`` in the
      result is that scaled response: ``echo == conv(loudspeaker(far), rir)``.
    - near end: silent unless ``double_talk_s=(start, stop)``; then the clip in
      ``near_lang``, through the RIR from ``talker_m`` to the mic, scaled so that over
      that stretch its power is ``ser_db`` dB above the echo's (signal-to-echo ratio,
      in [-30, 30] dB).
    - noise: ``noise_kind`` ("white" or "pink") with power ``snr_db`` dB below the
      echo's (in [-10, 100] dB), drawn from ``seed``.
    """
    rate = _check_rate(rate_hz)
    if not 0.1 <= seconds <= 120.0:
        raise ValueError(f"seconds must be in [0.1, 120], got {seconds!r}")
    if far_kind not in ("speech", "white"):
        raise ValueError(f"far_kind must be 'speech' or 'white', got {far_kind!r}")
    if not -20.0 <= erl_db <= 40.0:
        raise ValueError(f"erl_db must be in [-20, 40], got {erl_db!r}")
    if not -30.0 <= ser_db <= 30.0:
        raise ValueError(f"ser_db must be in [-30, 30], got {ser_db!r}")
    if not -10.0 <= snr_db <= 100.0:
        raise ValueError(f"snr_db must be in [-10, 100], got {snr_db!r}")
    n = int(round(seconds * rate))
    if double_talk_s is not None:
        start_s, stop_s = (float(v) for v in double_talk_s)
        if not 0.0 <= start_s < stop_s <= seconds:
            raise ValueError(f"double_talk_s must be (start, stop) with 0 <= start < stop "
                             f"<= seconds={seconds:g}, got {double_talk_s!r}")
        double_talk_s = (start_s, stop_s)
    from scipy.signal import oaconvolve

    h = room_rir(room_m, rt60_s, speaker_m, mic_m, rate)
    if far_kind == "speech":
        far = _speech(far_lang, rate, n)
    else:
        far = 0.1 * np.random.default_rng([seed, 1]).standard_normal(n)
    echo = oaconvolve(loudspeaker(far, drive), h)[:n]
    p_far, p_echo = _power(far), _power(echo)
    if p_far > 0 and p_echo > 0:
        gain = math.sqrt(p_far / p_echo * 10.0 ** (-erl_db / 10.0))
        h, echo = h * gain, echo * gain
        p_echo = _power(echo)

    near = np.zeros(n)
    if double_talk_s is not None:
        h_near = room_rir(room_m, rt60_s, talker_m, mic_m, rate)
        i0, i1 = int(round(double_talk_s[0] * rate)), int(round(double_talk_s[1] * rate))
        v = oaconvolve(_speech(near_lang, rate, i1 - i0), h_near)[: i1 - i0]
        p_v, p_e = _power(v), _power(echo[i0:i1])
        if p_v > 0 and p_e > 0:
            v *= math.sqrt(p_e / p_v * 10.0 ** (ser_db / 10.0))
        near[i0:i1] = v

    w = noise_signal(n, noise_kind, seed) * math.sqrt(p_echo * 10.0 ** (-snr_db / 10.0))
    mic = echo + near + w
    for a in (far, mic, echo, near, w, h):
        a.setflags(write=False)
    return EchoScene(far=far, mic=mic, echo=echo, near=near, noise=w, rir=h, rate_hz=rate,
                     double_talk_s=double_talk_s)
