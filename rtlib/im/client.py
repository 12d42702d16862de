"""The IM client (one device), sans-IO: ids, acks, retries, dedupe, cursors, sync.

Sending: every message gets a *client message id* (``cid``), unique for this sender,
before it leaves the device.  The client keeps it until the server's ``ack`` says it
is stored, and resends it when no ack came within the ack timeout, waiting
``ack_timeout_s × backoff^(k−1)`` (capped at ``max_backoff_s``) after attempt ``k``.
The server is idempotent on ``(sender, cid)``, so a resend of a stored message is
harmless: it gets the same sequence number back.

Receiving: the server numbers each conversation's messages 1, 2, 3, ...  The client
keeps a *cursor* per conversation, the highest seq up to which it has everything,
and releases messages to the application in seq order, each once:

- a seq at or below the cursor (or one already held) is a duplicate: dropped;
- a seq above ``cursor + 1`` reveals a *gap*: the message is held back, and if the
  gap is still open after ``gap_wait_s`` the client pulls the missing ones (``sync``);
- on (re)connection, ``auth_ok`` lists each conversation's last seq, and the client
  pulls every conversation whose last seq is beyond its cursor (offline catch-up);
- the heartbeat, sent when the connection has been quiet for ``heartbeat_s``, is a
  ``sync`` of every conversation from the cursors: a lost *last* message, which no
  later message reveals as a gap, is pulled then (``ping`` when ``pull`` is off).

The read watermark (``read``) is separate from the cursor: the cursor says "this
device has it", the watermark says "the user has seen it", and it is shared by all
of the user's devices.

The switches ``acks``, ``retries``, ``dedupe``, ``in_order`` and ``pull`` turn each
mechanism off for the fault experiments of notebook 02.

Sans-IO: feed it frames and the time; take what it wants to send with
:meth:`Client.take_frames` and what happened with :meth:`Client.take_events`; call
:meth:`Client.on_timer` at :meth:`Client.next_deadline`.  Events are tuples::

    ("open", convs)            authenticated; convs = {conv: {"last_seq", "read_seq"}}
    ("message", msg)           a message for the application (a ``msg`` frame dict;
                               own messages come at their ack, with "own": True)
    ("acked", cid, conv, seq)  the server stored our message
    ("failed", cid, conv, why) we gave up on our message (the user sees a red mark)
    ("read", conv, user, seq)  a read watermark moved
    ("history", conv, messages, more)  a page of older messages (:meth:`Client.history`)
    ("error", code, reason)    the server refused something

Refusals follow PROTOCOL.md: a send refused with a final code (``not_member``,
``conflict``, ``bad_frame``, ``too_large``, ``internal_error``...) fails at once, one
refused with ``unavailable`` is resent at once, one refused with ``rate_limited`` is
resent after its ``retry_after_ms`` (and so is a rate-limited ``auth``).

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from rtlib.im.protocol import FINAL_ERRORS, RATE_LIMITED, RETRY_ERRORS
from rtlib.validate import check_number


class Client:
    """One device of one user."""

    def __init__(self, user: str, token: str, device: str = "phone", *, acks: bool = True, retries: bool = True,
                 dedupe: bool = True, in_order: bool = True, pull: bool = True, ack_timeout_s: float = 1.0,
                 backoff: float = 2.0, max_backoff_s: float = 16.0, max_attempts: int = 0,
                 gap_wait_s: float = 0.1, heartbeat_s: float = 30.0, cid_prefix: str | None = None):
        for name, value, low in (("ack_timeout_s", ack_timeout_s, 0), ("max_backoff_s", max_backoff_s, 0),
                                 ("heartbeat_s", heartbeat_s, 0)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > low):
                raise ValueError(f"{name} must be a finite number > {low} s, got {value!r}")
        check_number("backoff", backoff, 1, 10)
        check_number("gap_wait_s", gap_wait_s, 0, 60, unit="s")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 0:
            raise ValueError(f"max_attempts must be an integer >= 0 (0 = no limit), got {max_attempts!r}")
        self.user, self.token, self.device = user, token, device
        self.acks, self.retries, self.dedupe, self.in_order, self.pull = acks, retries, dedupe, in_order, pull
        self.ack_timeout_s, self.backoff, self.max_backoff_s = float(ack_timeout_s), float(backoff), float(max_backoff_s)
        self.max_attempts = max_attempts
        self.gap_wait_s, self.heartbeat_s = float(gap_wait_s), float(heartbeat_s)
        self.cid_prefix = f"{device}-" if cid_prefix is None else cid_prefix
        self.state = "closed"  # -> "authenticating" -> "open"
        self._n = 0
        self._frames: list[dict] = []
        self._events: list[tuple] = []
        self.pending: dict[str, list] = {}  # cid -> [frame, attempts, deadline]
        # Ack timers: first attempts all wait ack_timeout_s, so their deadlines come in
        # order and a queue holds them; retries (other waits) go in a heap.
        self._first: deque = deque()  # (deadline, cid) of first attempts
        self._timers: list[tuple] = []  # heap of (deadline, cid, attempts) of retries
        self.cursor: dict[str, int] = {}
        self._held: dict[str, dict] = {}  # conv -> {seq: msg} above the cursor
        self._gap_due: dict[str, float] = {}  # conv -> when to pull if the gap is still open
        self.read_seq: dict[str, int] = {}
        self._last_sent_s = 0.0
        self._auth_due = math.inf
        self._auth_wait_s = self.ack_timeout_s
        # A lower bound of next_deadline(), kept up to date cheaply, for drivers that
        # call on_timer() at wake_s instead of asking next_deadline() after every input.
        self.wake_s = math.inf
        self.n_sent = self.n_resent = self.n_acked = self.n_failed = 0
        self.n_released = self.n_duplicates_dropped = self.n_pulls = 0

    @property
    def stats(self) -> dict:
        """Counters: sent, resent, acked, failed, released, duplicates_dropped, pulls."""
        return {"sent": self.n_sent, "resent": self.n_resent, "acked": self.n_acked, "failed": self.n_failed,
                "released": self.n_released, "duplicates_dropped": self.n_duplicates_dropped,
                "pulls": self.n_pulls}

    # -- connection lifecycle -------------------------------------------------------------
    def connect(self, now: float) -> None:
        """The transport is up: authenticate (the auth frame is resent until answered)."""
        self.state = "authenticating"
        self._auth_wait_s = self.ack_timeout_s
        self._send_auth(now)

    def _send_auth(self, now: float) -> None:
        self._auth_due = now + self._auth_wait_s
        if self._auth_due < self.wake_s:
            self.wake_s = self._auth_due
        self._out({"type": "auth", "user": self.user, "token": self.token, "device": self.device}, now)

    def disconnected(self, now: float) -> None:
        """The transport is gone; pending messages wait for the next connection."""
        self.state = "closed"
        self._frames.clear()
        self._gap_due.clear()

    # -- application calls ----------------------------------------------------------------
    def send(self, conv: str, body: str, now: float) -> str:
        """Queue a message; returns its client message id."""
        self._n += 1
        cid = f"{self.cid_prefix}{self._n}"
        frame = {"type": "send", "conv": conv, "cid": cid, "body": body}
        self.n_sent += 1
        if self.state != "open":  # not sent yet: it waits for the connection (no timer runs)
            self.pending[cid] = [frame, 0, math.inf]
            return cid
        self._out(frame, now)
        if self.acks:
            deadline = now + self.ack_timeout_s
            self.pending[cid] = [frame, 1, deadline]
            self._first.append((deadline, cid))
            if deadline < self.wake_s:
                self.wake_s = deadline
        return cid

    def read(self, conv: str, seq: int, now: float) -> None:
        """Tell the server (and so the user's other devices) that ``seq`` was read."""
        if seq > self.read_seq.get(conv, 0):
            self.read_seq[conv] = seq
            if self.state == "open":
                self._out({"type": "read", "conv": conv, "seq": seq}, now)

    def history(self, conv: str, now: float, before: int | None = None, limit: int = 50) -> None:
        """Ask for the ``limit`` messages before seq ``before`` (the latest ones if None);
        the answer comes as a ``("history", conv, messages, more)`` event."""
        if self.state != "open":
            return
        frame = {"type": "history", "conv": conv, "limit": limit}
        if before is not None:
            frame["before"] = before
        self._out(frame, now)

    def sync(self, now: float, conv: str | None = None) -> None:
        """Pull what is stored after the cursor (one conversation, or all)."""
        if self.state != "open":
            return
        self.n_pulls += 1
        if conv is None:
            self._out({"type": "sync", "since": dict(self.cursor)}, now)
        else:
            self._out({"type": "sync", "conv": conv, "since": self.cursor.get(conv, 0)}, now)

    # -- frames from the server ---------------------------------------------------------
    def on_frame(self, frame: dict, now: float) -> None:
        kind = frame.get("type")
        if kind == "msg" or kind == "ack":
            self.on_frames((frame,), now)
        elif kind == "sync_ok":
            conv = frame["conv"]
            for m in frame["messages"]:
                self._accept({"type": "msg", "conv": conv, **m}, now)
            if frame.get("more"):  # the next page, from the last one received (or the cursor)
                self.n_pulls += 1
                since = frame["messages"][-1]["seq"] if frame["messages"] else self.cursor.get(conv, 0)
                self._out({"type": "sync", "conv": conv, "since": since}, now)
        elif kind == "history_ok":
            self._events.append(("history", frame["conv"], frame["messages"], frame.get("more", False)))
        elif kind == "auth_ok":
            self._on_open(frame, now)
        elif kind == "read":
            conv, seq = frame["conv"], frame["seq"]
            if frame.get("user") == self.user and seq > self.read_seq.get(conv, 0):
                self.read_seq[conv] = seq
            self._events.append(("read", conv, frame.get("user"), seq))
        elif kind == "error":
            self._on_error(frame, now)
        # "pong" only proves the connection is alive

    def on_frames(self, frames, now: float) -> None:
        """Several frames in arrival order (the common cases inlined, for speed)."""
        cursor, held, events = self.cursor, self._held, self._events
        for f in frames:
            kind = f["type"]
            if kind == "msg":
                conv, seq = f["conv"], f["seq"]
                if seq == cursor.get(conv, 0) + 1 and not held.get(conv):
                    cursor[conv] = seq  # the next one, nothing held: release at once
                    self.n_released += 1
                    events.append(("message", f))
                else:
                    self._accept(f, now)
            elif kind == "ack":  # our message is stored: it takes its place at its seq
                p = self.pending.pop(f["cid"], None)
                if p is None:  # an ack for a retry already acked
                    continue
                self.n_acked += 1
                conv, seq, cid = f["conv"], f["seq"], f["cid"]
                events.append(("acked", cid, conv, seq))
                m = {"type": "msg", "conv": conv, "seq": seq, "sender": self.user, "cid": cid,
                     "body": p[0]["body"], "ts": f.get("ts"), "own": True}
                if seq == cursor.get(conv, 0) + 1 and not held.get(conv):
                    cursor[conv] = seq
                    self.n_released += 1
                    events.append(("message", m))
                else:
                    self._accept(m, now)
            else:
                self.on_frame(f, now)

    def _on_open(self, frame, now) -> None:
        self.state = "open"
        convs = frame.get("convs", {})
        self._events.append(("open", convs))
        for conv, info in convs.items():
            r = info.get("read_seq", 0)
            if r > self.read_seq.get(conv, 0):
                self.read_seq[conv] = r
            if self.pull and info.get("last_seq", 0) > self.cursor.get(conv, 0):
                self.sync(now, conv)
        # Send what waited for the connection, and resend what was not acked (oldest
        # first, each with a fresh timer); without retries a message is sent only once.
        for cid, p in list(self.pending.items()):
            if p[1] == 0:
                self._out(p[0], now)
                if not self.acks:  # fire-and-forget: sent once, then forgotten
                    del self.pending[cid]
                    continue
            elif self.retries:
                self.n_resent += 1
                self._out(p[0], now)
            else:
                continue
            p[1] += 1
            p[2] = now + self._timeout(p[1])
            self._arm(cid, p)

    def _arm(self, cid: str, p: list) -> None:
        if p[1] == 1:
            self._first.append((p[2], cid))
        else:
            heapq.heappush(self._timers, (p[2], cid, p[1]))
        if p[2] < self.wake_s:
            self.wake_s = p[2]

    def _on_error(self, frame, now) -> None:
        cid = frame.get("cid")
        p = self.pending.get(cid) if cid is not None else None
        code = frame.get("code")
        if p is not None and code in FINAL_ERRORS:
            del self.pending[cid]  # retrying cannot help
            self.n_failed += 1
            self._events.append(("failed", cid, p[0]["conv"], code))
            return
        if p is not None and code in RETRY_ERRORS:
            self._retry(cid, p, now)  # the server asked for a retry: do not wait for the timer
            return
        if code == RATE_LIMITED:
            after = max(0.001, float(frame.get("retry_after_ms", 1000)) / 1000)
            if p is not None:  # resend when the server said, not before
                p[1] += 1  # (makes the refused attempt's timer stale)
                p[2] = now + after
                heapq.heappush(self._timers, (p[2], cid, p[1]))
                if p[2] < self.wake_s:
                    self.wake_s = p[2]
                return
            if self.state == "authenticating":  # the auth was refused for now: ask again then
                self._auth_due = now + after
                if self._auth_due < self.wake_s:
                    self.wake_s = self._auth_due
                return
        self._events.append(("error", code, frame.get("reason", "")))

    # -- receiving: dedupe, order, gaps ------------------------------------------------------
    def _accept(self, m: dict, now: float) -> None:
        conv, seq = m["conv"], m["seq"]
        cur = self.cursor.get(conv, 0)
        if seq == cur + 1:
            self._release(m)
            cur = seq
            held = self._held.get(conv)
            if held:
                in_order = self.in_order
                while cur + 1 in held:
                    cur += 1
                    m2 = held.pop(cur)
                    if in_order:
                        self._release(m2)
                if not held:
                    self._gap_due.pop(conv, None)
            self.cursor[conv] = cur
            return
        if seq <= cur or seq in self._held.get(conv, ()):
            if self.dedupe:
                self.n_duplicates_dropped += 1
            else:
                self._release(m)
            return
        # A gap: hold it (or, without in-order release, show it now and remember it).
        self._held.setdefault(conv, {})[seq] = m
        if not self.in_order:
            self._release(m)
        if self.pull and conv not in self._gap_due and self.state == "open":
            due = self._gap_due[conv] = now + self.gap_wait_s
            if due < self.wake_s:
                self.wake_s = due

    def _release(self, m: dict) -> None:
        self.n_released += 1
        self._events.append(("message", m))

    # -- timers ---------------------------------------------------------------------------
    def _timeout(self, attempt: int) -> float:
        return min(self.ack_timeout_s * self.backoff ** (attempt - 1), self.max_backoff_s)

    def _retry(self, cid, p, now) -> None:
        if not self.retries or (self.max_attempts and p[1] >= self.max_attempts):
            del self.pending[cid]
            self.n_failed += 1
            self._events.append(("failed", cid, p[0]["conv"], "no ack"))
            return
        p[1] += 1
        p[2] = now + self._timeout(p[1])
        self._arm(cid, p)
        if self.state == "open":
            self.n_resent += 1
            self._out(p[0], now)

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` should run next (``None``: nothing to wait for)."""
        timers, first, pending = self._timers, self._first, self.pending
        while timers and (timers[0][1] not in pending or pending[timers[0][1]][1] != timers[0][2]):
            heapq.heappop(timers)
        while first and (first[0][1] not in pending or pending[first[0][1]][1] != 1):
            first.popleft()
        best = timers[0][0] if timers else None
        if first and (best is None or first[0][0] < best):
            best = first[0][0]
        if self.state == "authenticating":
            best = self._auth_due if best is None or self._auth_due < best else best
        if self._gap_due:
            g = min(self._gap_due.values())
            best = g if best is None or g < best else best
        if self.state == "open":
            hb = self._last_sent_s + self.heartbeat_s
            best = hb if best is None or hb < best else best
        return best

    def on_timer(self, now: float) -> None:
        """Retry what timed out, pull open gaps, send a heartbeat when due."""
        if self.state == "authenticating" and now >= self._auth_due:
            # auth or auth_ok was lost: ask again (the gateway answers a repeated auth)
            self._auth_wait_s = min(self._auth_wait_s * self.backoff, self.max_backoff_s)
            self._send_auth(now)
        timers, first, pending = self._timers, self._first, self.pending
        while first and first[0][0] <= now:
            _, cid = first.popleft()
            p = pending.get(cid)
            if p is not None and p[1] == 1:
                self._retry(cid, p, now)
        while timers and timers[0][0] <= now:
            _, cid, attempt = heapq.heappop(timers)
            p = pending.get(cid)
            if p is not None and p[1] == attempt:
                self._retry(cid, p, now)
        if self._gap_due and self.state == "open":
            for conv, due in list(self._gap_due.items()):
                if due <= now:
                    if self._held.get(conv):
                        self.sync(now, conv)
                        self._gap_due[conv] = now + max(self.ack_timeout_s, self.gap_wait_s)
                    else:
                        del self._gap_due[conv]
        # (the heartbeat below goes through _out, which keeps wake_s in step)
        if self.state == "open" and now >= self._last_sent_s + self.heartbeat_s:
            if self.pull:  # the heartbeat doubles as a pull of anything missed (a lost last msg)
                self.sync(now)
            else:
                self._out({"type": "ping"}, now)
        d = self.next_deadline()
        self.wake_s = math.inf if d is None else d

    # -- outputs --------------------------------------------------------------------------
    def _out(self, frame: dict, now: float) -> None:
        self._frames.append(frame)
        self._last_sent_s = now
        hb = now + self.heartbeat_s
        if hb < self.wake_s:
            self.wake_s = hb

    def take_frames(self) -> list[dict]:
        """The frames to write on the connection, in order (the list is handed over)."""
        frames = self._frames
        if frames:
            self._frames = []
        return frames

    def take_events(self) -> list[tuple]:
        """What happened for the application since the last call."""
        events = self._events
        if events:
            self._events = []
        return events
