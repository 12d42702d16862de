"""The live IM server: the sans-IO gateway and logic on asyncio, WebSockets and SQLite.

``python -m rtlib im-server --db chat.sqlite --host 127.0.0.1 --port 8765`` runs
:class:`IMServer`.  Everything that decides anything is the same code the simulator
runs (:class:`~rtlib.im.gateway.Gateway`, :class:`~rtlib.im.logic.Logic`,
:class:`~rtlib.im.store.Store`); this module only moves bytes:

- each WebSocket connection (the ``websockets`` package, RFC 6455) is one gateway
  connection; every text message is one frame, handed to ``Gateway.on_frame``;
- requests for the logic are queued, and a single worker hands all that queued up
  to ``Logic.on_requests`` at once: sends that arrive together share one SQLite
  transaction (*group commit*), and their acks go out only after it committed;
- outputs are written to their connections; a connection's writes keep their order.

Robustness: a bad frame gets an ``error`` frame from the gateway; an unexpected
exception while handling one connection is logged and answered with an error, and
never stops the server; a failing transaction (disk full...) rolls back and answers
``unavailable`` so the clients retry, while a message that cannot be stored at all is
isolated and refused alone (see :mod:`rtlib.im.logic`); nothing is acked that is not
committed.  After ``kill -9``, restarting on the same database file recovers every
committed message (SQLite replays its write-ahead log).

Fairness (issue 12: one client must not hurt the others):

- each connection's outgoing frames wait in a bounded :class:`~rtlib.im.limits.OutQueue`
  (``MAX_OUT_QUEUE_FRAMES`` frames, ``MAX_OUT_QUEUE_BYTES`` bytes); a client that does
  not read is closed with ``CLOSE_SLOW_READER`` (4003) instead of growing the
  server's memory, and recovers everything with ``sync`` after reconnecting;
- a connection's pulls (``sync``, ``history``) are answered one at a time, and only
  once its earlier answers have left (the queue holds under ``PULL_RESUME_BYTES``): a
  client that asks for more than it reads is slowed down, not disconnected;
- each connection's frames are read at most ``FRAME_RATE_PER_S`` per second (beyond
  it the server stops reading and TCP pushes back), and the reader yields to the
  others every few frames, so one flooding connection cannot starve the rest;
- sends and auth attempts are rate-limited per user by the gateway.

Cluster: with ``db`` a ``postgresql://`` URL the store is PostgreSQL
(:mod:`rtlib.im.pgstore`), shared by several server processes; with ``bus`` a
``redis://`` URL those processes form one service (:mod:`rtlib.im.cluster`): presence in
Redis, committed messages copied over Redis pub/sub to the gateways where the other
members are connected.  The frames and their meaning do not change.

Used in: notebooks/02_im_store_forward.ipynb (started as a subprocess, killed and
restarted), notebooks/03_im_scale.ipynb (a cluster), benchmarks/bench_im.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from rtlib.im import protocol as P
from rtlib.im.gateway import Gateway
from rtlib.im.limits import OutQueue, RateLimiter
from rtlib.im.logic import Logic
from rtlib.im.pgstore import is_postgres_url, open_store

log = logging.getLogger("rtlib.im.server")

_PULLS = ("sync", "history")
PULL_RESUME_BYTES = 256 * 1024  # a pull is handed to the logic once the queue holds less than this
CLOSE_WAIT_S = 5.0  # how long a close frame may wait for a client that does not read
_YIELD_EVERY = 16  # frames read from one connection before letting the others run


class IMServer:
    """One IM server process: ``await server.start()``, then ``await server.wait_closed()``."""

    def __init__(self, db: str | Path, host: str = "127.0.0.1", port: int = 8765, *, synchronous: str = "FULL",
                 idle_timeout_s: float = P.IDLE_TIMEOUT_S, auth_timeout_s: float = P.AUTH_TIMEOUT_S,
                 send_limit=(P.SEND_RATE_PER_S, P.SEND_BURST), auth_limit=(P.AUTH_RATE_PER_S, P.AUTH_BURST),
                 frame_limit=(P.FRAME_RATE_PER_S, P.FRAME_BURST),
                 max_out_frames: int = P.MAX_OUT_QUEUE_FRAMES, max_out_bytes: int = P.MAX_OUT_QUEUE_BYTES,
                 bus: str | None = None):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")
        if str(db) == ":memory:":
            raise ValueError("db must be a file: an in-memory store would lose every message on restart")
        OutQueue(max_out_frames, max_out_bytes)  # checks both bounds
        self.db_path = str(db)
        self.host, self.port = host, port
        if bus is not None and not is_postgres_url(self.db_path):
            raise ValueError("bus needs a shared store: db must be a postgresql:// URL when bus is given")
        self.store = open_store(self.db_path, synchronous=synchronous)
        self.bus = None
        registry = None
        if bus is not None:
            from rtlib.im.cluster import BusLink, new_gateway_id

            self.bus = BusLink(bus, new_gateway_id(port), self._deliver_remote, self._catch_up)
            self.bus.members = self.store.members
            self.bus.replace = self._replaced_elsewhere
            registry = self.bus.registry
        self.gateway = Gateway(self.store.check_token, registry=registry, idle_timeout_s=idle_timeout_s,
                               auth_timeout_s=auth_timeout_s, send_limit=send_limit, auth_limit=auth_limit,
                               revalidate=self.store.check_token, tokens_version=self.store.tokens_version)
        self.logic = Logic(self.store, self.gateway.registry)
        self._delivered: dict[str, int] = {}  # conv -> highest seq fanned out here (cluster catch-up)
        if self.bus is not None:
            self.logic.published = []
        self.frame_limit = None if frame_limit is None else RateLimiter(*frame_limit)
        self.max_out_frames, self.max_out_bytes = max_out_frames, max_out_bytes
        self._conns: dict[int, _Conn] = {}
        self._queue: list = []
        self._wake: asyncio.Event | None = None
        self._server = None
        self._tasks: list[asyncio.Task] = []
        self._next_directory_check = 0.0
        self.batches = 0
        self.internal_errors = 0
        self.slow_readers_closed = 0
        self.peak_out_bytes = 0

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> tuple[str, int]:
        """Listen; returns ``(host, port)`` (the real port when ``port=0``)."""
        from websockets.asyncio.server import serve

        self._wake = asyncio.Event()
        self._server = await serve(self._handler, self.host, self.port, max_size=P.WS_MAX_BYTES,
                                   compression=None, ping_interval=20, ping_timeout=20)
        sock = next(iter(self._server.sockets))
        self.port = sock.getsockname()[1]
        self._tasks = [asyncio.create_task(self._logic_worker()), asyncio.create_task(self._sweeper())]
        if self.bus is not None:
            await self.bus.start()
        return self.host, self.port

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    async def stop(self) -> None:
        """Close every connection, finish the logic queue, close the database."""
        if self._server is not None:
            self._server.close()  # closes every connection with 1001 (going away)...
            try:
                await asyncio.wait_for(self._server.wait_closed(), CLOSE_WAIT_S)
            except asyncio.TimeoutError:  # ...but a client that does not read never answers
                for c in list(self._conns.values()):
                    c.ws.transport.abort()
                await self._server.wait_closed()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._queue:
            self._run_logic()
        if self.bus is not None:
            await self.bus.stop()
        self.store.close()

    # -- connections ----------------------------------------------------------------------
    async def _handler(self, ws) -> None:
        now = time.time()
        conn = self.gateway.open(now)
        c = _Conn(ws, conn, self)
        self._conns[conn] = c
        limit = self.frame_limit
        loop = asyncio.get_running_loop()
        n = 0
        try:
            async for raw in ws:
                now = time.time()
                try:
                    outs = self.gateway.on_frame(conn, raw, now)
                except Exception:  # a bug must not take the server down (nor make the client retry forever)
                    self.internal_errors += 1
                    log.exception("gateway failed on a frame from connection %s", conn)
                    outs = [("send", conn, P.error(P.INTERNAL_ERROR, "internal error on this frame; do not retry"))]
                pull = None
                for o in outs:
                    if o[0] == "logic" and o[2]["type"] in _PULLS:
                        pull = o
                if pull is not None:
                    # Answer pulls one at a time, once the answers before them have left.
                    while c.out.bytes > PULL_RESUME_BYTES and not c.closed:
                        c.drained.clear()
                        await c.drained.wait()
                    c.pull = loop.create_future()
                self._dispatch(outs)
                if pull is not None:
                    try:
                        await asyncio.wait_for(c.pull, 30.0)
                    except asyncio.TimeoutError:
                        pass
                    c.pull = None
                n += 1
                wait = limit.take(conn, now) if limit is not None else 0.0
                if wait:
                    await asyncio.sleep(wait)
                elif n % _YIELD_EVERY == 0:
                    await asyncio.sleep(0)
        except Exception as exc:  # the connection broke (reset, protocol error)
            log.debug("connection %s ended: %r", conn, exc)
        finally:
            self._conns.pop(conn, None)
            c.closed = True
            if limit is not None:
                limit.forget(conn)
            self.gateway.closed(conn, time.time())

    def _dispatch(self, outs) -> None:
        encoded: dict[int, str] = {}  # a frame fanned out to many is encoded once
        for out in outs:
            kind = out[0]
            if kind == "send":
                c = self._conns.get(out[1])
                if c is None or c.closed:
                    continue  # that connection is gone; the client will sync later
                frame = out[2]
                text = encoded.get(id(frame))
                if text is None:
                    try:
                        text = encoded[id(frame)] = P.encode(frame)
                    except (ValueError, TypeError):  # one unencodable frame must not stop the others
                        self.internal_errors += 1
                        log.exception("cannot encode a %s frame", frame.get("type"))
                        continue
                c.write(text)
            elif kind == "logic":
                self._queue.append((out[1], out[2]))
                self._wake.set()
            elif kind == "close":
                c = self._conns.get(out[1])
                if c is not None:
                    c.close(out[2], out[3])
            elif kind == "push":
                pass  # no push service live: the device syncs when it next connects

    def _slow_reader(self, c: "_Conn") -> None:
        self.slow_readers_closed += 1
        log.info("connection %s: outgoing queue over %d frames or %d bytes: closing (slow reader)",
                 c.conn, self.max_out_frames, self.max_out_bytes)
        self.gateway.closed(c.conn, time.time())  # no more fan-out to it
        c.close(P.CLOSE_SLOW_READER, "slow reader: outgoing queue full; reconnect and sync", drop=True)

    # -- the logic worker and the idle sweeper --------------------------------------------
    async def _logic_worker(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Let the connections read what already arrived, so one commit covers more.
            await asyncio.sleep(0)
            if self._queue:
                self._run_logic()

    def _run_logic(self) -> None:
        batch, self._queue = self._queue, []
        self.batches += 1
        now = time.time()
        try:
            outs = self.logic.on_requests(batch, now)
        except Exception:  # a bug in the logic: run each request alone, so that only the culprit fails
            self.internal_errors += 1
            log.exception("logic failed on a batch of %d requests; retrying them one by one", len(batch))
            outs = []
            for s, f in batch:
                try:  # a send stored before the failure is a duplicate now: acked with its seq
                    outs += self.logic.on_requests([(s, f)], now)
                except Exception:
                    log.exception("logic failed on a %s request alone", f.get("type"))
                    ref = {k: f[k] for k in ("cid", "conv") if k in f}
                    outs.append(("send", s.conn, P.error(P.INTERNAL_ERROR, "internal error on this request; "
                                                                           "do not retry", **ref)))
        self._dispatch(outs)
        if self.bus is not None:
            self._after_batch(outs)
        for s, f in batch:
            if f["type"] in _PULLS:
                c = self._conns.get(s.conn)
                if c is not None and c.pull is not None and not c.pull.done():
                    c.pull.set_result(None)

    # -- the cluster: copies to and from the other gateways -----------------------------------
    def _after_batch(self, outs) -> None:
        msgs, self.logic.published = self.logic.published, []
        seen = self._delivered
        for m in msgs:
            if m["type"] == "msg" and m["seq"] > seen.get(m["conv"], 0):
                seen[m["conv"]] = m["seq"]
        for o in outs:  # a device that just authenticated has everything up to its last_seq
            if o[0] == "send" and o[2].get("type") == "auth_ok":
                for conv, info in o[2]["convs"].items():
                    if info["last_seq"] > seen.get(conv, 0):
                        seen[conv] = info["last_seq"]
        self.bus.publish(msgs)

    def _deliver_remote(self, msgs) -> None:
        """``msg`` frames another gateway committed (and ``read`` notes): to this gateway's connections."""
        outs = []
        members, get, seen = self.store.members, self.gateway.registry.get, self._delivered
        for m in msgs:  # msg frames, and read notes
            conv = m["conv"]
            if m["type"] == "msg" and m["seq"] > seen.get(conv, 0):
                seen[conv] = m["seq"]
            for u in members(conv):
                for conn in get(u).values():
                    outs.append(("send", conn, m))
        self._dispatch(outs)

    def _replaced_elsewhere(self, conn: int) -> None:
        """The device of ``conn`` authenticated on another gateway: close this one (4000)."""
        self.gateway.closed(conn, time.time())
        self._dispatch([("close", conn, P.CLOSE_REPLACED, "replaced by a newer connection of the same device")])

    def _catch_up(self) -> None:
        """After a cut from Redis: re-read from the store what this gateway's connections
        may have missed (they drop what they already have)."""
        local = set(self.gateway.registry.routes)
        for conv, seq in list(self._delivered.items()):
            if not local & self.store.members(conv):
                continue
            try:
                rows = self.store.messages_since(conv, seq, 1000)
            except Exception as exc:
                log.warning("catch-up of %s failed: %s", conv, exc)
                continue
            self._deliver_remote([{"type": "msg", "conv": conv, "seq": q, "sender": u, "cid": c, "body": b, "ts": t}
                                  for q, u, c, b, t in rows])

    async def _sweeper(self) -> None:
        while True:
            due = self.gateway.next_deadline()
            await asyncio.sleep(self.gateway.sweep_s if due is None else max(0.05, due - time.time() + 0.01))
            now = time.time()
            if now >= self._next_directory_check:  # users, conversations, members added meanwhile
                self._next_directory_check = now + self.gateway.sweep_s
                try:
                    if self.store.reload_directory():
                        log.info("directory reloaded: %d users, %d conversations",
                                 len(self.store.users()), len(self.store.conversations()))
                except Exception:
                    log.exception("cannot reload the directory")
            outs = self.gateway.on_timer(now)
            if outs:
                self._dispatch(outs)


