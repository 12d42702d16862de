"""A sans-IO call state machine: idle → ringing → connecting → in call → ended.

:class:`CallMachine` is one device of one user in a 1:1 conversation.  It is fed the
IM messages of that conversation (``on_message``), the user's choices (``call``,
``accept``, ``reject``, ``hangup``), the media stack's news (``media_connected``) and
the current time (``on_timer`` at ``next_deadline()``); it never touches a socket or a
clock.  What it wants done comes out of :meth:`take_actions` as tuples:

=====================================  ==============================================
action                                 the driver...
=====================================  ==============================================
``("send", body)``                     sends ``body`` (JSON text) to the conversation
``("ring", call_id, sdp, auto)``       rings (``auto``: answer at once, after glare)
``("stop_ring", call_id, reason)``     stops ringing
``("remote_ringing", call_id, dev)``   shows "ringing" on the caller's side
``("remote_sdp", kind, sdp)``          applies the peer's offer or answer
``("add_candidate", candidate)``       adds a trickled ICE candidate
``("missed", call_id)``                shows a missed call (never rang, or not taken)
``("not_missed", call_id)``            takes it back: another device of ours took it
``("glare_lost", call_id)``            drops its own outgoing call ``call_id``
``("ended", call_id, reason)``         closes the media and shows the reason
``("bad_body", error)``                logs a malformed ``call`` body (it is ignored)
=====================================  ==============================================

The rules (``rtlib/im/PROTOCOL.md``, "Calls: signalling over IM"): the ring timeout
runs from the server timestamp of the offer, so an offer pulled after it is a missed
call that never rings; a callee's devices all ring and the first ``accept`` (in the
conversation's order) wins, the others stop on seeing it; when both users call each
other at once (glare), the call with the lower call id is kept and the other caller
answers it (the same rule as Matrix's VoIP glare resolution, which keeps the call whose
id sorts first).  The machine follows one call at a time.

Used in: notebooks/12_live_call.ipynb, :mod:`rtlib.signal.peer`, ``tests/signal``.
"""

from __future__ import annotations

import math

from rtlib.errors import ParseError
from rtlib.signal.body import SENDERS, make_body, new_call_id, parse_body

IDLE, RINGING, CONNECTING, IN_CALL, ENDED = "idle", "ringing", "connecting", "in_call", "ended"
STATES = (IDLE, RINGING, CONNECTING, IN_CALL, ENDED)
RING_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 15.0


