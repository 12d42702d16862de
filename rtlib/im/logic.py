"""The logic (business) server: membership, sequence numbers, store-then-ack, fan-out.

For each ``send`` it

1. checks that the sender belongs to the conversation (``not_member`` otherwise),
2. stores the message, which gives it the conversation's next sequence number
   (sends that arrive together are stored in one transaction: a *group commit*),
3. only then acks the sender (``ack`` with the seq): an ack is a promise that the
   message survives a crash,
4. fans the message out (``msg``) to every online device of every member (the
   sender's other devices too: multi-device sync), found in the gateway's session
   registry, and
5. asks the push service to wake each offline device of the other members.

A retry of a message already stored gets the same seq (the store is idempotent on
``(sender, cid)``) and is fanned out again: delivery is *at least once*, and the
receivers' dedupe turns that into exactly once for the application.  A "retry" that
names another conversation or carries another body is a ``conflict``: refused, never
acked, never fanned out, so that no live ``msg`` ever differs from what is stored.

One bad request never fails the others of its batch: when a group commit fails for a
reason other than the database itself (``sqlite3.OperationalError``: disk full, I/O
error, locked, which every member of the batch gets as ``unavailable``: retry), the
batch is split in halves and retried until the failing message stands alone; it alone
gets ``internal_error`` (retrying cannot help), the rest are stored and acked.

``sync`` returns stored messages after a seq (the pull path) and ``history`` the ones
before a seq (scrolling back), both in pages capped by count and by bytes
(:data:`~rtlib.im.protocol.MAX_SERVER_FRAME_BYTES`); ``read`` moves the user's read
watermark and tells their other devices and the other members.  ``auth_ok`` is the
first frame a connection gets: the logic puts the device into the session registry
(which routes ``msg`` frames) only when it answers the ``auth``.

Sans-IO: :meth:`Logic.on_requests` takes a batch of ``(session, frame)`` from the
gateway and the current time, and returns outputs::

    ("send", conn, frame)               to one connection (through its gateway)
    ("push", user, device, payload)     to the push service

Fault injection (simulation): ``crash=`` one of :data:`CRASHES` makes this batch die
before or after the store's commit, in the logic (nothing answers) or in the store
(the logic answers ``unavailable``).

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import logging
import sqlite3

from rtlib.im import protocol as P
from rtlib.im.store import CONFLICT, Store, StoreCrash

log = logging.getLogger("rtlib.im.logic")

_UNAVAILABLE = (None, None, P.UNAVAILABLE)
_FAILED = (None, None, P.INTERNAL_ERROR)
# Room left in a page for the frame around the messages (type, conv, since, last_seq, more).
_PAGE_BYTES = P.MAX_SERVER_FRAME_BYTES - 512
# A sync of every conversation: messages fill at most this much in total; conversations
# past it get an empty sync_ok with more=true (at most MAX_CONVS_PER_USER of ~170 bytes).
_SYNC_ALL_BYTES = P.MAX_SERVER_FRAME_BYTES // 3

CRASHES = ("logic_before_commit", "logic_after_commit", "store_before_commit", "store_after_commit")


class Logic:
    """The business server over a :class:`~rtlib.im.store.Store` and a session registry."""

    def __init__(self, store: Store, registry, *, acks: bool = True, push: bool = True,
                 preview_chars: int = 100):
        self.store = store
        self.registry = registry
        self.acks = bool(acks)
        self.push = bool(push)
        self.preview_chars = int(preview_chars)
        self.stored = 0
        self.duplicates = 0
        self.fanout_frames = 0
        self.pushes = 0
        self.crashes = 0
        self.rejected = 0
        self.conflicts = 0
        self.failed = 0
        # A cluster's gateway (rtlib.im.cluster) sets a list here: every msg frame of a
        # committed send (and every read note) is appended, to be copied to the other gateways.
        self.published: list | None = None

    def on_requests(self, batch, now: float, crash: str | None = None) -> list[tuple]:
        """Handle ``[(session, frame), ...]`` in order; sends are group-committed.

        ``crash`` (simulation only) injects one of :data:`CRASHES` at the first
        commit of this batch.
        """
        if crash is not None and crash not in CRASHES:
            raise ValueError(f"crash must be one of {list(CRASHES)} or None, got {crash!r}")
        out: list[tuple] = []
        sends: list[tuple] = []
        members = self.store.members
        try:
            for session, frame in batch:
                kind = frame["type"]
                if kind == "send":
                    if session.user in members(frame["conv"]):
                        sends.append((session, frame))
                    else:
                        self._not_member(session, out, cid=frame["cid"], conv=frame["conv"])
                    continue
                if sends:  # keep request order: store what came before this request
                    self._commit(sends, now, crash, out)
                    sends, crash = [], None
                try:
                    if kind == "sync":
                        self._sync(session, frame, out)
                    elif kind == "history":
                        self._history(session, frame, out)
                    elif kind == "read":
                        self._read(session, frame, out)
                    elif kind == "auth":
                        self._auth(session, now, out)
                except Exception as exc:  # this request alone fails; the batch goes on
                    self.failed += 1
                    log.exception("logic failed on a %s request of %s", kind, session)
                    code = P.UNAVAILABLE if isinstance(exc, sqlite3.OperationalError) else P.INTERNAL_ERROR
                    ref = {"conv": frame["conv"]} if "conv" in frame else {}
                    out.append(("send", session.conn, P.error(code, f"the server could not answer this {kind}", **ref)))
            if sends:
                self._commit(sends, now, crash, out)
        except _LogicDied:
            self.crashes += 1
            return []
        return out

    def _auth(self, session, now, out) -> None:
        self.store.touch_device(session.user, session.device, now)
        out.append(("send", session.conn, {
            "type": "auth_ok", "user": session.user, "device": session.device,
            "convs": self.store.summary(session.user)}))
        # Routed only from now on: no msg can overtake the auth_ok, and what was stored
        # before it is counted in its last_seq.
        if not getattr(session, "closed", False):
            self.registry.add(session.user, session.device, session.conn)

    def _not_member(self, session, out, **where) -> None:
        self.rejected += 1
        out.append(("send", session.conn, P.error(P.NOT_MEMBER, "you are not a member of this conversation", **where)))

    # -- send -----------------------------------------------------------------------------
    def _commit(self, sends, now, crash, out) -> None:
        items = [(f["conv"], s.user, f["cid"], f["body"], now) for s, f in sends]
        if crash == "logic_before_commit":
            raise _LogicDied
        try:
            results = self._append(items, crash[6:] if crash and crash.startswith("store_") else None)
        except StoreCrash:
            self.crashes += 1
            for s, f in sends:
                out.append(("send", s.conn, P.error(P.UNAVAILABLE, "storage failed; retry", cid=f["cid"])))
            return
        if crash == "logic_after_commit":
            raise _LogicDied
        routes = self.registry.routes.get
        members_of = self.store.members
        devices_of = self.store.devices
        acks, push = self.acks, self.push
        append = out.append
        n_dup = n_fan = n_refused = 0
        # Who gets a conversation's messages is the same for the whole batch: work it out
        # once per (conversation, sender): online connections, and offline devices to push.
        targets: dict[tuple, tuple] = {}
        for (s, f), (seq, ts, dup) in zip(sends, results):
            conv, cid, sender = f["conv"], f["cid"], s.user
            if seq is None:  # refused: nothing stored, so nothing acked and nothing fanned out
                self._refused(s, f, dup, out)
                n_refused += 1
                continue
            me = s.conn if acks else None  # without acks the sender learns the seq from its own copy
            key = (conv, sender, me)
            t = targets.get(key)
            if t is None:
                conns, offline = [], []
                for member in sorted(members_of(conv)):
                    online = routes(member)
                    if online:
                        conns.extend(c for c in online.values() if c != me)
                    if push and member != sender:
                        known = devices_of(member)
                        if not online or len(known) > len(online):
                            offline.extend((member, d) for d in known if not online or d not in online)
                t = targets[key] = (conns, offline)
            if acks:
                append(("send", s.conn, {"type": "ack", "cid": cid, "conv": conv, "seq": seq, "ts": ts}))
            msg = {"type": "msg", "conv": conv, "seq": seq, "sender": sender, "cid": cid, "body": f["body"], "ts": ts}
            if self.published is not None:
                self.published.append(msg)
            for conn in t[0]:
                append(("send", conn, msg))
            n_fan += len(t[0])
            if dup:
                n_dup += 1
            elif t[1]:
                payload = {"conv": conv, "seq": seq, "sender": sender, "preview": f["body"][: self.preview_chars]}
                for member, device in t[1]:
                    append(("push", member, device, payload))
                self.pushes += len(t[1])
        self.stored += len(sends) - n_dup - n_refused
        self.duplicates += n_dup
        self.fanout_frames += n_fan

    def _append(self, items, crash=None) -> list[tuple]:
        """``store.append_many``, isolating a failing item (see the module docstring)."""
        try:
            return self.store.append_many(items, crash=crash)
        except StoreCrash:
            raise
        except sqlite3.OperationalError:  # the database, not a message: everyone retries
            self.failed += len(items)
            log.exception("the store failed on a batch of %d messages", len(items))
            return [_UNAVAILABLE] * len(items)
        except Exception:
            if len(items) == 1:
                self.failed += 1
                log.exception("the store cannot store a message from %s (cid %r)", items[0][1], items[0][2])
                return [_FAILED]
            mid = len(items) // 2
            return self._append(items[:mid]) + self._append(items[mid:])

    def _refused(self, s, f, why, out) -> None:
        ref = {"cid": f["cid"], "conv": f["conv"]}
        if why == CONFLICT:
            self.conflicts += 1
            err = P.error(P.CONFLICT, "this cid was already used for another conversation or body; "
                                      "a resend must be identical", **ref)
        elif why == P.UNAVAILABLE:
            err = P.error(P.UNAVAILABLE, "storage failed; retry", **ref)
        else:
            err = P.error(P.INTERNAL_ERROR, "the server cannot store this message; do not retry", **ref)
        out.append(("send", s.conn, err))

    # -- sync and read ------------------------------------------------------------------
    def _sync(self, session, frame, out) -> None:
        limit = frame.get("limit", P.DEFAULT_SYNC_LIMIT)
        if "conv" in frame:
            wanted = {frame["conv"]: frame.get("since", 0)}
            if session.user not in self.store.members(frame["conv"]):
                self._not_member(session, out, conv=frame["conv"])
                return
        else:
            since = frame.get("since", {})
            wanted = {conv: since.get(conv, 0) for conv in self.store.conversations_of(session.user)}
        every = "conv" not in frame
        budget = _SYNC_ALL_BYTES if every else _PAGE_BYTES
        for conv, since in wanted.items():
            last = self.store.last_seq(conv)
            if every and last <= since:
                continue  # a sync of everything answers only for conversations with news
            if budget <= 0:  # no room left in this answer: the client asks for this one alone
                msgs, more = [], True
            else:
                rows = self.store.messages_since(conv, since, limit + 1)
                msgs, used, cut = _page(rows[:limit], budget)
                more = cut or len(rows) > limit
                budget -= used
            out.append(("send", session.conn, {"type": "sync_ok", "conv": conv, "since": since, "messages": msgs,
                                               "last_seq": last, "more": more}))

    def _history(self, session, frame, out) -> None:
        conv, limit = frame["conv"], frame.get("limit", P.DEFAULT_SYNC_LIMIT)
        if session.user not in self.store.members(conv):
            self._not_member(session, out, conv=conv)
            return
        before = frame.get("before", self.store.last_seq(conv) + 1)
        rows = self.store.messages_before(conv, before, limit)
        msgs, _, _ = _page(reversed(rows), _PAGE_BYTES)  # keep the newest when the page is cut
        msgs.reverse()
        out.append(("send", session.conn, {"type": "history_ok", "conv": conv, "before": before, "messages": msgs,
                                           "more": bool(msgs) and msgs[0]["seq"] > 1}))

    def _read(self, session, frame, out) -> None:
        conv, user = frame["conv"], session.user
        if user not in self.store.members(conv):
            self._not_member(session, out, conv=conv)
            return
        seq = self.store.set_read(user, conv, frame["seq"])
        if seq is None:
            return
        note = {"type": "read", "conv": conv, "user": user, "seq": seq}
        if self.published is not None:  # a cluster: the other gateways tell their devices too
            self.published.append(note)
        for member in sorted(self.store.members(conv)):
            for conn in self.registry.get(member).values():
                if conn != session.conn:
                    out.append(("send", conn, note))


def _page(rows, budget: int) -> tuple[list, int, bool]:
    """Messages from ``rows`` while their JSON fits in ``budget`` bytes (at least one):
    ``(messages, bytes used, cut short)``."""
    msgs, used = [], 0
    for q, u, c, b, t in rows:
        m = {"seq": q, "sender": u, "cid": c, "body": b, "ts": t}
        n = P.frame_bytes(m) + 1
        if msgs and used + n > budget:
            return msgs, used, True
        msgs.append(m)
        used += n
    return msgs, used, False


class _LogicDied(Exception):
    """The logic process died mid-batch: every output of the batch is lost."""
