"""Dominant speaker and Last-N from RFC 6464 audio levels, without decoding audio.

Every audio packet carries the client-to-mixer audio level header extension
(RFC 6464 §3: a V bit and the level in -dBov, 0 loudest, 127 silence).  An SFU reads
it from the RTP header, so it knows who is talking without touching the Opus
payload, and uses it to:

- pick the **dominant speaker** (the big tile; :class:`DominantSpeaker`): the
  participant whose recent speech activity is highest, switching only when another
  has been ahead for ``hold_s`` (a cough does not steal the stage);
- forward video of the **Last-N** most recent dominant speakers only
  (:meth:`DominantSpeaker.last_n`): with 50 people in a meeting a client decodes N
  videos, not 49 (Jitsi's "Last N", Jitsi Videobridge).

Activity is the mean over the last ``window_s`` of ``max(0, 127 - level - floor)``
for packets with a level above the noise floor (``-dBov`` below
``silence_dbov``).  Sans-IO: feed :meth:`DominantSpeaker.on_level` with the time,
the participant and the decoded extension value; read ``dominant`` and ``last_n(k)``.

Used in: notebooks/10_many_participants.ipynb, :mod:`rtlib.conf.sfu`.
"""

from __future__ import annotations

from collections import deque


class DominantSpeaker:
    """Dominant-speaker detection from RFC 6464 levels (dBov in [-127, 0])."""

    def __init__(self, *, window_s: float = 1.0, hold_s: float = 1.0, silence_dbov: int = -50):
        if not 0.05 <= window_s <= 10:
            raise ValueError(f"window_s must be in [0.05, 10] s, got {window_s!r}")
        if not 0 <= hold_s <= 10:
            raise ValueError(f"hold_s must be in [0, 10] s, got {hold_s!r}")
        if not -127 <= silence_dbov <= 0:
            raise ValueError(f"silence_dbov must be in [-127, 0] dBov, got {silence_dbov!r}")
        self.window_s, self.hold_s, self.silence_dbov = window_s, hold_s, silence_dbov
        self._levels: dict[object, deque] = {}
        self._sum: dict[object, float] = {}
        self.dominant = None
        self._challenger = None
        self._challenger_since = 0.0
        self._order: list = []  # most recent dominant first
        self.changes = 0

    def activity(self, pid, now_s: float) -> float:
        """Mean speech activity of ``pid`` over the window (0 = silent)."""
        q = self._levels.get(pid)
        if not q:
            return 0.0
        self._expire(pid, now_s)
        return self._sum[pid] / max(len(q), 1)

    def _expire(self, pid, now_s: float) -> None:
        q = self._levels[pid]
        while q and q[0][0] < now_s - self.window_s:
            self._sum[pid] -= q.popleft()[1]

    def on_level(self, now_s: float, pid, level_dbov: int, voice: bool = True) -> None:
        """One audio packet's level from ``pid``; updates the dominant speaker."""
        if pid not in self._levels:
            self._levels[pid], self._sum[pid] = deque(), 0.0
            self._order.append(pid)
        score = float(level_dbov - self.silence_dbov) if level_dbov > self.silence_dbov else 0.0
        self._levels[pid].append((now_s, score))
        self._sum[pid] += score
        self._expire(pid, now_s)
        self._decide(now_s)

    def _decide(self, now_s: float) -> None:
        best = max(self._levels, key=lambda p: self.activity(p, now_s))
        if self.activity(best, now_s) <= 0:
            return
        if self.dominant is None:
            self._promote(best)
            return
        if best == self.dominant:
            self._challenger = None
            return
        if best != self._challenger:
            self._challenger, self._challenger_since = best, now_s
        elif now_s - self._challenger_since >= self.hold_s:
            self._promote(best)
            self._challenger = None

    def _promote(self, pid) -> None:
        self.dominant = pid
        self.changes += 1
        self._order.remove(pid)
        self._order.insert(0, pid)

    def last_n(self, n: int, exclude=None) -> list:
        """The ``n`` most recent dominant speakers (most recent first), ``exclude`` left out."""
        return [p for p in self._order if p != exclude][:max(int(n), 0)]
