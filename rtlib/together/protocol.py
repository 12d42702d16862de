"""The watch-together sync protocol, sans-IO: one :class:`Leader`, many :class:`Follower` s.

    leader ── state {version, playing, pos_s, ref_s} ──▶ every follower  (on each change,
       ▲                                                  and every state_interval_s)
       └── ping {t1} ◀── follower ──▶ pong {t1, t2, t3}   (every ping_interval_s)

- The **leader** owns the play/pause/seek state.  A state says: "at my clock's
  ``ref_s`` the video was at ``pos_s``, playing (or paused)".  It carries a
  ``version`` that grows with every change, so a follower can ignore an older state
  that arrives late (the RTC path does not keep order), and it is re-sent every
  ``state_interval_s`` (the RTC path may lose it).
- A **follower** estimates the leader's clock from ping/pong exchanges
  (:class:`rtlib.together.clock.OffsetEstimator`, NTP's on-wire method), so that at
  its own clock time L it knows the leader's time L + θ and the target position
  ``pos_s + (L + θ − ref_s)``.  Every ``control_interval_s`` it compares its
  player with the target and corrects by rate or by seek
  (:class:`rtlib.together.player.RateController`).

With ``clock_sync="none"`` a follower skips the estimate and takes each state as
current when it arrives (offset = the state's send stamp − its arrival time): the
naive design, whose error is the delivery delay itself.

Every object here is fed its own clock's time ``now_s`` and returns the messages to
send as ``(destination, message)`` pairs (``"*"``: every follower); ``next_deadline()``
says when to call ``on_timer`` next.  Messages are plain dicts (JSON-ready).

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

import math

from rtlib.together.clock import NTP_FILTER_SAMPLES, OffsetEstimator, ntp_sample
from rtlib.together.player import Player, RateController
from rtlib.validate import check_number

CLOCK_SYNC = ("ntp", "none")
BROADCAST = "*"


class Leader:
    """The viewer whose player is the reference; answers pings, broadcasts its state."""

    def __init__(self, name: str = "leader", *, now_s: float = 0.0, state_interval_s: float = 1.0):
        self.name = name
        self.state_interval_s = check_number("state_interval_s", state_interval_s, 0.01, 3600, "s")
        self.player = Player(now_s)
        self.version = 0
        self._next_state = now_s + self.state_interval_s
        self.pongs = 0

    # -- the viewer's controls ------------------------------------------------------------
    def play(self, now_s: float) -> list[tuple]:
        self.player.play(now_s)
        return self._changed(now_s)

    def pause(self, now_s: float) -> list[tuple]:
        self.player.pause(now_s)
        return self._changed(now_s)

    def seek(self, position_s: float, now_s: float) -> list[tuple]:
        check_number("position_s", position_s, 0, 1e7, "s")
        self.player.seek(position_s, now_s)
        return self._changed(now_s)

    def position(self, now_s: float) -> float:
        return self.player.position(now_s)

    def state(self, now_s: float) -> dict:
        return {"type": "state", "version": self.version, "playing": self.player.playing,
                "pos_s": self.player.position(now_s), "ref_s": now_s, "sent_s": now_s}

    def _changed(self, now_s: float) -> list[tuple]:
        self.version += 1
        self._next_state = now_s + self.state_interval_s
        return [(BROADCAST, self.state(now_s))]

    # -- sans-IO face -------------------------------------------------------------------------
    def on_message(self, msg: dict, src: str, now_s: float) -> list[tuple]:
        if msg.get("type") == "ping":
            self.pongs += 1
            return [(src, {"type": "pong", "t1": msg["t1"], "t2": now_s, "t3": now_s})]
        return []

    def next_deadline(self) -> float:
        return self._next_state

    def on_timer(self, now_s: float) -> list[tuple]:
        if now_s < self._next_state:
            return []
        self._next_state = now_s + self.state_interval_s
        return [(BROADCAST, self.state(now_s))]


class Follower:
    """A viewer that follows the leader's state on its own clock."""

    def __init__(self, name: str, leader: str = "leader", *, now_s: float = 0.0, ping_interval_s: float = 1.0,
                 window: int = NTP_FILTER_SAMPLES, control_interval_s: float = 0.1,
                 controller: RateController | None = None, clock_sync: str = "ntp"):
        if clock_sync not in CLOCK_SYNC:
            raise ValueError(f"clock_sync must be one of {list(CLOCK_SYNC)}, got {clock_sync!r}")
        self.name, self.leader, self.clock_sync = name, leader, clock_sync
        self.ping_interval_s = check_number("ping_interval_s", ping_interval_s, 0.01, 3600, "s")
        self.control_interval_s = check_number("control_interval_s", control_interval_s, 0.001, 60, "s")
        self.controller = controller if controller is not None else RateController()
        self.estimator = OffsetEstimator(window)
        self.player = Player(now_s)
        self.state: dict | None = None
        self._naive_offset = 0.0
        self._next_ping = now_s if clock_sync == "ntp" else math.inf
        self._next_control = now_s + self.control_interval_s
        self.max_rate_adjust = 0.0  # the largest |rate − 1| ever set
        self.stale = 0  # states ignored because a newer one had arrived

    # -- what the follower believes ----------------------------------------------------------
    @property
    def offset_s(self) -> float | None:
        """Leader clock − own clock, as estimated (None before any estimate)."""
        if self.clock_sync == "none":
            return self._naive_offset if self.state is not None else None
        off = self.estimator.offset_s
        if off is None and self.state is not None:
            return self._naive_offset  # before the first pong: the best guess there is
        return off

    def target(self, now_s: float) -> float | None:
        """Where the leader's video is now, by this follower's estimate (None without a state)."""
        st, off = self.state, self.offset_s
        if st is None or off is None:
            return None
        if not st["playing"]:
            return st["pos_s"]
        return st["pos_s"] + (now_s + off - st["ref_s"])

    def position(self, now_s: float) -> float:
        return self.player.position(now_s)

    # -- sans-IO face -------------------------------------------------------------------------
    def on_message(self, msg: dict, src: str, now_s: float) -> list[tuple]:
        kind = msg.get("type")
        if kind == "pong":
            self.estimator.add(ntp_sample(msg["t1"], msg["t2"], msg["t3"], now_s))
            return []
        if kind == "state":
            st = self.state
            if st is not None and (msg["version"], msg["sent_s"]) < (st["version"], st["sent_s"]):
                self.stale += 1
                return []
            self.state = msg
            self._naive_offset = msg["sent_s"] - now_s
            self._control(now_s)
        return []

    def next_deadline(self) -> float:
        return min(self._next_ping, self._next_control)

    def on_timer(self, now_s: float) -> list[tuple]:
        out = []
        if now_s >= self._next_ping:
            self._next_ping = now_s + self.ping_interval_s
            out.append((self.leader, {"type": "ping", "t1": now_s}))
        if now_s >= self._next_control:
            self._next_control = now_s + self.control_interval_s
            self._control(now_s)
        return out

    def _control(self, now_s: float) -> None:
        target = self.target(now_s)
        if target is None:
            return
        p = self.player
        if not self.state["playing"]:
            if p.playing or p.position(now_s) != target:
                p.pause(now_s)
                if p.position(now_s) != target:
                    p.seek(target, now_s)
            return
        if not p.playing:
            p.play(now_s)
        error = p.position(now_s) - target
        if self.controller.needs_seek(error):
            p.seek(target, now_s)
            p.set_rate(1.0, now_s)
            return
        rate = self.controller.rate(error)
        p.set_rate(rate, now_s)
        self.max_rate_adjust = max(self.max_rate_adjust, abs(rate - 1.0))
