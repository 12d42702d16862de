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
``unavailable`` so the clients retry; nothing is acked that is not committed.  After
``kill -9``, restarting on the same database file recovers every committed message
(SQLite replays its write-ahead log).

Used in: notebooks/02_im_store_forward.ipynb (started as a subprocess, killed and
restarted), benchmarks/bench_im.py.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

from rtlib.im import protocol as P
from rtlib.im.gateway import Gateway
from rtlib.im.logic import Logic
from rtlib.im.store import Store

log = logging.getLogger("rtlib.im.server")


class IMServer:
    """One IM server process: ``await server.start()``, then ``await server.wait_closed()``."""

    def __init__(self, db: str | Path, host: str = "127.0.0.1", port: int = 8765, *, synchronous: str = "FULL",
                 idle_timeout_s: float = 75.0, auth_timeout_s: float = 10.0):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer in [0, 65535], got {port!r}")
        if str(db) == ":memory:":
            raise ValueError("db must be a file: an in-memory store would lose every message on restart")
        self.db_path = str(db)
        self.host, self.port = host, port
        self.store = Store(self.db_path, synchronous=synchronous)
        self.gateway = Gateway(self.store.check_token, idle_timeout_s=idle_timeout_s, auth_timeout_s=auth_timeout_s)
        self.logic = Logic(self.store, self.gateway.registry)
        self._conns: dict[int, _Conn] = {}
        self._queue: list = []
        self._wake: asyncio.Event | None = None
        self._server = None
        self._tasks: list[asyncio.Task] = []
        self.batches = 0
        self.internal_errors = 0

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
        return self.host, self.port

    async def wait_closed(self) -> None:
        await self._server.wait_closed()

    async def stop(self) -> None:
        """Close every connection, finish the logic queue, close the database."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._queue:
            self._run_logic()
        self.store.close()

    # -- connections ----------------------------------------------------------------------
    async def _handler(self, ws) -> None:
        now = time.time()
        conn = self.gateway.open(now)
        c = _Conn(ws)
        self._conns[conn] = c
        try:
            async for raw in ws:
                try:
                    outs = self.gateway.on_frame(conn, raw, time.time())
                except Exception:  # a bug must not take the server down
                    self.internal_errors += 1
                    log.exception("gateway failed on a frame from connection %s", conn)
                    outs = [("send", conn, P.error(P.UNAVAILABLE, "internal error; retry"))]
                self._dispatch(outs)
        except Exception as exc:  # the connection broke (reset, protocol error)
            log.debug("connection %s ended: %r", conn, exc)
        finally:
            self._conns.pop(conn, None)
            self.gateway.closed(conn, time.time())

    def _dispatch(self, outs) -> None:
        encoded: dict[int, str] = {}  # a frame fanned out to many is encoded once
        for out in outs:
            kind = out[0]
            if kind == "send":
                c = self._conns.get(out[1])
                if c is None:
                    continue  # that connection is gone; the client will sync later
                frame = out[2]
                text = encoded.get(id(frame))
                if text is None:
                    text = encoded[id(frame)] = P.encode(frame)
                c.write(text)
            elif kind == "logic":
                self._queue.append((out[1], out[2]))
                self._wake.set()
            elif kind == "close":
                c = self._conns.get(out[1])
                if c is not None:
                    c.close(1008 if "auth" in out[2] else 1000, out[2])
            elif kind == "push":
                pass  # no push service live: the device syncs when it next connects

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
        try:
            outs = self.logic.on_requests(batch, time.time())
        except Exception:  # e.g. sqlite3.OperationalError: the transaction rolled back
            self.internal_errors += 1
            log.exception("logic failed on a batch of %d requests", len(batch))
            outs = [("send", s.conn, P.error(P.UNAVAILABLE, "server error; retry", **(
                {"cid": f["cid"]} if f.get("type") == "send" else {}))) for s, f in batch]
        self._dispatch(outs)

    async def _sweeper(self) -> None:
        while True:
            await asyncio.sleep(self.gateway.sweep_s)
            outs = self.gateway.on_timer(time.time())
            if outs:
                self._dispatch(outs)


class _Conn:
    """Ordered writes on one WebSocket without making the caller wait."""

    __slots__ = ("ws", "queue", "writer")

    def __init__(self, ws):
        self.ws = ws
        self.queue: list[str] = []
        self.writer: asyncio.Task | None = None

    def write(self, text: str) -> None:
        self.queue.append(text)
        if self.writer is None:
            self.writer = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                for text in batch:
                    await self.ws.send(text)
        except Exception:  # closed under us: the client will sync on reconnection
            self.queue.clear()
        finally:
            self.writer = None

    def close(self, code: int, reason: str) -> None:
        async def closing():
            if self.writer is not None:  # let the error frame go out first
                try:
                    await asyncio.wait_for(asyncio.shield(self.writer), 1.0)
                except Exception:
                    pass
            await self.ws.close(code, reason[:120])

        asyncio.get_running_loop().create_task(closing())

