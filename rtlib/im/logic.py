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
receivers' dedupe turns that into exactly once for the application.

``sync`` returns stored messages after a seq (the pull path); ``read`` moves the
user's read watermark and tells their other devices and the other members.

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

from rtlib.im import protocol as P
from rtlib.im.store import Store, StoreCrash

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
                if kind == "sync":
                    self._sync(session, frame, out)
                elif kind == "read":
                    self._read(session, frame, out)
                elif kind == "auth":
                    self.store.touch_device(session.user, session.device, now)
                    out.append(("send", session.conn, {
                        "type": "auth_ok", "user": session.user, "device": session.device,
                        "convs": self.store.summary(session.user)}))
            if sends:
                self._commit(sends, now, crash, out)
        except _LogicDied:
            self.crashes += 1
            return []
        return out

    def _not_member(self, session, out, **where) -> None:
        self.rejected += 1
        out.append(("send", session.conn, P.error(P.NOT_MEMBER, "you are not a member of this conversation", **where)))

    # -- send -----------------------------------------------------------------------------
    def _commit(self, sends, now, crash, out) -> None:
        items = [(f["conv"], s.user, f["cid"], f["body"], now) for s, f in sends]
        if crash == "logic_before_commit":
            raise _LogicDied
        try:
            results = self.store.append_many(items, crash=crash[6:] if crash and crash.startswith("store_") else None)
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
        n_dup = n_fan = 0
        # Who gets a conversation's messages is the same for the whole batch: work it out
        # once per (conversation, sender): online connections, and offline devices to push.
        targets: dict[tuple, tuple] = {}
        for (s, f), (seq, ts, dup) in zip(sends, results):
            conv, cid, sender = f["conv"], f["cid"], s.user
            me = s.conn if acks else None  # without acks the sender learns the seq from its own copy
            key = (conv, sender, me)
            t = targets.get(key)
            if t is None:
                conns, offline = [], []
                for member in members_of(conv):
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
        self.stored += len(sends) - n_dup
        self.duplicates += n_dup
        self.fanout_frames += n_fan

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
        for conv, since in wanted.items():
            if every and self.store.last_seq(conv) <= since:
                continue  # a sync of everything answers only for conversations with news
            rows = self.store.messages_since(conv, since, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            out.append(("send", session.conn, {
                "type": "sync_ok", "conv": conv, "since": since,
                "messages": [{"seq": q, "sender": u, "cid": c, "body": b, "ts": t} for q, u, c, b, t in rows],
                "last_seq": self.store.last_seq(conv), "more": more}))

    def _read(self, session, frame, out) -> None:
        conv, user = frame["conv"], session.user
        if user not in self.store.members(conv):
            self._not_member(session, out, conv=conv)
            return
        seq = self.store.set_read(user, conv, frame["seq"])
        if seq is None:
            return
        note = {"type": "read", "conv": conv, "user": user, "seq": seq}
        for member in self.store.members(conv):
            for conn in self.registry.get(member).values():
                if conn != session.conn:
                    out.append(("send", conn, note))


class _LogicDied(Exception):
    """The logic process died mid-batch: every output of the batch is lost."""
