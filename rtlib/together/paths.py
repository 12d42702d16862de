"""The two machines a watch-together message can ride, on the simulator.

Both carry small JSON messages between viewers in different cities; each viewer's
last mile adds half its access RTT (:data:`rtlib.conf.geo.ACCESS_RTT_MS`) and the
long haul is the public Internet's (:func:`rtlib.conf.edge.public_one_way_ms`).

- :class:`RtcPaths`, the RTC data path (a WebRTC data channel, RFC 8831, opened as
  RFC 8832's DATA_CHANNEL_PARTIAL_RELIABLE_REXMIT_UNORDERED with zero
  retransmissions): one :class:`rtlib.net.sim.Path`
  per ordered pair of viewers, **direct** from peer to peer, with jitter and
  random loss; a lost message is gone, and a late one may overtake an earlier one.
- :class:`ImPaths`, the IM machine: chapter 02's :class:`rtlib.im.sim.World`, the
  real client, gateway, logic and SQLite store on the same virtual clock.  Every
  message goes up to the server, is stored (group commit), acknowledged and pushed
  down to each member; a lost frame is resent after the client's ack timeout, a
  gap is pulled from the store, and messages are released in order (so one lost
  frame holds up the ones behind it).  Every device reaches the one IM server
  (``server``) across the public Internet.  Group states go to one group
  conversation (the server fans them out); pings and pongs to a conversation per
  follower.

The only thing the worlds add to the library classes is the per-device delay (the
World of chapter 02 has one delay for all devices) and a hook that hands each
released message to the viewer's protocol object.

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

import json
from typing import Callable

from rtlib.conf.edge import public_one_way_ms
from rtlib.conf.geo import access_rtt_ms
from rtlib.im.sim import Faults, Timing, Tracker, World
from rtlib.net.sim import Path
from rtlib.sim import EventLoop
from rtlib.validate import check_number

#: bytes of one sync message on the wire (a small JSON object plus UDP/DTLS/SCTP headers)
MESSAGE_BYTES = 150
ROOM = "room"

Deliver = Callable[[str, dict, str], None]  # (destination, message, source)


def one_way_ms(a: str, b: str, access: str) -> float:
    """Last mile at both ends (half an access RTT each) plus the public Internet between ``a`` and ``b``."""
    return access_rtt_ms(access) + (public_one_way_ms(a, b) if a != b else 0.0)


class RtcPaths:
    """Direct, unreliable, unordered paths between every pair of viewers."""

    kind = "rtc"

    def __init__(self, names, cities, *, access: str = "4g", jitter_ms: float = 10.0, loss: float = 0.02,
                 seed: int = 0):
        check_number("jitter_ms", jitter_ms, 0, 10_000, "ms")
        check_number("loss", loss, 0, 0.5)
        self.loop = EventLoop()
        self.names = list(names)
        self.deliver: Deliver | None = None
        self.paths: dict[tuple[str, str], Path] = {}
        self.sent = 0
        for a, ca in zip(self.names, cities):
            for b, cb in zip(self.names, cities):
                if a != b:
                    self.paths[(a, b)] = Path(self.loop, delay_ms=one_way_ms(ca, cb, access), jitter_ms=jitter_ms,
                                              loss=loss, reorder=True, seed=seed, stream=f"rtc:{a}->{b}")

    def start(self) -> None:
        pass

    def send(self, src: str, dst: str, msg: dict) -> None:
        targets = [n for n in self.names if n != src] if dst == "*" else [dst]
        for t in targets:
            self.sent += 1
            self.paths[(src, t)].send(msg, MESSAGE_BYTES, lambda m, t=t: self.deliver(t, m, src))

    def stored_messages(self) -> int:
        return 0


class _Hook(Tracker):
    """The World's tracker, also handing each released message to the viewer."""

    def on_events(self, dev, events, now: float) -> None:
        super().on_events(dev, events, now)
        for ev in events:
            if ev[0] == "message" and ev[1]["sender"] != dev.user:
                m = ev[1]
                self.world.viewer_in(dev.user, json.loads(m["body"]), m["sender"])


class _ImWorld(World):
    """Chapter 02's World with one device↔server delay per device."""

    def __init__(self, delays_ms: dict[str, float], **kw):
        super().__init__(**kw)
        self.tracker = _Hook(self)
        self._dev_delay = {u: d / 1000.0 for u, d in delays_ms.items()}
        self.viewer_in: Deliver | None = None

    def _send_up(self, dev, frames) -> None:
        self._delay = self._dev_delay[dev.user]
        super()._send_up(dev, frames)

    def _send_down(self, conn: int, frames) -> None:
        dev = self.owner.get(conn)
        if dev is not None:
            self._delay = self._dev_delay[dev.user]
        super()._send_down(conn, frames)


class ImPaths:
    """Store and forward through one IM server (chapter 02's system, all mechanisms on)."""

    kind = "im"

    def __init__(self, names, cities, *, server: str = "Shanghai", access: str = "4g", jitter_ms: float = 10.0,
                 loss: float = 0.02, seed: int = 0, ack_timeout_s: float = 1.0):
        check_number("jitter_ms", jitter_ms, 0, 10_000, "ms")
        check_number("loss", loss, 0, 0.5)
        self.names = list(names)
        delays = {n: access_rtt_ms(access) / 2 + public_one_way_ms(c, server) for n, c in zip(self.names, cities)}
        self.world = _ImWorld(delays, seed=seed, faults=Faults(drop=loss),
                              timing=Timing(delay_ms=0.0, jitter_ms=jitter_ms, ack_timeout_s=ack_timeout_s))
        self.loop = self.world.loop
        self.deliver: Deliver | None = None
        self.world.viewer_in = lambda user, msg, src: self.deliver(user, msg, src)
        for n in self.names:
            self.world.add_user(n)
        self.leader = self.names[0]
        self.world.add_conversation(ROOM, self.names)
        for n in self.names[1:]:
            self.world.add_conversation(f"dm:{n}", [self.leader, n], kind="direct")
        self.sent = 0

    def start(self) -> None:
        self.world.start()

    def send(self, src: str, dst: str, msg: dict) -> None:
        self.sent += 1
        if dst == "*":
            conv = ROOM
        else:
            conv = f"dm:{dst if src == self.leader else src}"
        self.world._app_send(self.world.device(src), conv, json.dumps(msg))

    def stored_messages(self) -> int:
        return self.world.store.count_messages()
