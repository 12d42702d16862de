"""The gateway (access server): long connections, heartbeats and the session registry.

A phone keeps one long-lived connection to a gateway.  The gateway

- parses and checks every frame (:func:`rtlib.im.protocol.check_frame`) and answers a
  bad one with an ``error`` frame (it never raises on input),
- authenticates the connection (user + token) before anything else (every other
  frame before ``auth``, ``ping`` included, is refused with ``unauthenticated``), and
  closes a connection that has not authenticated within ``auth_timeout_s``,
- limits the rate of ``auth`` attempts and of ``send`` frames per user
  (:class:`~rtlib.im.limits.RateLimiter`): a refused one gets ``rate_limited`` with
  ``retry_after_ms``,
- answers heartbeats (``ping`` → ``pong``) and closes connections that have been
  silent for ``idle_timeout_s`` (a phone that lost coverage never says goodbye: a
  TCP connection can stay "open" on the server long after the device is gone),
- closes the older connection when the same user and device authenticate again, and
  the connections whose token was revoked (checked at each sweep, when
  ``revalidate`` is given),
- keeps the **session registry**, which devices of which user are online on which
  connection, that the logic uses to route messages (the logic adds a device when it
  answers its ``auth``, so that ``auth_ok`` is the first frame it gets), and
- forwards ``send``/``sync``/``history``/``read`` to the logic (business) server.

Sans-IO: the methods take the current time and return *outputs*, tuples the driver
(the simulator or the live asyncio server) carries out::

    ("send", conn, frame)         write ``frame`` on connection ``conn``
    ("close", conn, code, reason) close connection ``conn`` (a WebSocket close code of
                                  :data:`rtlib.im.protocol.CLOSE_CODES`)
    ("logic", session, frame)     hand ``frame`` to the logic server

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

from typing import Callable

from rtlib.im import protocol as P
from rtlib.im.limits import RateLimiter

PONG = {"type": "pong"}
_DEFAULT = object()


class Session:
    """One connection: who is on it (after ``auth``) and when it was last heard from."""

    __slots__ = ("conn", "user", "device", "token", "opened_s", "last_seen_s", "closed")

    def __init__(self, conn: int, now: float):
        self.conn = conn
        self.user: str | None = None
        self.device: str | None = None
        self.token: str | None = None  # kept to check, at each sweep, that it was not revoked
        self.opened_s = now
        self.last_seen_s = now
        self.closed = False

    def __repr__(self) -> str:
        return f"<Session conn={self.conn} {self.user}/{self.device}>"


class Registry:
    """Which devices of each user are online, and on which connection.

    In a large deployment this is a shared key-value store (for example Redis) that
    every gateway writes and every logic server reads; here it is a dict.
    """

    def __init__(self):
        self.routes: dict[str, dict[str, int]] = {}

    def get(self, user: str) -> dict[str, int]:
        """``{device: conn}`` of ``user``'s online devices (do not modify)."""
        return self.routes.get(user, _EMPTY)

    def online(self, user: str) -> bool:
        return bool(self.routes.get(user))

    def add(self, user: str, device: str, conn: int) -> int | None:
        """Register a device; returns the connection it replaces, if any."""
        devices = self.routes.setdefault(user, {})
        old = devices.get(device)
        devices[device] = conn
        return old if old != conn else None

    def remove(self, user: str, device: str, conn: int) -> None:
        """Unregister a device, unless it has already moved to another connection."""
        devices = self.routes.get(user)
        if devices and devices.get(device) == conn:
            del devices[device]
            if not devices:
                del self.routes[user]

    def count(self) -> int:
        return sum(len(d) for d in self.routes.values())


_EMPTY: dict = {}


