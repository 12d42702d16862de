"""Live helpers: an asyncio client over WebSockets, and the server as a child process.

:class:`IMClient` drives the sans-IO :class:`~rtlib.im.client.Client` (the same object
the simulator uses) over a real WebSocket: it reconnects by itself, resends what was
not acked, pulls what it missed, and hands the application each message once and in
order (``client.messages``).

:class:`ServerProcess` starts ``python -m rtlib im-server`` on a free loopback port,
and can ``kill()`` it with SIGKILL (``kill -9``: no clean-up at all) and ``start()`` it
again on the same port and database.

Used in: notebooks/02_im_store_forward.ipynb, tests/im/test_live.py, benchmarks/bench_im.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from rtlib.im import protocol as P
from rtlib.im.client import Client


class IMClient:
    """An IM client over a real WebSocket.

    >>> async def demo(url, token):                      # doctest: +SKIP
    ...     async with IMClient(url, "alice", token) as alice:
    ...         ack = await alice.send("general", "hello")
    ...         print(ack["seq"])

    ``messages`` holds every message released to the application (own ones too,
    marked ``"own": True``), in each conversation's order, each once.
    """

    def __init__(self, url, user: str, token: str, device: str = "py", *, reconnect: bool = True,
                 reconnect_s: float = 0.2, **client_kw):
        # One URL, or a cluster's gateways: after a connection ends, the next one is tried.
        self.urls = [url] if isinstance(url, str) else [str(u) for u in url]
        if not self.urls:
            raise ValueError("url must be a ws:// URL or a non-empty list of them")
        self._url_i = 0
        client_kw.setdefault("cid_prefix", f"{device}-{secrets.token_hex(4)}-")  # unique across restarts
        self.core = Client(user, token, device, **client_kw)
        self.reconnect = reconnect
        self.reconnect_s = reconnect_s
        self.messages: list[dict] = []
        self.events: list[tuple] = []
        self.errors: list[tuple] = []
        self.connections = 0
        self.close_codes: list = []  # the WebSocket close code of each connection that ended
        self._ws = None
        self._task: asyncio.Task | None = None
        self._timer_task: asyncio.Task | None = None
        self._changed: asyncio.Event | None = None
        self._open: asyncio.Event | None = None
        self._waiters: dict[str, asyncio.Future] = {}
        self._new_message: asyncio.Event | None = None
        self._closing = False
        self._fatal: str | None = None

    @property
    def user(self) -> str:
        return self.core.user

    @property
    def url(self) -> str:
        """The gateway this client connects (or last connected) to."""
        return self.urls[self._url_i]

    # -- lifecycle ----------------------------------------------------------------------
    async def connect(self, timeout_s: float = 10.0) -> "IMClient":
        """Connect and authenticate (raises ``ConnectionError`` on a refused token)."""
        self._changed = asyncio.Event()
        self._open = asyncio.Event()
        self._new_message = asyncio.Event()
        self._task = asyncio.create_task(self._run())
        self._timer_task = asyncio.create_task(self._timers())
        try:
            await asyncio.wait_for(self._wait_open(), timeout_s)
        except asyncio.TimeoutError:
            await self.close()
            raise ConnectionError(f"{self.user}: no auth_ok from {self.url} within {timeout_s} s") from None
        return self

    async def _wait_open(self):
        while not self._open.is_set():
            if self._fatal:
                raise ConnectionError(f"{self.user}: {self._fatal}")
            await asyncio.sleep(0.02)
        if self._fatal:
            raise ConnectionError(f"{self.user}: {self._fatal}")

    async def close(self) -> None:
        self._closing = True  # the loops check it: a cancellation alone can be swallowed by wait_for
        if self._changed is not None:
            self._changed.set()
        tasks = [t for t in (self._task, self._timer_task) if t is not None]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)
        if self._ws is not None:
            try:
                await self._ws.close()
            except Exception:
                pass
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()

    async def __aenter__(self):
        return await self.connect()

    async def __aexit__(self, *exc):
        await self.close()

    # -- application calls ----------------------------------------------------------------
    async def send(self, conv: str, body: str, *, wait: bool = True, timeout_s: float = 30.0):
        """Send ``body`` to ``conv``.  With ``wait``, return the ack
        ``{"cid", "conv", "seq"}`` once the server stored it (or raise on refusal)."""
        cid = self.core.send(conv, body, time.monotonic())
        fut = asyncio.get_running_loop().create_future() if wait else None
        if fut is not None:
            self._waiters[cid] = fut
        await self._flush()
        if fut is None:
            return {"cid": cid, "conv": conv}
        return await asyncio.wait_for(fut, timeout_s)

    async def read(self, conv: str, seq: int) -> None:
        self.core.read(conv, seq, time.monotonic())
        await self._flush()

    async def history(self, conv: str, before: int | None = None, limit: int = 50,
                      timeout_s: float = 10.0) -> tuple[list, bool]:
        """The ``limit`` messages before seq ``before`` (the latest if None), oldest first,
        and whether older ones exist."""
        n = sum(1 for e in self.events if e[0] == "history")
        self.core.history(conv, time.monotonic(), before, limit)
        await self._flush()
        await self.wait_for(lambda c: sum(1 for e in c.events if e[0] == "history") > n, timeout_s)
        ev = [e for e in self.events if e[0] == "history"][n]
        return ev[2], ev[3]

    async def sync(self, conv: str | None = None) -> None:
        self.core.sync(time.monotonic(), conv)
        await self._flush()

    async def wait_for(self, predicate, timeout_s: float = 10.0) -> None:
        """Wait until ``predicate(self)`` is true (checked after every incoming frame)."""
        deadline = time.monotonic() + timeout_s
        while not predicate(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError(f"{self.user}: condition not met within {timeout_s} s")
            self._new_message.clear()
            try:
                await asyncio.wait_for(self._new_message.wait(), min(left, 0.25))
            except asyncio.TimeoutError:
                pass

    def texts(self, conv: str | None = None) -> list[str]:
        return [m["body"] for m in self.messages if conv is None or m["conv"] == conv]

    # -- plumbing -------------------------------------------------------------------------
    async def _run(self) -> None:
        from websockets.asyncio.client import connect

        while not self._closing:
            try:
                async with connect(self.url, max_size=P.WS_MAX_BYTES, compression=None, open_timeout=5,
                                   ping_interval=20) as ws:
                    self._ws = ws
                    self.connections += 1
                    self.core.connect(time.monotonic())
                    await self._flush()
                    async for raw in ws:
                        frame = json.loads(raw)
                        self.core.on_frame(frame, time.monotonic())
                        await self._flush()
                        if frame.get("type") == "error" and frame.get("code") == P.AUTH_FAILED:
                            self._fatal = "authentication failed"
                            return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # refused, reset, closed: try again, unless told not to
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                self.close_codes.append(code)
                if code == P.CLOSE_AUTH:
                    self._fatal = "authentication failed or token revoked"
                elif code == P.CLOSE_REPLACED:
                    self._fatal = "replaced by a newer connection of the same device"
            else:
                code = ws.close_code
                self.close_codes.append(code)
                if code in (P.CLOSE_AUTH, P.CLOSE_REPLACED):
                    self._fatal = P.CLOSE_CODES[code]
            self._ws = None
            self._open.clear()
            self._url_i = (self._url_i + 1) % len(self.urls)  # a cluster: try another gateway
            self.core.disconnected(time.monotonic())
            if not self.reconnect or self._closing or self._fatal:
                return
            await asyncio.sleep(self.reconnect_s)

    async def _flush(self) -> None:
        core = self.core
        frames = core.take_frames()
        ws = self._ws
        if frames and ws is not None:
            try:
                for f in frames:
                    await ws.send(P.encode(f))
            except Exception:
                pass  # the connection broke: the core resends after reconnecting
        for ev in core.take_events():
            kind = ev[0]
            if kind == "message":
                self.messages.append(ev[1])
            elif kind == "open":
                self._open.set()
            elif kind == "acked":
                fut = self._waiters.pop(ev[1], None)
                if fut is not None and not fut.done():
                    fut.set_result({"cid": ev[1], "conv": ev[2], "seq": ev[3]})
            elif kind == "failed":
                fut = self._waiters.pop(ev[1], None)
                if fut is not None and not fut.done():
                    fut.set_exception(RuntimeError(f"message {ev[1]} to {ev[2]} failed: {ev[3]}"))
            elif kind == "error":
                self.errors.append(ev[1:])
            self.events.append(ev)
        if self._new_message is not None:
            self._new_message.set()
        if self._changed is not None:
            self._changed.set()

    async def _timers(self) -> None:
        while not self._closing:
            d = self.core.next_deadline()
            wait = 1.0 if d is None else max(0.0, d - time.monotonic())
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(wait, 1.0))
                continue
            except asyncio.TimeoutError:
                pass
            if self._closing:
                return
            self.core.on_timer(time.monotonic())
            await self._flush()


class ServerProcess:
    """``python -m rtlib im-server`` as a child process on 127.0.0.1.

    >>> with ServerProcess("chat.sqlite") as srv:        # doctest: +SKIP
    ...     print(srv.url)
    ...     srv.kill()       # SIGKILL, like kill -9
    ...     srv.start()      # same port, same database
    """

    def __init__(self, db: str | Path, *, host: str = "127.0.0.1", port: int = 0, synchronous: str = "FULL",
                 log_path: str | Path | None = None, python: str = sys.executable, args=()):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"host must be a loopback address (127.0.0.1), got {host!r}")
        self.db = str(db)
        self.host, self.port = host, port
        self.synchronous = synchronous
        self.log_path = log_path
        self.python = python
        self.args = [str(a) for a in args]  # more im-server options, e.g. ["--send-burst", "1000"]
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._atexit = False

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self, timeout_s: float = 20.0) -> str:
        """Start (or restart, on the same port) and wait until it listens; returns the URL."""
        if self.running():
            raise RuntimeError("the server is already running")
        cmd = [self.python, "-m", "rtlib", "im-server", "--db", self.db, "--host", self.host,
               "--port", str(self.port), "--synchronous", self.synchronous, "--json", *self.args]
        err = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # stdin is a pipe only this process holds: if it dies (even by SIGKILL) the server
        # reads EOF and stops, so no server outlives the test or notebook that started it.
        self.proc = subprocess.Popen(cmd + ["--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=err, env=env)
        if err is not subprocess.DEVNULL:
            err.close()
        if not self._atexit:  # never leave a server behind when Python (or a notebook kernel) exits
            import atexit

            atexit.register(self.stop)
            self._atexit = True
        line = _readline(self.proc, timeout_s)
        if not line:
            self.kill()
            raise RuntimeError(f"im-server did not start within {timeout_s} s (see {self.log_path or 'its stderr'})")
        info = json.loads(line)
        self.port = int(info["port"])
        self.starts += 1
        return self.url

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-whatever, like ``kill -9``."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self._close_pipes()

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (a clean shutdown), then SIGKILL if it does not exit in time."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_pipes()

    def _close_pipes(self) -> None:
        if self.proc is not None:
            for pipe in (self.proc.stdout, self.proc.stdin):
                if pipe is not None:
                    pipe.close()

    def __enter__(self):
        if not self.running():
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def _readline(proc: subprocess.Popen, timeout_s: float) -> str:
    """The child's first stdout line, or "" if it exits or stays silent for ``timeout_s``."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout_s
    buf = b""
    try:
        while time.monotonic() < deadline:
            if not sel.select(timeout=min(0.5, max(0.0, deadline - time.monotonic()))):
                if proc.poll() is not None:  # it died before saying it listens
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if b"\n" in buf:
                return buf.split(b"\n", 1)[0].decode()
    finally:
        sel.close()
    return ""


def setup_db(db: str | Path, users=("alice", "bob"), conversations: dict | None = None) -> dict[str, str]:
    """Create users (each with a fresh token) and conversations in a server database.

    ``conversations`` maps a name to its members (default: one conversation ``"chat"``
    with every user).  Returns ``{user: token}``; tokens are stored hashed, so this is
    the only time they are seen.
    """
    from rtlib.im.pgstore import open_store

    conversations = {"chat": tuple(users)} if conversations is None else conversations
    now = time.time()
    tokens = {}
    with open_store(str(db)) as store:
        for u in users:
            store.create_user(u, now)
            tokens[u] = store.new_token(u, now)
        for conv, members in conversations.items():
            store.create_conversation(conv, members, kind="direct" if len(members) == 2 else "group", now=now)
    return tokens
