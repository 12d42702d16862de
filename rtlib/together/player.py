"""A video player's position, and the drift correction that steers it.

:class:`Player` is the media position of one viewer on its own clock: it advances
at ``rate`` media seconds per clock second while playing.  A follower steers it
toward the leader's position in two ways (:class:`RateController`):

- a **small error** is removed by playing a little faster or slower: the rate is
  ``1 − error / horizon_s``, clipped to ``1 ± max_adjust`` (±5 % by default: a few
  per cent of speed change is hard to hear or see, while a jump is obvious);
- a **large error** (beyond ``seek_threshold_s``) is removed at once by a **hard
  seek**: catching up 2 s at 5 % would take 40 s.

With the error e and the rate law above, de/dt = −e / horizon_s while unclipped, so
the error decays exponentially with time constant ``horizon_s``; while clipped it
shrinks linearly at ``max_adjust`` seconds per second.

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

from rtlib.validate import check_number


class Player:
    """Media position [s] of one viewer, advancing at ``rate`` per second of its clock while playing."""

    def __init__(self, now_s: float = 0.0, position_s: float = 0.0):
        self.playing = False
        self.rate = 1.0
        self._pos = float(position_s)
        self._t = float(now_s)
        self.seeks = 0

    def position(self, now_s: float) -> float:
        """The media position at clock time ``now_s``."""
        if self.playing:
            return self._pos + self.rate * (now_s - self._t)
        return self._pos

    def _settle(self, now_s: float) -> None:
        self._pos = self.position(now_s)
        self._t = now_s

    def play(self, now_s: float) -> None:
        self._settle(now_s)
        self.playing = True

    def pause(self, now_s: float) -> None:
        self._settle(now_s)
        self.playing = False
        self.rate = 1.0

    def seek(self, position_s: float, now_s: float) -> None:
        """Jump to ``position_s`` (a hard seek: the picture jumps)."""
        self._t = now_s
        self._pos = float(position_s)
        self.seeks += 1

    def set_rate(self, rate: float, now_s: float) -> None:
        self._settle(now_s)
        self.rate = float(rate)


class RateController:
    """Drift correction: a rate within ``1 ± max_adjust`` for small errors, a seek beyond a threshold.

    - ``max_adjust`` in (0, 0.5]: the largest relative speed change (0.05 = ±5 %);
    - ``horizon_s`` in [0.05, 600] s: the time constant of the correction;
    - ``seek_threshold_s`` in [0.001, 600] s: errors larger than this are removed by a seek.
    """

    def __init__(self, max_adjust: float = 0.05, horizon_s: float = 1.0, seek_threshold_s: float = 0.4):
        if isinstance(max_adjust, bool) or not isinstance(max_adjust, (int, float)) or not 0 < max_adjust <= 0.5:
            raise ValueError(f"max_adjust must be in (0, 0.5] (a fraction of normal speed), got {max_adjust!r}")
        self.max_adjust = float(max_adjust)
        self.horizon_s = check_number("horizon_s", horizon_s, 0.05, 600, "s")
        self.seek_threshold_s = check_number("seek_threshold_s", seek_threshold_s, 0.001, 600, "s")

    def rate(self, error_s: float) -> float:
        """The playback rate for a position error ``error_s`` (ahead of the target: positive)."""
        adjust = -error_s / self.horizon_s
        adjust = max(-self.max_adjust, min(self.max_adjust, adjust))
        return 1.0 + adjust

    def needs_seek(self, error_s: float) -> bool:
        return abs(error_s) > self.seek_threshold_s