class Gateway:
    """The access server for many connections (sans-IO).

    ``authenticate(user, token) -> bool`` checks credentials (the store's
    :meth:`~rtlib.im.store.Store.check_token`).  ``revalidate`` (the same kind of
    function) re-checks the token of every authenticated connection at each sweep, or
    only when ``tokens_version()`` changed if that is given; ``None`` (the simulator)
    never re-checks.  ``send_limit`` and ``auth_limit`` are ``(rate_per_s, burst)`` per
    user, the protocol's defaults unless given; ``None`` switches one off.
    """

    def __init__(self, authenticate: Callable[[str, str], bool], *, registry: Registry | None = None,
                 idle_timeout_s: float = P.IDLE_TIMEOUT_S, auth_timeout_s: float = P.AUTH_TIMEOUT_S,
                 send_limit=_DEFAULT, auth_limit=_DEFAULT, revalidate: Callable[[str, str], bool] | None = None,
                 tokens_version: Callable[[], object] | None = None):
        if not idle_timeout_s > 0:
            raise ValueError(f"idle_timeout_s must be > 0 s, got {idle_timeout_s!r}")
        if not auth_timeout_s > 0:
            raise ValueError(f"auth_timeout_s must be > 0 s, got {auth_timeout_s!r}")
        self.authenticate = authenticate
        self.registry = registry if registry is not None else Registry()
        self.idle_timeout_s = float(idle_timeout_s)
        self.auth_timeout_s = float(auth_timeout_s)
        self.sweep_s = min(self.idle_timeout_s, self.auth_timeout_s) / 4
        self.send_limit = _limiter("send_limit", send_limit, (P.SEND_RATE_PER_S, P.SEND_BURST))
        self.auth_limit = _limiter("auth_limit", auth_limit, (P.AUTH_RATE_PER_S, P.AUTH_BURST))
        self.revalidate = revalidate
        self.tokens_version = tokens_version
        self._tokens_seen = tokens_version() if tokens_version is not None else None
        self.sessions: dict[int, Session] = {}
        self._by_device: dict[tuple, int] = {}  # (user, device) -> its newest authenticated connection
        self._next_conn = 1
        self._next_sweep: float | None = None
        self.frames_in = 0
        self.errors_sent = 0
        self.auth_failures = 0
        self.idle_closed = 0
        self.rate_limited = 0
        self.revoked_closed = 0

    # -- connections --------------------------------------------------------------------
    def open(self, now: float) -> int:
        """A new transport connection; returns its id (authenticate it next)."""
        conn = self._next_conn
        self._next_conn += 1
        self.sessions[conn] = Session(conn, now)
        if self._next_sweep is None:
            self._next_sweep = now + self.sweep_s
        return conn

    def closed(self, conn: int, now: float) -> None:
        """The transport of ``conn`` closed (by either side)."""
        s = self.sessions.pop(conn, None)
        if s is not None:
            s.closed = True
            if s.user is not None:
                self.registry.remove(s.user, s.device, conn)
                key = (s.user, s.device)
                if self._by_device.get(key) == conn:
                    del self._by_device[key]

    def session(self, conn: int) -> Session | None:
        return self.sessions.get(conn)

    # -- frames -------------------------------------------------------------------------
    def on_frame(self, conn: int, frame, now: float) -> list[tuple]:
        """One frame from ``conn`` (JSON text live, a ``dict`` in simulation)."""
        out: list[tuple] = []
        self._on_frame(conn, frame, now, out)
        return out

    def on_frames(self, conn: int, frames, now: float) -> list[tuple]:
        """Several frames from ``conn`` in arrival order (one call, for speed)."""
        out: list[tuple] = []
        s = self.sessions.get(conn)
        check = P.check_frame
        for frame in frames:
            # The common case inline: a valid send on an authenticated connection.
            if s is not None and s.user is not None and frame.__class__ is dict and frame.get("type") == "send":
                try:
                    check(frame)
                except P.FrameError:
                    self._on_frame(conn, frame, now, out)  # the slow path answers the error
                    continue
                self.frames_in += 1
                s.last_seen_s = now
                if self.send_limit is not None:
                    wait = self.send_limit.take(s.user, now)
                    if wait:
                        self._limited(conn, wait, out, cid=frame["cid"], conv=frame["conv"])
                        continue
                out.append(("logic", s, frame))
            else:
                self._on_frame(conn, frame, now, out)
                s = self.sessions.get(conn)
        return out

    def _on_frame(self, conn, frame, now, out) -> None:
        s = self.sessions.get(conn)
        if s is None:  # the connection is gone: whatever was in flight is dropped
            return
        self.frames_in += 1
        s.last_seen_s = now
        try:
            frame = P.check_frame(frame) if frame.__class__ is dict else P.decode(frame)
        except P.FrameError as exc:
            self.errors_sent += 1
            ref = {}
            frame = exc.frame if exc.frame is not None else frame
            if isinstance(frame, dict) and frame.get("type") == "send":
                for key in ("cid", "conv"):  # name what is refused, when it can be named
                    v = frame.get(key)
                    if isinstance(v, str) and v.isprintable() and len(v) <= P.MAX_ID_CHARS:
                        ref[key] = v
            out.append(("send", conn, P.error(exc.code, exc.reason, **ref)))
            return
        kind = frame["type"]
        if s.user is not None:
            if kind == "send":
                if self.send_limit is not None:
                    wait = self.send_limit.take(s.user, now)
                    if wait:
                        self._limited(conn, wait, out, cid=frame["cid"], conv=frame["conv"])
                        return
                out.append(("logic", s, frame))
            elif kind == "ping":
                out.append(("send", conn, PONG))
            elif kind == "auth":
                wait = self.auth_limit.take(s.user, now) if self.auth_limit is not None else 0.0
                if wait:
                    self._limited(conn, wait, out)
                elif frame["user"] == s.user and frame.get("device", "default") == s.device \
                        and self.authenticate(frame["user"], frame["token"]):
                    out.append(("logic", s, frame))  # a repeated auth (its answer was lost): answer again
                else:
                    self.errors_sent += 1
                    out.append(("send", conn, P.error(P.ALREADY_AUTHENTICATED,
                                                      "this connection is already authenticated as someone else")))
            else:
                out.append(("logic", s, frame))
            return
        if kind == "auth":
            user, device = frame["user"], frame.get("device", "default")
            if self.auth_limit is not None:
                wait = self.auth_limit.take(user, now)
                if wait:  # checked before the token: guessing costs the same whatever the guess
                    self._limited(conn, wait, out)
                    return
            if not self.authenticate(user, frame["token"]):
                self.auth_failures += 1
                self.errors_sent += 1
                out.append(("send", conn, P.error(P.AUTH_FAILED, "unknown user or wrong token")))
                out.append(("close", conn, P.CLOSE_AUTH, "authentication failed"))
                self.closed(conn, now)
                return
            s.user, s.device, s.token = user, device, frame["token"]
            key = (user, device)
            old = self._by_device.get(key)
            self._by_device[key] = conn
            if old is not None and old != conn and old in self.sessions:  # the same device reconnected
                out.append(("close", old, P.CLOSE_REPLACED, "replaced by a newer connection of the same device"))
                self.closed(old, now)
            out.append(("logic", s, frame))
        else:
            self.errors_sent += 1
            ref = {"cid": frame["cid"]} if kind == "send" else {}
            out.append(("send", conn, P.error(P.UNAUTHENTICATED, "send an auth frame first", **ref)))

    def _limited(self, conn, wait_s: float, out, **ref) -> None:
        self.rate_limited += 1
        self.errors_sent += 1
        ms = max(1, int(wait_s * 1000 + 0.999))
        out.append(("send", conn, P.error(P.RATE_LIMITED, f"too many requests; retry after {ms} ms",
                                          retry_after_ms=ms, **ref)))

    # -- timers -------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` should next run (``None``: no connection to watch)."""
        return self._next_sweep if self.sessions else None

    def on_timer(self, now: float) -> list[tuple]:
        """Close connections silent for ``idle_timeout_s`` (or not authenticated in time)."""
        out = []
        if self._next_sweep is None or now < self._next_sweep:
            return out
        idle, auth = self.idle_timeout_s, self.auth_timeout_s
        recheck = self.revalidate is not None
        if recheck and self.tokens_version is not None:
            version = self.tokens_version()
            recheck, self._tokens_seen = version != self._tokens_seen, version
        for conn, s in list(self.sessions.items()):
            if s.user is None:
                if now - s.opened_s > auth:
                    out.append(("close", conn, P.CLOSE_AUTH_TIMEOUT, "no auth frame in time"))
                    self.closed(conn, now)
            elif now - s.last_seen_s > idle:
                self.idle_closed += 1
                out.append(("close", conn, P.CLOSE_IDLE, "idle: no frame or heartbeat in time"))
                self.closed(conn, now)
            elif recheck and not self.revalidate(s.user, s.token):
                self.revoked_closed += 1
                out.append(("close", conn, P.CLOSE_AUTH, "token revoked"))
                self.closed(conn, now)
        for limiter in (self.send_limit, self.auth_limit):
            if limiter is not None:
                limiter.forget_idle(now)
        self._next_sweep = now + self.sweep_s if self.sessions else None
        return out


def _limiter(name, value, default):
    if value is None:
        return None
    rate, burst = default if value is _DEFAULT else value
    try:
        return RateLimiter(rate, burst)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None
