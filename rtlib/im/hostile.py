"""Hostile clients against the real gateway, logic and store, on a virtual clock.

Two experiments for notebook 03 (issue 12), each with the defence on or off:

- :func:`flood`: mallory sends as fast as she can into a group while alice chats at a
  human pace.  The defence is the gateway's per-user token bucket
  (:class:`~rtlib.im.limits.RateLimiter`): past its burst, mallory's sends are refused
  with ``rate_limited`` and ``retry_after_ms`` before they reach the database, so what
  she can store is bounded by ``burst + rate × t``, and alice's messages never wait
  behind hers.
- :func:`slow_reader`: a member of a busy group never reads.  Without a bound, the
  frames waiting for her connection grow as long as the group talks (the server's
  memory with them); with the :class:`~rtlib.im.limits.OutQueue` bound the connection
  is closed (4003) once it holds ``max_bytes``, and she catches up with ``sync``.

Both run the same sans-IO objects as the live server (no sockets): every number is
counted, not modelled.

Used in: notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import numpy as np

from rtlib.im import protocol as P
from rtlib.im.gateway import Gateway
from rtlib.im.limits import OutQueue
from rtlib.im.logic import Logic
from rtlib.im.store import Store


def _world(send_limit):
    store = Store()
    for u in ("alice", "bob", "mallory", "reader"):
        store.create_user(u)
        store.new_token(u, token=f"tok-{u}")
    store.create_conversation("group", ["alice", "bob", "mallory", "reader"])
    gw = Gateway(store.check_token, send_limit=send_limit, auth_limit=None)
    logic = Logic(store, gw.registry)
    conns = {}
    for u in ("alice", "bob", "mallory", "reader"):
        c = gw.open(0.0)
        outs = gw.on_frame(c, {"type": "auth", "user": u, "token": f"tok-{u}", "device": "phone"}, 0.0)
        logic.on_requests([(o[1], o[2]) for o in outs if o[0] == "logic"], 0.0)
        conns[u] = c
    return store, gw, logic, conns


def flood(seconds: float = 5.0, flood_per_s: float = 1000.0, honest_per_s: float = 2.0, *,
          defence: bool = True, step_s: float = 0.01) -> dict:
    """mallory offers ``flood_per_s`` sends/s, alice ``honest_per_s``, for ``seconds``.

    Returns the time axis and, per user, cumulative counts of sends offered, stored and
    refused, alice's worst wait from send to ack (in virtual steps of ``step_s``: the
    logic handles each step's batch in order), and the limiter's rate and burst."""
    for name, v, lo, hi in (("seconds", seconds, 0.1, 60), ("flood_per_s", flood_per_s, 1, 10_000),
                            ("honest_per_s", honest_per_s, 0.1, 100), ("step_s", step_s, 0.001, 0.5)):
        if not lo <= v <= hi:
            raise ValueError(f"{name} must be in [{lo}, {hi}], got {v!r}")
    limit = (P.SEND_RATE_PER_S, P.SEND_BURST) if defence else None
    store, gw, logic, conns = _world(limit)
    steps = int(round(seconds / step_s))
    t = np.arange(1, steps + 1) * step_s
    counts = {u: {"offered": np.zeros(steps, int), "stored": np.zeros(steps, int), "refused": np.zeros(steps, int)}
              for u in ("alice", "mallory")}
    owed = {"alice": 0.0, "mallory": 0.0}
    rate = {"alice": honest_per_s, "mallory": flood_per_s}
    n = {"alice": 0, "mallory": 0}
    retry_after_ms = []
    for k in range(steps):
        now = t[k]
        reqs = []
        for u in ("mallory", "alice"):  # mallory's frames arrive first in every step
            owed[u] += rate[u] * step_s
            while owed[u] >= 1:
                owed[u] -= 1
                n[u] += 1
                counts[u]["offered"][k] += 1
                frame = {"type": "send", "conv": "group", "cid": f"{u}-{n[u]}", "body": f"{u} #{n[u]}"}
                for o in gw.on_frame(conns[u], frame, now):
                    if o[0] == "logic":
                        reqs.append((o[1], o[2]))
                    elif o[2].get("code") == P.RATE_LIMITED:
                        counts[u]["refused"][k] += 1
                        retry_after_ms.append(o[2]["retry_after_ms"])
        for o in logic.on_requests(reqs, now):
            if o[0] == "send" and o[2]["type"] == "ack":
                counts["mallory" if o[1] == conns["mallory"] else "alice"]["stored"][k] += 1
    out = {"t": t, "seconds": seconds, "defence": defence, "rate": P.SEND_RATE_PER_S, "burst": P.SEND_BURST,
           "stored_total": store.count_messages(), "retry_after_ms": retry_after_ms}
    for u, c in counts.items():
        for key, arr in c.items():
            out[f"{u}_{key}"] = np.cumsum(arr)
    return out


def slow_reader(seconds: float = 30.0, group_msgs_per_s: float = 200.0, body_bytes: int = 200, *,
                max_bytes: int | None = P.MAX_OUT_QUEUE_BYTES, step_s: float = 0.1) -> dict:
    """The frames queued for a member who never reads, while the group talks.

    Each message the group stores is fanned out to the reader's connection as one
    ``msg`` frame (encoded as the live server encodes it) and pushed onto an
    :class:`~rtlib.im.limits.OutQueue`; with ``max_bytes=None`` the queue is unbounded
    (the server before issue 12).  Returns the queued bytes over time, when the
    connection was closed, and how many messages the reader then pulls with ``sync``."""
    if not 1 <= seconds <= 600:
        raise ValueError(f"seconds must be in [1, 600], got {seconds!r}")
    if not 1 <= group_msgs_per_s <= 5000:
        raise ValueError(f"group_msgs_per_s must be in [1, 5000], got {group_msgs_per_s!r}")
    if not 1 <= body_bytes <= P.MAX_BODY_BYTES:
        raise ValueError(f"body_bytes must be in [1, {P.MAX_BODY_BYTES}], got {body_bytes!r}")
    store, gw, logic, conns = _world(None)
    reader = conns["reader"]
    q = OutQueue(P.MAX_OUT_QUEUE_FRAMES if max_bytes else 10**12, max_bytes or 10**15)
    steps = int(round(seconds / step_s))
    t = np.arange(1, steps + 1) * step_s
    queued = np.zeros(steps)
    owed, n, closed_at = 0.0, 0, None
    body = "x" * body_bytes
    for k in range(steps):
        owed += group_msgs_per_s * step_s
        reqs = []
        while owed >= 1:
            owed -= 1
            n += 1
            for o in gw.on_frame(conns["bob"], {"type": "send", "conv": "group", "cid": f"b-{n}", "body": body}, t[k]):
                if o[0] == "logic":
                    reqs.append((o[1], o[2]))
        for o in logic.on_requests(reqs, t[k]):
            if o[0] == "send" and o[1] == reader and closed_at is None:
                if not q.push(P.encode(o[2])):
                    closed_at = t[k]  # the server closes the connection (4003) and forgets the queue
                    gw.closed(reader, t[k])
        queued[k] = q.bytes
    # The reader reconnects and pulls everything it missed, page by page.
    pulled, since = 0, 0
    again = gw.open(t[-1])
    outs = gw.on_frame(again, {"type": "auth", "user": "reader", "token": "tok-reader", "device": "phone"}, t[-1])
    logic.on_requests([(o[1], o[2]) for o in outs if o[0] == "logic"], t[-1])
    pages = 0
    while True:
        outs = gw.on_frame(again, {"type": "sync", "conv": "group", "since": since, "limit": P.MAX_SYNC_LIMIT}, t[-1])
        (page,) = [o[2] for o in logic.on_requests([(o[1], o[2]) for o in outs if o[0] == "logic"], t[-1])]
        pages += 1
        pulled += len(page["messages"])
        if not page["more"]:
            break
        since = page["messages"][-1]["seq"]
    return {"t": t, "queued_bytes": queued, "closed_at": closed_at, "stored": store.count_messages(),
            "pulled": pulled, "pages": pages, "max_bytes": max_bytes, "seconds": seconds}
