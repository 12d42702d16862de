"""Echo scenes: what the microphone hears during a call, every component kept apart.

The near end of a call, simulated (rtlib.audio.room for the room):

    far-end speech x(n) --> loudspeaker(drive) --> RIR h --> echo y(n) --+
    near-end speech v(n) --> RIR talker->mic -----------> near s(n) ----+--> mic d(n)
    white / pink / babble noise, snr_db below the echo --> noise w(n) --+

:func:`echo_scene` returns an :class:`EchoScene` with x, d, y, s, w and the (scaled)
h, so that a canceller gets ``far`` and ``mic`` and the metrics (rtlib.audio.metrics)
can compare against the echo alone or the true echo path.  Double talk is a near-end
talker from ``double_talk_s[0]`` to ``double_talk_s[1]``; the noise comes from
rtlib.audio.noise_scenes.make_noise.  Everything random takes ``seed``.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rtlib.audio.noise_scenes import NOISE_KINDS, make_noise
from rtlib.audio.room import (
    DEFAULT_MIC_M,
    DEFAULT_ROOM_M,
    DEFAULT_SPEAKER_M,
    DEFAULT_TALKER_M,
    _check_rate,
    loudspeaker,
    room_rir,
)

__all__ = ["EchoScene", "echo_scene"]


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
               erl_db: float = 6.0, ser_db: float = 0.0, snr_db: float = 40.0,
               noise_kind: str = "white", drive: float = 0.0, far_kind: str = "speech",
               seed: int = 0) -> EchoScene:
    """Simulate ``seconds`` of microphone signal: echo of the far end + near talker + noise.

    - far end: the course speech clip in ``far_lang`` (``far_kind="speech"``), or white
      noise of RMS 0.1 (``far_kind="white"``, handy to identify the room), played
      through :func:`loudspeaker` with ``drive`` and the RIR from ``speaker_m`` to ``mic_m``,
      scaled so that the echo is ``erl_db`` dB weaker than the far-end signal (echo
      return loss, in [-20, 40] dB; the default 6 dB is what the Geigel detector's
      threshold 0.5 assumes, see rtlib.audio.dtd).  ``rir`` in the
      result is that scaled response: ``echo == conv(loudspeaker(far), rir)``.
    - near end: silent unless ``double_talk_s=(start, stop)``; then the clip in
      ``near_lang``, through the RIR from ``talker_m`` to the mic, scaled so that over
      that stretch its power is ``ser_db`` dB above the echo's (signal-to-echo ratio,
      in [-30, 30] dB).
    - noise: ``noise_kind`` ("white", "pink" or "babble") with power ``snr_db`` dB
      below the echo's (in [-10, 100] dB), drawn from ``seed``.
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
    if noise_kind not in NOISE_KINDS:
        raise ValueError(f"noise_kind must be one of {list(NOISE_KINDS)}, got {noise_kind!r}")
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

    w = make_noise(noise_kind, n, rate, seed=seed) * math.sqrt(p_echo * 10.0 ** (-snr_db / 10.0))
    mic = echo + near + w
    for a in (far, mic, echo, near, w, h):
        a.setflags(write=False)
    return EchoScene(far=far, mic=mic, echo=echo, near=near, noise=w, rir=h, rate_hz=rate,
                     double_talk_s=double_talk_s)
