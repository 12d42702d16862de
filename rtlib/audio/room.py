"""Simulated rooms for echo cancellation: impulse responses and a loudspeaker.

An acoustic echo is the far-end talker's voice coming back: played by our loudspeaker,
reflected by the room, picked up by our microphone, and sent back to them.  The echo
path is, to a good approximation, a linear filter: the room impulse response (RIR)
from loudspeaker to microphone, preceded by the loudspeaker's own (mildly nonlinear)
response:

    far-end speech x(n) --> loudspeaker(drive) --> RIR h --> echo y(n) at the mic

- :func:`room_rir` computes h with the image-source method (J. B. Allen, D. A. Berkley,
  "Image method for efficiently simulating small-room acoustics", JASA 65(4), 1979)
  as implemented by pyroomacoustics' ``ShoeBox`` (R. Scheibler, E. Bezzam,
  I. Dokmanic, "Pyroomacoustics: A Python package for audio room simulations and array
  processing algorithms", ICASSP 2018).  The wall absorption and the reflection order
  that give a wanted RT60 come from Sabine's formula inverted
  (``pyroomacoustics.inverse_sabine``).  Results are cached: a scene rebuilt with the
  same room costs nothing the second time (the first build of the default room took
  0.14 s, after a one-off 1.7 s to import pyroomacoustics, on the course machine).
- :func:`loudspeaker` is a memoryless soft clipper, tanh(g x)/g: small laptop speakers
  driven hard compress the peaks, and no linear filter can model that part of the echo.
- rtlib.audio.echo_scenes puts it together: far-end speech through both, a near-end
  talker and noise, every component kept separately.

pyroomacoustics puts the direct path after a fractional-delay filter of
``pra.constants.get("frac_delay_length")`` = 81 taps centred on the true delay, so h
starts with about 40 samples of (near) silence before the direct sound: a canceller's
filter must span them too.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "DEFAULT_ROOM_M",
    "DEFAULT_SPEAKER_M",
    "DEFAULT_MIC_M",
    "DEFAULT_TALKER_M",
    "loudspeaker",
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