def _check_time(name: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number of seconds, got {v!r}")
    return float(v)


class CallMachine:
    """One device's view of the calls in a 1:1 conversation between ``user`` and ``peer``.

    ``now_s`` is the same clock as the IM server's ``ts`` (seconds since the epoch): on
    one machine, ``time.time()``.
    """

    def __init__(self, user: str, device: str, peer: str, *, ring_timeout_s: float = RING_TIMEOUT_S,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S):
        if not isinstance(user, str) or not user or not isinstance(peer, str) or not peer or user == peer:
            raise ValueError(f"user and peer must be two different non-empty names, got {user!r} and {peer!r}")
        if not isinstance(device, str) or not device:
            raise ValueError(f"device must be a non-empty name, got {device!r}")
        for name, v in (("ring_timeout_s", ring_timeout_s), ("connect_timeout_s", connect_timeout_s)):
            if _check_time(name, v) <= 0 or v > 3600:
                raise ValueError(f"{name} must be in (0, 3600] s, got {v!r}")
        self.user, self.device, self.peer = user, device, peer
        self.ring_timeout_s, self.connect_timeout_s = float(ring_timeout_s), float(connect_timeout_s)
        self.state = IDLE
        self.direction: str | None = None  # "out" (we call) or "in" (we are called)
        self.call_id: str | None = None
        self.reason: str | None = None  # why the last call ended
        self.remote_device: str | None = None  # the callee device that accepted, or the caller's device
        self.offer_sdp: str | None = None
        self.offer_ts: float | None = None  # server time of the current call's offer
        self.missed: list[str] = []
        self.marks: dict[str, float] = {}  # when each step happened (now_s), for the setup-time breakdown
        self.history: list[tuple[float, str, str]] = []  # (now_s, state, note)
        self._deadline: float | None = None
        self._actions: list[tuple] = []
        self._seen: set[tuple[str, str, str]] = set()  # (call id, kind, device) already handled

    # -- outputs ------------------------------------------------------------------------------
    def take_actions(self) -> list[tuple]:
        out, self._actions = self._actions, []
        return out

    def next_deadline(self) -> float | None:
        return self._deadline

    def _go(self, state: str, now_s: float, note: str = "") -> None:
        self.state = state
        self.history.append((now_s, state, note))

    def _send(self, kind: str, **fields) -> None:
        self._actions.append(("send", make_body(kind, self.call_id, device=self.device, **fields)))

    def _end(self, now_s: float, reason: str) -> None:
        self.reason = reason
        self._deadline = None
        self.marks["ended"] = now_s
        self._go(ENDED, now_s, reason)
        self._actions.append(("ended", self.call_id, reason))

    # -- the user's choices -------------------------------------------------------------------
    def call(self, sdp: str, now_s: float, call_id: str | None = None) -> str:
        """Place a call with our SDP offer; returns its call id."""
        now_s = _check_time("now_s", now_s)
        if self.state not in (IDLE, ENDED):
            raise RuntimeError(f"cannot place a call while {self.state}")
        self.call_id = call_id or new_call_id()
        self.direction, self.reason, self.remote_device = "out", None, None
        self.offer_sdp, self.offer_ts = sdp, None
        self.marks = {"offer_sent": now_s}
        self._send("offer", sdp=sdp)
        self._deadline = now_s + self.ring_timeout_s
        self._go(RINGING, now_s, "calling")
        return self.call_id

    def accept(self, answer_sdp: str, now_s: float) -> None:
        """Take the ringing incoming call with our SDP answer."""
        now_s = _check_time("now_s", now_s)
        if self.state != RINGING or self.direction != "in":
            raise RuntimeError(f"nothing to accept (state {self.state})")
        self._send("accept")
        self._send("answer", sdp=answer_sdp)
        self.marks["accepted"] = now_s
        self._actions.append(("stop_ring", self.call_id, "accepted"))
        self._deadline = now_s + self.connect_timeout_s
        self._go(CONNECTING, now_s, "accepted")

    def reject(self, now_s: float, reason: str = "declined") -> None:
        now_s = _check_time("now_s", now_s)
        if self.state != RINGING or self.direction != "in":
            raise RuntimeError(f"nothing to reject (state {self.state})")
        self._send("reject", reason=reason)
        self._actions.append(("stop_ring", self.call_id, reason))
        self._end(now_s, reason)

    def hangup(self, now_s: float) -> None:
        """End the current call (a caller's ringing call too); nothing to do when idle or ended."""
        now_s = _check_time("now_s", now_s)
        if self.state in (IDLE, ENDED):
            return
        if self.state == RINGING and self.direction == "in":
            self.reject(now_s)
            return
        self._send("hangup", reason="hangup")
        self._end(now_s, "hangup")

    def local_candidate(self, candidate: str) -> None:
        """Trickle one of our ICE candidates (dropped unless it is UDP on 127.0.0.1)."""
        from rtlib.signal.body import is_loopback_candidate

        if self.state in (RINGING, CONNECTING, IN_CALL) and is_loopback_candidate(candidate):
            self._send("candidate", candidate=candidate.strip().removeprefix("a="))

    # -- news from the media stack and the clock ------------------------------------------------
    def media_connected(self, now_s: float) -> None:
        """ICE and DTLS are up: the call is on."""
        now_s = _check_time("now_s", now_s)
        if self.state == CONNECTING:
            self.marks["connected"] = now_s
            self._deadline = None
            self._go(IN_CALL, now_s, "media connected")

    def media_failed(self, now_s: float) -> None:
        now_s = _check_time("now_s", now_s)
        if self.state in (CONNECTING, IN_CALL):
            self._send("hangup", reason="failed")
            self._end(now_s, "failed")

    def on_timer(self, now_s: float) -> None:
        now_s = _check_time("now_s", now_s)
        if self._deadline is None or now_s < self._deadline:
            return
        if self.state == RINGING and self.direction == "out":
            self._send("hangup", reason="timeout")
            self._end(now_s, "no_answer")
        elif self.state == RINGING:
            self._actions.append(("stop_ring", self.call_id, "timeout"))
            self._missed(self.call_id)
            self._end(now_s, "missed")
        elif self.state == CONNECTING:
            self._send("hangup", reason="failed")
            self._end(now_s, "failed")

    def _missed(self, call_id: str) -> None:
        self.missed.append(call_id)
        self._actions.append(("missed", call_id))

    # -- IM messages ----------------------------------------------------------------------------
    def on_message(self, sender: str, body: str, ts: float, now_s: float) -> None:
        """One message of the conversation, in the conversation's order (our own ones too)."""
        now_s, ts = _check_time("now_s", now_s), _check_time("ts", ts)
        try:
            b = parse_body(body)
        except ParseError as exc:
            self._actions.append(("bad_body", str(exc)))
            return
        if b is None:
            return  # chat text
        if sender not in (self.user, self.peer):
            self._actions.append(("bad_body", f"{sender!r} is not in this call's conversation"))
            return
        key = (b["id"], b["call"], b["device"], sender)
        if key in self._seen and b["call"] != "candidate":
            return  # a repeat (at-least-once delivery)
        self._seen.add(key)
        if sender == self.user:
            self._own(b, ts, now_s)
        else:
            self._from_peer(b, ts, now_s)

    def _own(self, b: dict, ts: float, now_s: float) -> None:
        """Our user's messages: our device's echo (its server time), or another device's choice."""
        if b["id"] in self.missed and b["call"] in ("accept", "reject"):
            # an old call pulled late was taken (or declined) on another device: not missed after all
            self.missed.remove(b["id"])
            self._actions.append(("not_missed", b["id"]))
        if b["id"] != self.call_id:
            return
        if b["device"] == self.device:
            if b["call"] == "accept":
                self.marks.setdefault("accept_stored", now_s)  # stored before any other device's accept
            if b["call"] == "offer" and self.direction == "out" and self.offer_ts is None:
                self.offer_ts = ts
                self.marks["offer_stored"] = now_s
                if self.state == RINGING:
                    self._deadline = ts + self.ring_timeout_s
            return
        if self.state == RINGING and self.direction == "in" and b["call"] in ("accept", "reject"):
            self._actions.append(("stop_ring", self.call_id, "answered_elsewhere"))
            self._end(now_s, "answered_elsewhere" if b["call"] == "accept" else "declined_elsewhere")
        elif (self.state == CONNECTING and self.direction == "in" and b["call"] == "accept"
              and "accept_stored" not in self.marks):
            # two of our devices accepted at once: the other one's accept is first in the conversation
            self._end(now_s, "answered_elsewhere")

    def _from_peer(self, b: dict, ts: float, now_s: float) -> None:
        kind, cid = b["call"], b["id"]
        if kind == "offer":
            self._peer_offer(b, ts, now_s)
            return
        if cid != self.call_id or self.state in (IDLE, ENDED):
            if kind == "hangup" and cid in self.missed:
                return
            return  # news of a call we are not in (an old one, or one we lost in glare)
        role = "callee" if self.direction == "out" else "caller"
        if SENDERS[kind] not in (role, "either"):
            self._actions.append(("bad_body", f"the {role} may not send {kind!r}"))
            return
        if kind == "ring":
            if self.state == RINGING:
                self.marks.setdefault("remote_ringing", now_s)
                self._actions.append(("remote_ringing", cid, b["device"]))
        elif kind == "accept":
            if self.state == RINGING:  # the first accept in the conversation's order wins
                self.remote_device = b["device"]
                self.marks["accept"] = now_s
                self._deadline = now_s + self.connect_timeout_s
                self._go(CONNECTING, now_s, f"accepted on {b['device']}")
        elif kind == "answer":
            if self.state == CONNECTING and b["device"] == self.remote_device and "answer" not in self.marks:
                self.marks["answer"] = now_s
                self._actions.append(("remote_sdp", "answer", b["sdp"]))
        elif kind == "candidate":
            if self.remote_device in (None, b["device"]):
                self._actions.append(("add_candidate", b["candidate"]))
        elif kind == "reject":
            if self.state == RINGING:
                self._end(now_s, b["reason"])
        elif kind == "hangup":
            if self.direction == "out" and self.remote_device not in (None, b["device"]):
                return  # a callee device that lost the race to accept
            if self.state == RINGING and self.direction == "in":
                self._actions.append(("stop_ring", cid, "caller hung up"))
                self._missed(cid)
                self._end(now_s, "missed")
            else:
                self._end(now_s, "remote_hangup")

    def _peer_offer(self, b: dict, ts: float, now_s: float) -> None:
        cid = b["id"]
        if cid == self.call_id:
            return
        if now_s - ts > self.ring_timeout_s:  # pulled too late: a missed call, it never rings
            if cid not in self.missed:
                self._missed(cid)
            return
        if self.state == RINGING and self.direction == "out":
            # glare: both called at once; the lower call id is kept (user names break a tie)
            mine_wins = (self.call_id, self.user) < (cid, self.peer)
            if mine_wins:
                return
            lost = self.call_id
            self._send("hangup", reason="glare")
            self._actions.append(("glare_lost", lost))
            self.history.append((now_s, self.state, f"glare: dropped {lost}, answering {cid}"))
            self._incoming(b, ts, now_s, auto=True)
            return
        if self.state in (IDLE, ENDED):
            self._incoming(b, ts, now_s, auto=False)
        elif self.state in (CONNECTING, IN_CALL) or (self.state == RINGING and self.direction == "in"):
            busy_id = self.call_id
            self.call_id = cid
            self._send("reject", reason="busy")
            self.call_id = busy_id

    def _incoming(self, b: dict, ts: float, now_s: float, *, auto: bool) -> None:
        self.call_id, self.direction, self.reason = b["id"], "in", None
        self.remote_device = b["device"]
        self.offer_sdp, self.offer_ts = b["sdp"], ts
        self.marks = {"offer_received": now_s}
        self._deadline = ts + self.ring_timeout_s
        self._go(RINGING, now_s, "incoming")
        self._send("ring")
        self._actions.append(("ring", self.call_id, b["sdp"], auto))


__all__ = ["CONNECTING", "CONNECT_TIMEOUT_S", "ENDED", "IDLE", "IN_CALL", "RINGING", "RING_TIMEOUT_S", "STATES",
           "CallMachine"]