class _Conn:
    """Ordered writes on one WebSocket without making the caller wait, through a bounded queue."""

    __slots__ = ("ws", "conn", "server", "out", "writer", "closed", "drained", "pull")

    def __init__(self, ws, conn: int, server: IMServer):
        self.ws = ws
        self.conn = conn
        self.server = server
        self.out = OutQueue(server.max_out_frames, server.max_out_bytes)
        self.writer: asyncio.Task | None = None
        self.closed = False
        self.drained = asyncio.Event()
        self.pull: asyncio.Future | None = None

    def write(self, text: str) -> None:
        if self.closed:
            return
        if not self.out.push(text):
            self.server._slow_reader(self)
            return
        if self.out.bytes > self.server.peak_out_bytes:
            self.server.peak_out_bytes = self.out.bytes
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        out = self.out
        try:
            while out:
                await self.ws.send(out.pop())
                if out.bytes <= PULL_RESUME_BYTES:
                    self.drained.set()
        except Exception:  # closed under us: the client will sync on reconnection
            out.items.clear()
            out.bytes = 0
        finally:
            self.writer = None
            self.drained.set()

    def close(self, code: int, reason: str, drop: bool = False) -> None:
        """Close with ``code``; ``drop`` discards what is queued (a slow reader)."""
        if self.closed:
            return
        self.closed = True
        self.drained.set()
        if self.pull is not None and not self.pull.done():
            self.pull.set_result(None)
        writer = self.writer
        if drop and writer is not None:
            writer.cancel()
            writer = None
        ws = self.ws

        async def closing():
            if writer is not None:  # let the frames before the close go out first (an error frame)
                try:
                    await asyncio.wait_for(asyncio.shield(writer), 1.0)
                except BaseException:
                    pass
            try:  # ws.close() waits for the transport to drain: not forever
                await asyncio.wait_for(ws.close(code, reason[:120]), CLOSE_WAIT_S)
            except BaseException:
                ws.transport.abort()

        asyncio.get_running_loop().create_task(closing())
